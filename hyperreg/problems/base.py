"""The protocol every problem exposes; the hypergradient estimators and the tuner use nothing else.

Shapes: θ is (..., P) and λ is (..., k), where leading axes (if any) index independent problems
solved side by side (the batched quadratic toy); a tangent Y = dθ/dλ is (..., P, k).

Optional extensions, used where present:
- ``point.jvp(v, u)``: H v + (∂g_T/∂λ) u in one sweep (``u`` may be an int j for e_j); forward-mode
  tangents use it instead of one ``hvp`` and one ``mixed_jvp`` per column (the MLP has it).
- ``val_depends_on_lam``, ``val_loss(θ, vs, lam=)``, ``val_grad(θ, vs, lam=)``, ``val_grad_lam(θ, λ, vs)``:
  for problems whose validation loss depends on λ directly (kernel ridge's width γ); the implicit
  hypergradient adds ∇_λ L_V.
- ``antithetic(sample)``: the sample's antithetic partner (the MLP's noise with ε → −ε), or None; the
  greedy estimators average ∂g_T/∂λ over the pair (``hypergrad.greedy``).
- ``backend`` (or ``net.backend``): where the tuner and HOAG draw random numbers; ``zeros_theta()``: a θ₀.

A *sample* is whatever a problem needs to evaluate its stochastic training objective once (for the
MLP: a minibatch and its noise; for deterministic problems: None). A *val sample* likewise for L_V.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class TrainPointLike(Protocol):
    """L_T at one (θ, λ, sample), its plain sweep done once."""

    loss: Any  # L_T(θ, λ)
    grad: Any  # g_T = ∇_θ L_T, shape of θ

    def hvp(self, v): ...  # ∇²_θθ L_T · v, shape of θ

    def mixed(self, v): ...  # (∂g_T/∂λ)ᵀ v, shape of λ

    def mixed_jvp(self, u): ...  # (∂g_T/∂λ) u, shape of θ


@runtime_checkable
class Problem(Protocol):
    n_params: int
    n_hypers: int
    hyper_names: tuple

    def sample(self, rng) -> Any: ...  # a training sample (minibatch + noise), or None

    def val_sample(self, rng) -> Any: ...  # a validation sample, or None

    def at(self, theta, lam, sample) -> TrainPointLike: ...

    def train_grad(self, theta, lam, sample): ...

    def train_hvp(self, theta, lam, sample, v): ...

    def train_mixed(self, theta, lam, sample, v): ...

    def train_mixed_jvp(self, theta, lam, sample, u): ...

    def val_loss(self, theta, val_sample): ...

    def val_grad(self, theta, val_sample): ...


class PointViews:
    """The per-primitive protocol methods as views of ``at`` (one sweep each), for problems defining ``at``."""

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


class Deterministic(PointViews):
    """A full-batch, noise-free problem: its samples are None."""

    def sample(self, rng=None):
        return None

    def val_sample(self, rng=None):
        return None
