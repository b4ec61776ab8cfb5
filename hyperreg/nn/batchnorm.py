"""Batch norm over the batch (training statistics), four passes side by side.

    â = (a − μ)/√(var + eps),  y = γ â + β   (the statistics over the batch axis)
"""

from __future__ import annotations

from ._rvalues import Layer, _mul, _sum

BN_EPS = 1e-5  # added to the batch variance before the square root


def bn_forward(xp, a, gamma, beta):
    """y = γ â + β with â = (a − μ) s, s = (var + eps)^(−½); returns y and the cache (c, s, â)."""
    c = a - xp.mean(a, axis=0)
    s = 1.0 / xp.sqrt(xp.mean(c * c, axis=0) + BN_EPS)
    ahat = c * s
    return gamma * ahat + beta, (c, s, ahat)


def bn_eval(xp, a, gamma, beta, mean, var):
    """y = γ (a − μ_run)/√(var_run + eps) + β: evaluation with running statistics (no batch coupling)."""
    return gamma * (a - mean) / xp.sqrt(var + BN_EPS) + beta


def _bn_project(xp, g, ahat, s):
    """s (g − mean g − â mean(g â)): the batch-norm Jacobian applied to g (the backward core)."""
    return s * (g - xp.mean(g, axis=0) - ahat * xp.mean(g * ahat, axis=0))


def bn_backward(xp, cache, gamma, g_y):
    """g_γ = Σ g_y â,  g_β = Σ g_y,  g_a = s (g_â − mean g_â − â mean(g_â â)) with g_â = γ g_y."""
    c, s, ahat = cache
    g_ahat = gamma * g_y
    return xp.sum(g_y * ahat, axis=0), xp.sum(g_y, axis=0), _bn_project(xp, g_ahat, ahat, s)


def bn_rforward(xp, cache, gamma, Ra, Rgamma, Rbeta):
    """Rc = Ra − mean Ra,  Rs = −s³ mean(c Rc),  Râ = Rc s + c Rs,  Ry = Rγ â + γ Râ + Rβ."""
    c, s, ahat = cache
    if Ra is None:
        Rahat = Rs = None
    else:
        Rc = Ra - xp.mean(Ra, axis=0)
        Rs = -(s * s * s) * xp.mean(c * Rc, axis=0)  # R{var} = 2 mean(c Rc), R{s} = −½ s³ R{var}
        Rahat = Rc * s + c * Rs
    return _sum(_mul(Rgamma, ahat), _mul(gamma, Rahat), Rbeta), (Rs, Rahat)


def bn_rbackward(xp, cache, gamma, g_y, Rcache, Rgamma, Rg_y):
    """R of bn_backward: Rg_γ = Σ(Rg_y â + g_y Râ),  Rg_β = Σ Rg_y,
    Rg_a = Rs·P(g_â) + s (Rg_â − mean Rg_â − Râ mean(g_â â) − â mean(Rg_â â + g_â Râ)),
    with Rg_â = Rγ g_y + γ Rg_y and P the projection of ``_bn_project``."""
    c, s, ahat = cache
    Rs, Rahat = Rcache
    g_ahat = gamma * g_y
    Rg_gamma = _sum(_mul(Rg_y, ahat), _mul(g_y, Rahat))
    Rg_gamma = None if Rg_gamma is None else xp.sum(Rg_gamma, axis=0)
    Rg_beta = None if Rg_y is None else xp.sum(Rg_y, axis=0)
    Rg_ahat = _sum(_mul(Rgamma, g_y), _mul(gamma, Rg_y))
    inner = None
    if Rg_ahat is not None:
        inner = Rg_ahat - xp.mean(Rg_ahat, axis=0) - ahat * xp.mean(Rg_ahat * ahat, axis=0)
    if Rahat is not None:
        m = xp.mean(g_ahat * ahat, axis=0)
        inner = _sum(inner, -Rahat * m - ahat * xp.mean(g_ahat * Rahat, axis=0))
    Rg_a = _sum(_mul(Rs, _bn_project(xp, g_ahat, ahat, 1.0) if Rs is not None else None),
                _mul(s, inner))
    return Rg_gamma, Rg_beta, Rg_a


class BatchNorm(Layer):
    """Batch norm of a hidden pre-activation, its (γ, β) in θ after all the hooked layers' parameters."""

    group = 1

    def __repr__(self):
        return "BatchNorm()"

    def param_shapes(self, in_shape):
        return [tuple(in_shape), tuple(in_shape)]

    def init(self, rng, in_shape, dtype, gain):
        """γ = 1, β = 0."""
        be = rng.backend
        zeros = be.xp.zeros(tuple(in_shape), dtype=be.dtype(dtype), device=be.device)
        return [zeros + 1.0, zeros]

    def forward(self, xp, a, P):
        return bn_forward(xp, a, *P)

    def eval_forward(self, xp, a, P, stats=None):
        if stats is None:
            return bn_forward(xp, a, *P)[0]
        return bn_eval(xp, a, *P, *stats)

    def backward(self, xp, cache, P, g_y, need_g_in):
        g_gamma, g_beta, g_a = bn_backward(xp, cache, P[0], g_y)
        return (g_gamma, g_beta), g_a

    def rforward(self, xp, cache, P, Ra, RP):
        return bn_rforward(xp, cache, P[0], Ra, *RP)

    def rbackward(self, xp, cache, P, g_y, Rcache, Ra, RP, Rg_y, need_g_in, need_g_P):
        Rg_gamma, Rg_beta, Rg_a = bn_rbackward(xp, cache, P[0], g_y, Rcache, RP[0], Rg_y)
        return (Rg_gamma, Rg_beta), Rg_a
