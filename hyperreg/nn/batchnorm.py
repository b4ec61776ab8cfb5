"""Batch norm over the batch (training statistics), four passes side by side.

    â = (a − μ)/√(var + eps),  y = γ â + β

The statistics run over the batch axis of a dense pre-activation (n, d), one (γ, β) per unit, and over
(n, H, W) of a convolution's (n, C, H, W), one (γ, β) per channel. ``_mean`` and ``_total`` are those
reductions; a per-channel (C,) parameter broadcasts as (C, 1, 1) (``_per_unit``).
"""

from __future__ import annotations

from ._rvalues import Layer, _mul, _sum

BN_EPS = 1e-5  # added to the batch variance before the square root


def _axes(x):
    """The reduction axes: the batch axis, and the spatial axes of an (n, C, H, W) input."""
    return 0 if x.ndim == 2 else (0, *range(2, x.ndim))


def _mean(xp, x):
    """The mean over the statistics' axes, kept broadcastable against x."""
    return xp.mean(x, axis=0) if x.ndim == 2 else xp.mean(x, axis=_axes(x), keepdims=True)


def _total(xp, x):
    """The sum over the statistics' axes, shaped as the parameters ((d,) or (C,))."""
    return xp.sum(x, axis=_axes(x))


def _per_unit(xp, p, like):
    """A (d,) or (C,) parameter or statistic shaped to broadcast against ``like`` (None stays None)."""
    if p is None or like.ndim == 2:
        return p
    return xp.reshape(p, (p.shape[0], *(1,) * (like.ndim - 2)))


def bn_forward(xp, a, gamma, beta):
    """y = γ â + β with â = (a − μ) s, s = (var + eps)^(−½); returns y and the cache (c, s, â)."""
    c = a - _mean(xp, a)
    s = 1.0 / xp.sqrt(_mean(xp, c * c) + BN_EPS)
    ahat = c * s
    return _per_unit(xp, gamma, a) * ahat + _per_unit(xp, beta, a), (c, s, ahat)


def bn_stats(xp, a):
    """The batch statistics (μ, var), shaped as the parameters: what the running averages track."""
    return xp.mean(a, axis=_axes(a)), xp.var(a, axis=_axes(a))


def bn_eval(xp, a, gamma, beta, mean, var):
    """y = γ (a − μ_run)/√(var_run + eps) + β: evaluation with running statistics (no batch coupling)."""
    gamma, beta, mean, var = (_per_unit(xp, p, a) for p in (gamma, beta, mean, var))
    return gamma * (a - mean) / xp.sqrt(var + BN_EPS) + beta


def _bn_project(xp, g, ahat, s):
    """s (g − mean g − â mean(g â)): the batch-norm Jacobian applied to g (the backward core)."""
    return s * (g - _mean(xp, g) - ahat * _mean(xp, g * ahat))


def bn_backward(xp, cache, gamma, g_y):
    """g_γ = Σ g_y â,  g_β = Σ g_y,  g_a = s (g_â − mean g_â − â mean(g_â â)) with g_â = γ g_y."""
    c, s, ahat = cache
    g_ahat = _per_unit(xp, gamma, g_y) * g_y
    return _total(xp, g_y * ahat), _total(xp, g_y), _bn_project(xp, g_ahat, ahat, s)


def bn_rforward(xp, cache, gamma, Ra, Rgamma, Rbeta):
    """Rc = Ra − mean Ra,  Rs = −s³ mean(c Rc),  Râ = Rc s + c Rs,  Ry = Rγ â + γ Râ + Rβ."""
    c, s, ahat = cache
    if Ra is None:
        Rahat = Rs = None
    else:
        Rc = Ra - _mean(xp, Ra)
        Rs = -(s * s * s) * _mean(xp, c * Rc)  # R{var} = 2 mean(c Rc), R{s} = −½ s³ R{var}
        Rahat = Rc * s + c * Rs
    gamma, Rgamma, Rbeta = (_per_unit(xp, p, c) for p in (gamma, Rgamma, Rbeta))
    return _sum(_mul(Rgamma, ahat), _mul(gamma, Rahat), Rbeta), (Rs, Rahat)


def bn_rbackward(xp, cache, gamma, g_y, Rcache, Rgamma, Rg_y):
    """R of bn_backward: Rg_γ = Σ(Rg_y â + g_y Râ),  Rg_β = Σ Rg_y,
    Rg_a = Rs·P(g_â) + s (Rg_â − mean Rg_â − Râ mean(g_â â) − â mean(Rg_â â + g_â Râ)),
    with Rg_â = Rγ g_y + γ Rg_y and P the projection of ``_bn_project``."""
    c, s, ahat = cache
    Rs, Rahat = Rcache
    gamma, Rgamma = _per_unit(xp, gamma, c), _per_unit(xp, Rgamma, c)
    g_ahat = gamma * g_y
    Rg_gamma = _sum(_mul(Rg_y, ahat), _mul(g_y, Rahat))
    Rg_gamma = None if Rg_gamma is None else _total(xp, Rg_gamma)
    Rg_beta = None if Rg_y is None else _total(xp, Rg_y)
    Rg_ahat = _sum(_mul(Rgamma, g_y), _mul(gamma, Rg_y))
    inner = None
    if Rg_ahat is not None:
        inner = Rg_ahat - _mean(xp, Rg_ahat) - ahat * _mean(xp, Rg_ahat * ahat)
    if Rahat is not None:
        m = _mean(xp, g_ahat * ahat)
        inner = _sum(inner, -Rahat * m - ahat * _mean(xp, g_ahat * Rahat))
    Rg_a = _sum(_mul(Rs, _bn_project(xp, g_ahat, ahat, 1.0) if Rs is not None else None),
                _mul(s, inner))
    return Rg_gamma, Rg_beta, Rg_a


class BatchNorm(Layer):
    """Batch norm of a hidden pre-activation, its (γ, β) in θ after all the hooked layers' parameters:
    one pair per unit of a dense input (d,), one per channel of a convolution's (C, H, W)."""

    group = 1

    def __repr__(self):
        return "BatchNorm()"

    def param_shapes(self, in_shape):
        return [(in_shape[0],), (in_shape[0],)] if len(in_shape) > 1 else [tuple(in_shape), tuple(in_shape)]

    def init(self, rng, in_shape, dtype, gain):
        """γ = 1, β = 0."""
        be = rng.backend
        zeros = be.xp.zeros(self.param_shapes(in_shape)[0], dtype=be.dtype(dtype), device=be.device)
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
