"""HOAG (Pedregosa 2016, Algorithm 1): λ by implicit hypergradients with inexact inner and linear solves.

    θ_k with ‖g_T(θ_k, λ_k)‖_∞ ≤ ε_k ‖g_T(θ₀, λ₀)‖_∞       (L-BFGS-B, warm-started)
    h_k = ift_hypergradient(θ_k, λ_k) with CG to tolerance ε_k
    log λ_{k+1} = P(log λ_k − (λ_k ⊙ h_k) / L_k)            (P: the box ``bounds``; L_k adapted)

with Σ ε_k < ∞ (quadratic 0.1/k², cubic, exponential). Rejected steps (L_V rose by ``reject_ratio``)
revert λ, grow L and halve ε.
"""

from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Any

from array_api_compat import array_namespace

from .._checks import ConvergenceWarning, DivergenceError
from .ift import SOLVERS, ift_hypergradient
from .linalg import norm

SCHEDULES = {
    "quadratic": lambda k: 1.0 / k**2,
    "cubic": lambda k: 1.0 / k**3,
    "exponential": lambda k: 0.9 ** (k - 1),
}


@dataclass(frozen=True)
class HOAG:
    """HOAG's settings (Pedregosa 2016, Algorithm 1); ``run`` is the loop (``hoag``).

    Attributes
    ----------
    max_iter : int            outer iterations
    tol_schedule : str        ε_k = max(tol_start · s(k), tol_floor), s(k): 1/k², 1/k³ or 0.9^(k−1);
                              relative, as in the reference: ‖g_T‖_∞ ≤ ε_k ‖g_T(θ₀, λ₀)‖_∞ and the CG residual
                              ≤ ε_k ‖∇_θ L_V‖ (so the schedule does not depend on the loss's scale)
    tol_start, tol_floor      ε₁ and the floor of ε_k
    bounds : (float, float)   the box for log λ (natural log), the projection P
    solver : str              "cg" or "neumann" for H q = ∇_θ L_V
    damping : float           δ in (H + δI)
    inner_maxiter, linear_maxiter : int
    decrease : float          C: L ← shrink·L when L_V fell by C·(L/2)‖Δ log λ‖² beyond the ε allowance
    shrink, grow : float      L's factors on sufficient decrease / on a rise
    reject_ratio : float      L_V ≥ reject_ratio × previous: revert λ, L ← grow·L, ε ← ε/2
    xtol : float              stop when an accepted step moves log λ by less than this
    """

    max_iter: int = 50
    tol_schedule: str = "quadratic"
    tol_start: float = 1e-3
    tol_floor: float = 1e-12
    bounds: tuple = (-6.0, 6.0)
    solver: str = "cg"
    damping: float = 0.0
    inner_maxiter: int = 10_000
    linear_maxiter: int = 1_000
    decrease: float = 0.25
    shrink: float = 0.95
    grow: float = 2.0
    reject_ratio: float = 1.2
    xtol: float = 1e-5

    def __post_init__(self):
        if self.tol_schedule not in SCHEDULES:
            raise ValueError(f"HOAG.tol_schedule must be one of {sorted(SCHEDULES)}, got {self.tol_schedule!r}")
        if self.solver not in SOLVERS:
            raise ValueError(f"HOAG.solver must be one of {SOLVERS}, got {self.solver!r}")
        if isinstance(self.max_iter, bool) or not isinstance(self.max_iter, int) or self.max_iter < 1:
            raise ValueError(f"HOAG.max_iter must be a positive integer (outer iterations), got {self.max_iter!r}")
        if not 0 < self.tol_floor <= self.tol_start:
            raise ValueError(f"HOAG needs 0 < tol_floor ≤ tol_start, got {self.tol_floor!r}, {self.tol_start!r}")
        lo, hi = self.bounds
        if not lo < hi:
            raise ValueError(f"HOAG.bounds must be (low, high) on log λ with low < high, got {self.bounds!r}")
        if not (0 < self.shrink <= 1 < self.grow and self.reject_ratio > 1 and self.damping >= 0):
            raise ValueError("HOAG needs 0 < shrink ≤ 1 < grow, reject_ratio > 1 and damping ≥ 0")

    def tol(self, k, scale=1.0):
        """ε_k (k ≥ 1), times ``scale`` (halved on each rejection), floored."""
        return max(self.tol_start * scale * SCHEDULES[self.tol_schedule](k), self.tol_floor)

    def run(self, problem, lam0, theta0=None, sample=None, val_sample=None, callback=None) -> "HOAGResult":
        return hoag(problem, lam0, self, theta0, sample, val_sample, callback)


@dataclass
class HOAGResult:
    """The last accepted point and the run's history (one dict per outer iteration)."""

    theta: Any
    lam: Any
    val_loss: float
    history: list = field(default_factory=list)
    outer_iterations: int = 0
    inner_iterations: int = 0
    linear_iterations: int = 0
    seconds: float = 0.0


