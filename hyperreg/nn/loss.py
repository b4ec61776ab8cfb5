"""Softmax cross-entropy, mean over the batch: the loss every network ends in."""

from __future__ import annotations


def softmax(xp, o):
    """p = softmax(o) row-wise, shifted by the row max for stability."""
    e = xp.exp(o - xp.max(o, axis=1, keepdims=True))
    return e / xp.sum(e, axis=1, keepdims=True)


def ce_forward(xp, o, Y):
    """L = −mean_i Σ_k Y_ik log softmax(o_i)_k;  Y one-hot (n, k). Returns L and p = softmax(o)."""
    m = xp.max(o, axis=1, keepdims=True)
    e = xp.exp(o - m)
    s = xp.sum(e, axis=1, keepdims=True)
    logp = o - m - xp.log(s)
    return -xp.sum(Y * logp) / o.shape[0], e / s


def ce_backward(p, Y):
    """g_o = (p − Y) / n."""
    return (p - Y) / p.shape[0]


def ce_rbackward(xp, p, Ro):
    """Rg_o = (p ⊙ Ro − p Σ_k p_k Ro_k) / n  (the softmax Jacobian applied to Ro)."""
    pRo = p * Ro
    return (pRo - p * xp.sum(pRo, axis=1, keepdims=True)) / p.shape[0]
