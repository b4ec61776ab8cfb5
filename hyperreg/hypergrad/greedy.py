"""Greedy one-step hypergradients (Luketina et al. 2016, eq. 3; ICLR-2018 §3.3), written once (``one_step``).

    exact:        h = −η (∂g_T/∂λ)ᵀ ∇L_V(θ'),  θ' = θ − η g_T(θ, λ)   = d/dλ L_V(θ'(λ))
    fast:         the same with ∇L_V(θ) (computed beside g_T, no second validation sweep on θ')
    Unroll1-gTgV: h = −(∂g_T/∂λ)ᵀ ∇L_V(θ)  (no η: the fast variant at η = 1)

Antithetic noise pairs (``antithetic=True``, the default everywhere: in these functions, in ``Greedy`` and
``Unroll1GTGV``, in the tuner). Near σ = 0 a single noise sample's ∂g_T/∂σ is A ε + O(σ): zero mean but
O(1) spread, while its mean is O(σ) (E_ε g_T is even in σ: σ = 0 is stationary). In φ = log σ the signal
is O(σ²) under O(σ) noise, so a small σ cannot climb. The pair (ε, −ε) has the same law, and averaging
over it cancels the odd part A ε:

    h = −η · ½ [(∂g_T/∂λ)(ε) + (∂g_T/∂λ)(−ε)]ᵀ ∇L_V(θ')

keeps the mean and leaves O(σ) spread: the signal-to-noise ratio no longer vanishes with σ. ∇L_V is taken
at the step actually made (from ε), so the mean differs from the single sample's only by the O(η²) term
through which ε moves θ'. It applies only where the sample has a partner (``problem.antithetic(sample)``
is not None: an MLP with additive noise); elsewhere it is the single-sample estimate, at no cost. The L2
rows are unchanged (∂g_T/∂λ_l = W_l does not see ε); dropout's U is shared by the pair. Cost: one more
sweep (forward, backward and the mixed R-sweep) at −ε. ``antithetic=False`` is the papers' estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

from .estimator import Estimator


def mixed_pair(problem, point, theta, lam, sample, v, antithetic=True):
    """(∂g_T/∂λ)ᵀ v at ``sample`` (``point`` = ``problem.at(θ, λ, sample)``), or its mean over the sample
    and its antithetic partner when ``antithetic`` and the problem has one (``problem.antithetic``)."""
    partner = problem.antithetic(sample) if antithetic else None
    if partner is None:
        return point.mixed(v)
    return 0.5 * (point.mixed(v) + problem.at(theta, lam, partner).mixed(v))


def one_step(problem, point, theta, theta_next, lam, sample, val_sample, lr, fast=False, antithetic=True):
    """h = −η (∂g_T/∂λ)ᵀ ∇L_V(θ_V), θ_V = θ (``fast``) or θ_next: the one formula behind every function here.

    ``point`` is L_T at (θ, λ, sample); ``theta_next`` the step made from it. Shapes: θ (..., P), h (..., k).
    """
    v = problem.val_grad(theta if fast else theta_next, val_sample, lam=lam)
    return -lr * mixed_pair(problem, point, theta, lam, sample, v, antithetic)


def greedy_step(problem, theta, lam, sample, val_sample, lr, fast=False, antithetic=True):
    """−η (∂g_T/∂λ)ᵀ ∇L_V(θ'), θ' = θ − η g_T(θ, λ; sample), over the problem protocol (``one_step``).

    ``fast``: ∇L_V(θ) instead of ∇L_V(θ'). ``antithetic``: ∂g_T/∂λ averaged over the sample's antithetic
    pair (``mixed_pair``). Shapes: θ (..., P), λ and the result (..., k).
    """
    point = problem.at(theta, lam, sample)
    return one_step(problem, point, theta, theta - lr * point.grad, lam, sample, val_sample, lr, fast, antithetic)


def unroll1_gtgv_step(problem, theta, lam, sample, val_sample, antithetic=True):
    """−(∂g_T/∂λ)ᵀ ∇L_V(θ): ``greedy_step`` with ``fast`` at η = 1, shape (..., k)."""
    point = problem.at(theta, lam, sample)
    return one_step(problem, point, theta, None, lam, sample, val_sample, 1.0, True, antithetic)


class _NetProblem:
    """An ``MLP`` seen through the problem protocol: a sample is (X, y, noise), a val sample (X, y)."""

    def __init__(self, net):
        self.net = net

    def at(self, theta, lam, sample):
        return self.net.at(theta, lam, *sample)

    def val_grad(self, theta, val_sample, lam=None):
        return self.net.val_grad(theta, *val_sample)

    def antithetic(self, sample):
        X, y, noise = sample
        return None if noise is None else (X, y, self.net.antithetic_noise(noise))


def greedy(net, theta, lam, train_batch, noise, val_batch, lr, fast=False, antithetic=True):
    """d/dλ L_V(θ − η g_T(θ, λ)) (exact) or its fast variant with v = ∇L_V(θ), on an ``MLP`` directly.

    Parameters
    ----------
    net : MLP
        (or any object with ``at(θ, λ, X, y, noise)``, ``val_grad(θ, X, y)``, ``antithetic_noise``).
    train_batch, val_batch : (X, y)
    noise : the training noise sample (list of ε, ``Noise``, or None)
    lr : float
        η of the elementary SGD step.
    antithetic : bool
        Average ∂g_T/∂λ over ``noise`` and its antithetic partner (module docstring; default True,
        a no-op without additive noise).

    Returns
    -------
    h : array, shape (n_hypers,)
    """
    return greedy_step(_NetProblem(net), theta, lam, (*train_batch, noise), val_batch, lr, fast, antithetic)


def unroll1_gtgv(net, theta, lam, train_batch, noise, val_batch, antithetic=True):
    """−(∂g_T/∂λ)ᵀ ∇L_V(θ): the first-order direction that maximizes ⟨g_T, g_V⟩ (no η), on an ``MLP``."""
    return unroll1_gtgv_step(_NetProblem(net), theta, lam, (*train_batch, noise), val_batch, antithetic)


@dataclass(frozen=True)
class Greedy(Estimator):
    """T1–T2 (Luketina et al. 2016, eq. 3): the exact derivative of L_V after the step the optimizer made,
    h = −η_t (∂g_T/∂λ)ᵀ ∇L_V(θ_{t+1}) (``fast``: ∇L_V(θ_t)). ``antithetic`` as in the module docstring."""

    fast: bool = False
    antithetic: bool = True

    def hypergradient(self, state, s):
        return one_step(s.problem, s.point, s.theta, s.theta_next, s.lam, s.sample, s.val_sample, s.lr,
                        self.fast, self.antithetic), state


@dataclass(frozen=True)
class Unroll1GTGV(Estimator):
    """ICLR-2018 §3.3 method (a): maximize ⟨g_T, g_V⟩, h = −(∂g_T/∂λ)ᵀ ∇L_V(θ_t) — greedy without η.
    ``antithetic`` as for ``Greedy``."""

    antithetic: bool = True

    def hypergradient(self, state, s):
        return one_step(s.problem, s.point, s.theta, None, s.lam, s.sample, s.val_sample, 1.0, True,
                        self.antithetic), state


__all__ = ["Greedy", "Unroll1GTGV", "greedy", "greedy_step", "mixed_pair", "one_step", "unroll1_gtgv",
           "unroll1_gtgv_step"]
