"""``Quadratic``: the toy of ICLR-2018 §4.1, with its analytic optimum, batched over independent toys.

    L_T(θ, λ) = ½(θ − θ̄)ᵀH(θ − θ̄) + ½λ θᵀHθ        L_V(θ) = ½(θ − θ̂)ᵀH(θ − θ̂),   H = diag(h)
    g_T = H(θ − θ̄) + λHθ      ∇²_θθ L_T = (1 + λ)H      ∂g_T/∂λ = Hθ      g_V = H(θ − θ̂)
    θ*(λ) = θ̄ / (1 + λ)       dθ*/dλ = −θ̄ / (1 + λ)²     λ* = θ̄ᵀH(θ̄ − θ̂) / θ̂ᵀHθ̄

Shapes: with h, θ̄, θ̂ of shape (d,), θ is (d,) and λ (1,); with (B, d), B toys side by side:
θ is (B, d), λ (B, 1), a tangent (B, d, 1). The toy is deterministic: samples are None.
"""

from __future__ import annotations

import math

from array_api_compat import array_namespace

from .. import _checks as chk
from ..backends import get_backend
from .base import Deterministic, Point


class QuadraticPoint(Point):
    """L_T at one (θ, λ); every primitive is closed-form (shapes as in the module docstring)."""

    def __init__(self, problem: "Quadratic", theta, lam):
        self.h, self.theta_bar, self.theta, self.lam = problem.h, problem.theta_bar, theta, lam
        self.grad = self.h * (theta - self.theta_bar) + lam * (self.h * theta)

    @property
    def loss(self):
        """L_T = ½(θ − θ̄)ᵀH(θ − θ̄) + ½λθᵀHθ, shape (...) (computed on demand: the loop needs only g_T)."""
        xp = array_namespace(self.theta)
        r = self.theta - self.theta_bar
        return 0.5 * xp.sum(self.h * (r * r + self.lam * self.theta * self.theta), axis=-1)

    def hvp(self, v):
        """∇²_θθ L_T v = (1 + λ) H v."""
        return (1.0 + self.lam) * (self.h * v)

    def mixed(self, v):
        """(∂g_T/∂λ)ᵀ v = θᵀH v, shape (..., 1)."""
        xp = array_namespace(v)
        return xp.sum(self.h * self.theta * v, axis=-1, keepdims=True)

    def mixed_jvp(self, u):
        """(∂g_T/∂λ) u = Hθ u, shape (..., d)."""
        return (self.h * self.theta) * u

    def jvp(self, v, u, out=None):
        """H v + (∂g_T/∂λ) u = (1 + λ)Hv + Hθ u; ``u`` = 0 (an int: e_0, λ has one entry) adds Hθ itself
        (a fresh array: ``out`` is not used)."""
        return self.hvp(v) + (self.h * self.theta if isinstance(u, int) else self.mixed_jvp(u))


