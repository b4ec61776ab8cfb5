"""The base classes every problem and every training point share; the estimators and the tuner use nothing else.

Shapes: θ is (..., P) and λ is (..., k), where leading axes (if any) index independent problems
solved side by side (the batched quadratic toy); a tangent Y = dθ/dλ is (..., P, k).

A *sample* is whatever a problem needs to evaluate its stochastic training objective once (for the
MLP: a minibatch and its noise; for deterministic problems: None). A *val sample* likewise for L_V.

A subclass defines ``n_params``, ``n_hypers``, ``hyper_names``, ``backend``, ``at``, ``val_loss``,
``val_grad`` (and ``sample``/``val_sample`` unless deterministic); every other method has a documented
default here, so callers never probe with ``hasattr``:

=====================  ==========================================================================
``antithetic(s)``      the sample's antithetic partner (the MLP's noise with ε → −ε), or None (default)
``val_depends_on_lam`` False; True where L_V depends on λ directly (kernel ridge's width γ): then
                       ``val_loss``/``val_grad`` use their ``lam=`` and ``val_grad_lam`` is not 0
``val_grad_lam``       ∇_λ L_V (default 0), added by the implicit hypergradient
``val_error``          the error rate on a val sample, or None (default: the problem has none)
``record_sample(rng)`` the val sample the tuner's history records evaluate (default ``val_sample``)
``check_hypers(lam)``  raise ValueError for an invalid λ (default: shape (..., n_hypers) and finite)
``hypers_dict(lam)``   λ as {name: float} (batched: {name: [float per problem]}), a host read
``zeros_theta()``      a θ₀ of zeros
=====================  ==========================================================================
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

from array_api_compat import array_namespace, device


@runtime_checkable
class TrainPointLike(Protocol):
    """L_T at one (θ, λ, sample), its plain sweep done once."""

    loss: Any  # L_T(θ, λ)
    grad: Any  # g_T = ∇_θ L_T, shape of θ

    def hvp(self, v): ...  # ∇²_θθ L_T · v, shape of θ

    def mixed(self, v): ...  # (∂g_T/∂λ)ᵀ v, shape of λ

    def mixed_jvp(self, u): ...  # (∂g_T/∂λ) u, shape of θ

    def jvp(self, v, u, out=None): ...  # H v + (∂g_T/∂λ) u, shape of θ (u an array or an int j for e_j;
    #                                      out: a θ-shaped buffer the result may be written into)


class Point:
    """Base of the training points: ``jvp`` from ``hvp`` and ``mixed_jvp`` (two passes; the MLP's own
    point does it in one R-sweep). A subclass sets ``self.lam`` (λ, for the shape of e_j)."""

    lam: Any

    def jvp(self, v, u, out=None):
        """H v + (∂g_T/∂λ) u; ``u`` an array of λ's shape or an int j for the unit vector e_j (``out``: a
        buffer a point may write into; this default returns a fresh array)."""
        if isinstance(u, int):
            xp = array_namespace(self.lam)
            eye = xp.eye(self.lam.shape[-1], dtype=self.lam.dtype, device=device(self.lam))
            u = xp.broadcast_to(eye[u, :], self.lam.shape)
        return self.hvp(v) + self.mixed_jvp(u)


class Problem:
    """Base of every problem: the protocol (module docstring) with its defaults, and the per-primitive
    methods ``train_loss``/``train_grad``/``train_hvp``/``train_mixed``/``train_mixed_jvp`` as views of ``at``."""

    n_params: int
    n_hypers: int
    hyper_names: tuple
    backend: Any
    val_depends_on_lam = False

    # --- what a subclass defines -------------------------------------------------------------------

    def sample(self, rng) -> Any:
        """A training sample (minibatch + noise), or None."""
        raise NotImplementedError

    def val_sample(self, rng=None) -> Any:
        """A validation sample, or None."""
        raise NotImplementedError

    def at(self, theta, lam, sample) -> TrainPointLike:
        raise NotImplementedError

    def val_loss(self, theta, val_sample=None, lam=None):
        raise NotImplementedError

    def val_grad(self, theta, val_sample=None, lam=None):
        raise NotImplementedError

    # --- defaults ------------------------------------------------------------------------------------

    def antithetic(self, sample):
        """The antithetic partner of ``sample`` (same law, odd part negated), or None: no partner."""
        return None

    def val_grad_lam(self, theta, lam, val_sample=None):
        """∇_λ L_V: 0 unless ``val_depends_on_lam``."""
        return array_namespace(lam).zeros_like(lam)

    def val_error(self, theta, val_sample):
        """The error rate on ``val_sample``, or None where the problem has none."""
        return None

    def record_sample(self, rng):
        """The validation sample a history record evaluates (default: ``val_sample(rng)``)."""
        return self.val_sample(rng)

    def record(self, theta, val_sample, lam=None):
        """(L_V, error rate or None) on ``val_sample`` for a history record (default: ``val_loss`` and
        ``val_error``; a problem may share one pass between them)."""
        return self.val_loss(theta, val_sample, lam=lam), self.val_error(theta, val_sample)

    def check_hypers(self, lam):
        """Raise ValueError unless λ has shape (..., n_hypers) and is finite (a host read)."""
        xp = array_namespace(lam)
        if lam.ndim < 1 or lam.shape[-1] != self.n_hypers:
            raise ValueError(f"lam must have shape (..., {self.n_hypers}) for the hyperparameters "
                             f"{list(self.hyper_names)}, got {tuple(lam.shape)}")
        if not bool(xp.all(xp.isfinite(lam))):
            raise ValueError(f"lam must be finite, got {self.hypers_dict(lam)}")

    def hypers_dict(self, lam) -> dict:
        """λ as {name: float}, or {name: [float, …]} over the leading axes of a batched λ (a host read)."""
        host = self.backend.to_numpy(lam)
        if host.ndim == 1:
            return {n: float(v) for n, v in zip(self.hyper_names, host)}
        return {n: host[..., j].tolist() for j, n in enumerate(self.hyper_names)}

    def zeros_theta(self):
        """θ = 0 of shape (n_params,) in the backend's default float, on its device."""
        return self.backend.xp.zeros((self.n_params,), device=self.backend.device)

    # --- the per-primitive views of ``at`` ------------------------------------------------------------

    def train_loss(self, theta, lam, sample=None):
        return self.at(theta, lam, sample).loss

    def train_grad(self, theta, lam, sample=None):
        return self.at(theta, lam, sample).grad

    def train_hvp(self, theta, lam, sample, v):
        return self.at(theta, lam, sample).hvp(v)

    def train_mixed(self, theta, lam, sample, v):
        return self.at(theta, lam, sample).mixed(v)

    def train_mixed_jvp(self, theta, lam, sample, u):
        return self.at(theta, lam, sample).mixed_jvp(u)


PointViews = Problem  # the old name of the per-primitive views


class Deterministic(Problem):
    """A full-batch, noise-free problem: its samples are None."""

    def sample(self, rng=None):
        return None

    def val_sample(self, rng=None):
        return None
