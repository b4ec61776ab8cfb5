"""Greedy one-step hypergradients (Luketina et al. 2016, eq. 3; ICLR-2018 §3.3).

    exact:        h = −η (∂g_T/∂λ)ᵀ ∇L_V(θ'),  θ' = θ − η g_T(θ, λ)   = d/dλ L_V(θ'(λ))
    fast:         the same with ∇L_V(θ) (computed beside g_T, no second validation sweep on θ')
    Unroll1-gTgV: h = −(∂g_T/∂λ)ᵀ ∇L_V(θ)  (no η)

Antithetic noise pairs (``antithetic=True``). Near σ = 0 a single noise sample's ∂g_T/∂σ is A ε + O(σ):
zero mean but O(1) spread, while its mean is O(σ) (E_ε g_T is even in σ: σ = 0 is stationary). In
φ = log σ the signal is O(σ²) under O(σ) noise, so a small σ cannot climb. The pair (ε, −ε) has the
same law, and averaging over it cancels the odd part A ε:

    h = −η · ½ [(∂g_T/∂λ)(ε) + (∂g_T/∂λ)(−ε)]ᵀ ∇L_V(θ')

keeps the mean and leaves O(σ) spread: the signal-to-noise ratio no longer vanishes with σ. ∇L_V is taken
at the step actually made (from ε), so the mean differs from the single sample's only by the O(η²) term
through which ε moves θ'. The L2 rows are unchanged (∂g_T/∂λ_l = W_l does not see ε); dropout's U is
shared by the pair. Cost: one more sweep (forward, backward and the mixed R-sweep) at −ε.
"""

from __future__ import annotations


def mixed_pair(problem, point, theta, lam, sample, v, antithetic=True):
    """(∂g_T/∂λ)ᵀ v at ``sample`` (``point`` = ``problem.at(θ, λ, sample)``), or its mean over the sample
    and its antithetic partner when ``antithetic`` and the problem has one (``problem.antithetic``)."""
    partner = problem.antithetic(sample) if antithetic and hasattr(problem, "antithetic") else None
    if partner is None:
        return point.mixed(v)
    return 0.5 * (point.mixed(v) + problem.at(theta, lam, partner).mixed(v))


def greedy(problem, theta, lam, train_batch, noise, val_batch, lr, fast=False, antithetic=False):
    """d/dλ L_V(θ − η g_T(θ, λ)) (exact) or its fast variant with v = ∇L_V(θ).

    Parameters
    ----------
    problem : object with ``at``, ``val_grad``
        An ``MLP`` (or any object exposing the primitives and ``at``).
    train_batch, val_batch : (X, y)
    noise : the training noise sample (list of ε, ``Noise``, or None)
    lr : float
        η of the elementary SGD step.
    antithetic : bool
        Average ∂g_T/∂λ over ``noise`` and its antithetic partner (module docstring).

    Returns
    -------
    h : array, shape (n_hypers,)
    """
    X, y = train_batch
    Xv, yv = val_batch
    point = problem.at(theta, lam, X, y, noise)
    v = problem.val_grad(theta if fast else theta - lr * point.grad, Xv, yv)
    partner = problem.antithetic_noise(noise) if antithetic and noise is not None else None
    if partner is None:
        return -lr * point.mixed(v)
    return -lr * 0.5 * (point.mixed(v) + problem.at(theta, lam, X, y, partner).mixed(v))


def unroll1_gtgv(problem, theta, lam, train_batch, noise, val_batch):
    """−(∂g_T/∂λ)ᵀ ∇L_V(θ): the first-order direction that maximizes ⟨g_T, g_V⟩ (no η)."""
    X, y = train_batch
    Xv, yv = val_batch
    return -problem.at(theta, lam, X, y, noise).mixed(problem.val_grad(theta, Xv, yv))


def greedy_step(problem, theta, lam, sample, val_sample, lr, fast=False, antithetic=False):
    """−η (∂g_T/∂λ)ᵀ ∇L_V(θ'), θ' = θ − η g_T(θ, λ; sample): ``greedy`` over the problem protocol.

    ``fast``: ∇L_V(θ) instead of ∇L_V(θ'). ``antithetic``: ∂g_T/∂λ averaged over the sample's antithetic
    pair (``mixed_pair``). Shapes: θ (..., P), λ and the result (..., k).
    """
    point = problem.at(theta, lam, sample)
    v = problem.val_grad(theta if fast else theta - lr * point.grad, val_sample)
    return -lr * mixed_pair(problem, point, theta, lam, sample, v, antithetic)


def unroll1_gtgv_step(problem, theta, lam, sample, val_sample, antithetic=False):
    """−(∂g_T/∂λ)ᵀ ∇L_V(θ): ``unroll1_gtgv`` over the problem protocol, shape (..., k)."""
    point = problem.at(theta, lam, sample)
    return -mixed_pair(problem, point, theta, lam, sample, problem.val_grad(theta, val_sample), antithetic)
