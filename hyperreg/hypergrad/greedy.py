"""Greedy one-step hypergradients (Luketina et al. 2016, eq. 3; ICLR-2018 §3.3).

    exact:        h = −η (∂g_T/∂λ)ᵀ ∇L_V(θ'),  θ' = θ − η g_T(θ, λ)   = d/dλ L_V(θ'(λ))
    fast:         the same with ∇L_V(θ) (computed beside g_T, no second validation sweep on θ')
    Unroll1-gTgV: h = −(∂g_T/∂λ)ᵀ ∇L_V(θ)  (no η)
"""

from __future__ import annotations


def greedy(problem, theta, lam, train_batch, noise, val_batch, lr, fast=False):
    """d/dλ L_V(θ − η g_T(θ, λ)) (exact) or its fast variant with v = ∇L_V(θ).

    Parameters
    ----------
    problem : object with ``at``, ``val_grad``
        An ``MLP`` (or any object exposing the primitives and ``at``).
    train_batch, val_batch : (X, y)
    noise : the training noise sample (list of ε, ``Noise``, or None)
    lr : float
        η of the elementary SGD step.

    Returns
    -------
    h : array, shape (n_hypers,)
    """
    X, y = train_batch
    Xv, yv = val_batch
    point = problem.at(theta, lam, X, y, noise)
    v = problem.val_grad(theta if fast else theta - lr * point.grad, Xv, yv)
    return -lr * point.mixed(v)


def unroll1_gtgv(problem, theta, lam, train_batch, noise, val_batch):
    """−(∂g_T/∂λ)ᵀ ∇L_V(θ): the first-order direction that maximizes ⟨g_T, g_V⟩ (no η)."""
    X, y = train_batch
    Xv, yv = val_batch
    return -problem.at(theta, lam, X, y, noise).mixed(problem.val_grad(theta, Xv, yv))


def greedy_step(problem, theta, lam, sample, val_sample, lr, fast=False):
    """−η (∂g_T/∂λ)ᵀ ∇L_V(θ'), θ' = θ − η g_T(θ, λ; sample): ``greedy`` over the problem protocol.

    ``fast``: ∇L_V(θ) instead of ∇L_V(θ'). Shapes: θ (..., P), λ and the result (..., k).
    """
    point = problem.at(theta, lam, sample)
    v = problem.val_grad(theta if fast else theta - lr * point.grad, val_sample)
    return -lr * point.mixed(v)


def unroll1_gtgv_step(problem, theta, lam, sample, val_sample):
    """−(∂g_T/∂λ)ᵀ ∇L_V(θ): ``unroll1_gtgv`` over the problem protocol, shape (..., k)."""
    return -problem.at(theta, lam, sample).mixed(problem.val_grad(theta, val_sample))