def inner_solve(problem, theta, lam, sample, tol, maxiter):
    """θ with ‖g_T(θ, λ)‖_∞ ≤ tol by SciPy's L-BFGS-B warm-started at ``theta`` (host round trip per call)."""
    from scipy.optimize import minimize

    be = problem.backend
    dtype = str(theta.dtype).rsplit(".", 1)[-1]

    def fun(x):
        point = problem.at(be.asarray(x, dtype=dtype), lam, sample)
        return float(point.loss), be.to_numpy(point.grad)

    res = minimize(fun, be.to_numpy(theta), jac=True, method="L-BFGS-B",
                   options={"gtol": tol, "ftol": 0.0, "maxiter": maxiter, "maxcor": 10})
    if res.status == 1:  # iteration limit; a line-search stop at a tight tol is expected and silent
        warnings.warn(f"inner L-BFGS hit inner_maxiter={maxiter} with ‖g_T‖_∞ = {abs(res.jac).max():.2e} > "
                      f"tol {tol:.1e}", ConvergenceWarning, stacklevel=3)
    return be.asarray(res.x, dtype=dtype), int(res.nit)


def adapt_L(settings: HOAG, L, val, tol, prev):
    """L after an accepted step of length ‖Δ‖ = prev["step"]: shrink on sufficient decrease

        L_V − ε_k ≤ L_V,prev + ε_{k−1}(1 + ‖Δ‖) − C (L/2) ‖Δ‖²

    (the ε terms allow for the inexact θ and q), grow when L_V rose, else keep."""
    step = prev["step"]
    if val - tol <= prev["val_loss"] + prev["tol"] * (1.0 + step) - settings.decrease * (L / 2.0) * step * step:
        return L * settings.shrink
    return L * settings.grow if val > prev["val_loss"] else L


def log_step(settings: HOAG, lam, p, L):
    """λ' = exp(P(log λ − p/L)), P the projection on ``bounds``; returns (λ', ‖Δ log λ‖)."""
    xp = array_namespace(lam)
    s = xp.log(lam)
    s_new = xp.clip(s - p / L, min=settings.bounds[0], max=settings.bounds[1])
    return xp.exp(s_new), float(norm(s_new - s))


def hoag(problem, lam0, settings: HOAG = HOAG(), theta0=None, sample=None, val_sample=None, callback=None):
    """HOAG's outer loop (Pedregosa 2016, Algorithm 1), λ in log space. Returns a ``HOAGResult``."""
    be, xp = problem.backend, array_namespace(lam0)
    lam = xp.clip(lam0, min=math.exp(settings.bounds[0]), max=math.exp(settings.bounds[1]))
    theta = problem.zeros_theta() if theta0 is None else theta0
    q, L, scale, prev, t0 = None, None, 1.0, None, time.perf_counter()
    g0 = float(xp.max(xp.abs(problem.at(theta, lam, sample).grad)))  # host read: the inner tolerance's unit
    out = HOAGResult(theta, lam, math.inf)
    for k in range(1, settings.max_iter + 1):
        tol = settings.tol(k, scale)
        theta, nit = inner_solve(problem, theta, lam, sample, tol * g0, settings.inner_maxiter)
        val = float(problem.val_loss(theta, val_sample, lam=lam))  # host read: one per outer iteration
        out.inner_iterations += nit
        entry = {"iteration": k, "lam": [float(v) for v in be.to_numpy(lam)], "val_loss": val, "tol": tol,
                 "inner_iterations": nit, "cg_iterations": 0, "L": L, "accepted": True}
        if prev is not None and not val < settings.reject_ratio * prev["val_loss"]:
            # rejected: back to the previous λ (and θ, q), smaller step, tighter tolerances
            L, scale = L * settings.grow, scale * 0.5
            theta, q = prev["theta"], prev["q"]
            lam, prev["step"] = log_step(settings, prev["lam"], prev["p"], L)
            entry.update(accepted=False, L=L, seconds=time.perf_counter() - t0)
            out.history.append(entry)
            continue
        if not math.isfinite(val):
            raise DivergenceError(f"HOAG: validation loss {val} at iteration {k}", step=k, lam=entry["lam"],
                                  history=out.history)
        res = ift_hypergradient(problem, theta, lam, sample, val_sample, settings.solver, tol,
                                settings.linear_maxiter, settings.damping, q)
        q, p = res.q, res.h * lam  # dL_V/d log λ = λ ⊙ dL_V/dλ
        out.linear_iterations += res.iterations
        if L is None:
            L = max(float(norm(p)) / math.sqrt(p.shape[0]), 1e-12)  # L₀ = ‖p₀‖/√n
        elif prev is not None:
            L = adapt_L(settings, L, val, tol, prev)
        out.theta, out.lam, out.val_loss, out.outer_iterations = theta, lam, val, k
        new_lam, step = log_step(settings, lam, p, L)
        prev = {"lam": lam, "theta": theta, "q": q, "p": p, "val_loss": val, "tol": tol, "step": step}
        entry.update(cg_iterations=res.iterations, L=L, step=step, seconds=time.perf_counter() - t0)
        out.history.append(entry)
        if callback is not None:
            callback(entry)
        lam = new_lam
        if step <= settings.xtol:
            break
    out.seconds = time.perf_counter() - t0
    return out


__all__ = ["HOAG", "HOAGResult", "SCHEDULES", "adapt_L", "hoag", "inner_solve", "log_step"]