class Quadratic(Deterministic):
    """The §4.1 quadratic toy, one or B at once (see the module docstring for the equations).

    Parameters
    ----------
    h : array (d,) or (B, d)
        The diagonal of H; every entry > 0 (H positive definite, so L_T is strongly convex for λ > −1).
    theta_bar, theta_hat : arrays, same shape as ``h``
        θ̄, the training target, and θ̂, the validation target.
    backend : str or Backend
    dtype : {"float64", "float32"}

    Notes
    -----
    λ* is the minimizer of L_V(θ*(λ)) over λ > −1 when θ̂ᵀHθ̄ > 0; ``sample_problems`` draws toys
    that satisfy this by construction.
    """

    n_hypers = 1
    hyper_names = ("lam",)

    def __init__(self, h, theta_bar, theta_hat, backend="numpy", dtype="float64"):
        self.backend = be = get_backend(backend)
        arrays = {}
        for name, x in (("h", h), ("theta_bar", theta_bar), ("theta_hat", theta_hat)):
            a = be.asarray(x, dtype=dtype)
            if a.ndim not in (1, 2) or a.shape[-1] == 0 or (a.ndim == 2 and a.shape[0] == 0):
                raise ValueError(f"{name} must have shape (d,) or (B, d) with d, B ≥ 1, got {tuple(a.shape)}")
            chk.check_finite(a, name)
            arrays[name] = a
        for name in ("theta_bar", "theta_hat"):
            if arrays[name].shape != arrays["h"].shape:
                raise ValueError(f"{name} must have the shape of h {tuple(arrays['h'].shape)}, "
                                 f"got {tuple(arrays[name].shape)}")
        if not bool(be.xp.all(arrays["h"] > 0)):  # host read: validation is a sync
            raise ValueError("h (the diagonal of H) must be > 0 everywhere, so that L_T is strongly convex; "
                             f"got min(h) = {float(be.xp.min(arrays['h']))}")
        self.h, self.theta_bar, self.theta_hat = arrays["h"], arrays["theta_bar"], arrays["theta_hat"]
        self.batch_shape = tuple(self.h.shape[:-1])
        self.n_params = self.h.shape[-1]

    def __repr__(self):
        return f"Quadratic(batch_shape={self.batch_shape}, d={self.n_params}, backend={self.backend.name!r})"

    # --- the analytic optimum ---------------------------------------------------------------------

    def theta_star(self, lam):
        """θ*(λ) = θ̄ / (1 + λ), shape (..., d)."""
        return self.theta_bar / (1.0 + lam)

    def dtheta_star(self, lam):
        """dθ*/dλ = −θ̄ / (1 + λ)², as a tangent of shape (..., d, 1)."""
        return (-self.theta_bar / (1.0 + lam) ** 2)[..., None]

    @property
    def lam_star(self):
        """λ* = θ̄ᵀH(θ̄ − θ̂) / θ̂ᵀHθ̄, shape (..., 1)."""
        xp = self.backend.xp
        num = xp.sum(self.h * self.theta_bar * (self.theta_bar - self.theta_hat), axis=-1, keepdims=True)
        return num / xp.sum(self.h * self.theta_hat * self.theta_bar, axis=-1, keepdims=True)

    def zeros_theta(self):
        """θ = 0 of shape (..., d) (the paper's θ₀)."""
        return self.backend.xp.zeros_like(self.h)

    def full_lam(self, value):
        """λ filled with ``value``, shape (..., 1)."""
        xp = self.backend.xp
        return xp.zeros_like(self.h[..., :1]) + value

    # --- the protocol (problems/base.py) -----------------------------------------------------------

    def at(self, theta, lam, sample=None) -> QuadraticPoint:
        return QuadraticPoint(self, theta, lam)

    def val_loss(self, theta, val_sample=None, lam=None):
        """L_V(θ) = ½(θ − θ̂)ᵀH(θ − θ̂), shape batch_shape."""
        xp = array_namespace(theta)
        r = theta - self.theta_hat
        return 0.5 * xp.sum(self.h * r * r, axis=-1)

    def val_grad(self, theta, val_sample=None, lam=None):
        """g_V = H(θ − θ̂)."""
        return self.h * (theta - self.theta_hat)

    # --- sampling the §4.1 family ------------------------------------------------------------------

    @classmethod
    def sample_problems(cls, n, d, rng_seed=0, lam_range=(0.2, 0.4), h_range=(0.5, 200.0),
                        tangent_norm=(3.0, 5.0), val_noise=1.0, backend="numpy", dtype="float64"):
        """n toys of dimension d with λ* drawn uniformly in ``lam_range``, batched as (n, d).

        The procedure (the paper only says λ* ∈ [0.2, 0.4] and ‖dθ*/dλ‖ ∈ [3, 5] at λ*):

        1. h_i log-uniform in ``h_range``: with the default [0.5, 200] and η = 1e-3 the slowest mode
           converges in 20 000 steps (η h_min t = 10), the fastest is stable (η h_max = 0.2) and spans
           UnrollK's windows (η h_max K = 2 at K = 10); greedy is biased because H ≠ cI (§3.3);
        2. λ* ~ U(lam_range);
        3. θ̄ = ρ · z/‖z‖ with z ~ N(0, I) and ρ chosen so that ‖dθ*/dλ(λ*)‖ = ρ/(1 + λ*)² is
           uniform in ``tangent_norm``;
        4. θ̂ = θ*(λ*) + ζ with ζ ~ N(0, val_noise² I) made H-orthogonal to θ̄
           (ζ ← ζ − (ζᵀHθ̄ / θ̄ᵀHθ̄) θ̄). Then θ̂ᵀHθ̄ = θ̄ᵀHθ̄/(1 + λ*), which is exactly
           λ* = θ̄ᵀH(θ̄ − θ̂)/θ̂ᵀHθ̄; and L_V(θ*(λ*)) = ½ζᵀHζ > 0.

        The draws come from the backend's generator seeded with ``rng_seed`` (so they differ
        between backends for the same seed).
        """
        n, d = chk.check_positive_int(n, "n"), chk.check_positive_int(d, "d")
        lo, hi = (chk.check_scalar(v, f"lam_range[{i}]", low=-1, low_open=True) for i, v in enumerate(lam_range))
        h_lo, h_hi = (chk.check_scalar(v, f"h_range[{i}]", low=0, low_open=True) for i, v in enumerate(h_range))
        t_lo, t_hi = (chk.check_scalar(v, f"tangent_norm[{i}]", low=0, low_open=True)
                      for i, v in enumerate(tangent_norm))
        val_noise = chk.check_scalar(val_noise, "val_noise", low=0, low_open=True)
        for name, a, b in (("lam_range", lo, hi), ("h_range", h_lo, h_hi), ("tangent_norm", t_lo, t_hi)):
            if a > b:
                raise ValueError(f"{name} must be (low, high) with low ≤ high, got ({a}, {b})")
        be = get_backend(backend)
        xp, rng = be.xp, be.rng(rng_seed)
        h = xp.exp(math.log(h_lo) + rng.uniform((n, d), dtype) * math.log(h_hi / h_lo))
        lam_star = lo + (hi - lo) * rng.uniform((n, 1), dtype)
        z = rng.normal((n, d), dtype)
        rho = (t_lo + (t_hi - t_lo) * rng.uniform((n, 1), dtype)) * (1.0 + lam_star) ** 2
        theta_bar = rho * z / xp.sqrt(xp.sum(z * z, axis=-1, keepdims=True))
        zeta = val_noise * rng.normal((n, d), dtype)
        Hbar = h * theta_bar
        zeta = zeta - xp.sum(zeta * Hbar, axis=-1, keepdims=True) / xp.sum(theta_bar * Hbar, axis=-1,
                                                                           keepdims=True) * theta_bar
        return cls(h, theta_bar, theta_bar / (1.0 + lam_star) + zeta, backend=be, dtype=dtype)
