"""Dense layer, four passes side by side (Pearlmutter 1994: every R-line is the product rule on its twin).

dense:       a = h W + b            g_W = hᵀ g_a,   g_b = Σ g_a,   g_h = g_a Wᵀ
R-forward:   Ra = Rh W + h RW + Rb
R-backward:  Rg_W = Rhᵀ g_a + hᵀ Rg_a,   Rg_b = Σ Rg_a,   Rg_h = Rg_a Wᵀ + g_a RWᵀ
"""

from __future__ import annotations

import math

from ..backends.inplace import ops
from ._rvalues import Layer, _mm, _sum


def dense_forward(xp, h, W, b):
    """a = h W + b;  h (n, d_in), W (d_in, d_out), b (d_out,)."""
    a = h @ W
    a += b  # into the fresh product: one (n, d_out) array, not two
    return a


def dense_backward(xp, h, W, g_a, need_g_h=True, out=None):
    """g_W = hᵀ g_a,  g_b = Σ_rows g_a,  g_h = g_a Wᵀ (skipped when ``need_g_h`` is False).

    ``out``: (g_W, g_b) buffers (views of the flat gradient) to write into where the backend can."""
    o, (out_W, out_b) = ops(xp), out or (None, None)
    return o.matmul(h.T, g_a, out_W), o.sum_rows(g_a, out_b), (g_a @ W.T if need_g_h else None)


def dense_rforward(xp, h, W, Rh, RW, Rb):
    """Ra = Rh W + h RW + Rb."""
    return _sum(_mm(Rh, W), _mm(h, RW), Rb)


def dense_rbackward(xp, h, W, g_a, Rh, RW, Rg_a, need_g_h=True, need_g_params=True, out=None):
    """Rg_W = Rhᵀ g_a + hᵀ Rg_a,  Rg_b = Σ Rg_a,  Rg_h = Rg_a Wᵀ + g_a RWᵀ (each only when needed).

    Both terms of Rg_W are one matmul, [Rh; h]ᵀ [g_a; Rg_a], written into ``out`` where the backend can."""
    Rg_W = Rg_b = None
    o, (out_W, out_b) = ops(xp), out or (None, None)
    if need_g_params and Rg_a is not None:
        if Rh is None:
            Rg_W = o.matmul(h.T, Rg_a, out_W)
        else:  # Rhᵀ g_a + hᵀ Rg_a = [Rh; h]ᵀ [g_a; Rg_a]: one matmul over the stacked batch
            Rg_W = o.matmul(xp.concat([Rh, h], axis=0).T, xp.concat([g_a, Rg_a], axis=0), out_W)
        Rg_b = o.sum_rows(Rg_a, out_b)
    elif need_g_params and Rh is not None:
        Rg_W = o.matmul(Rh.T, g_a, out_W)
    Rg_h = _sum(_mm(Rg_a, W.T), _mm(g_a, None if RW is None else RW.T)) if need_g_h else None
    return Rg_W, Rg_b, Rg_h


class Dense(Layer):
    """a = h W + b with W (d_in, d_out), b (d_out,); the input h is (n, d_in) (a conv output is flattened
    in (C, H, W) order first). A *parametrized layer*: noise and dropout act on h, penalties on W."""

    hooked = True
    writes_out = True

    def __init__(self, out):
        if isinstance(out, bool) or not isinstance(out, int) or out < 1:
            raise ValueError(f"Dense(out) needs a positive integer width, got {out!r}")
        self.out = out

    def __repr__(self):
        return f"Dense({self.out})"

    def param_shapes(self, in_shape):
        return [(math.prod(in_shape), self.out), (self.out,)]

    def out_shape(self, in_shape):
        return (self.out,)

    def init(self, rng, in_shape, dtype, gain):
        """W ~ N(0, gain / d_in) drawn in float64 and cast (a seed gives one net in either dtype), b = 0."""
        (d_in, d_out), _ = self.param_shapes(in_shape)
        xp = rng.backend.xp
        W = xp.astype(rng.normal((d_in, d_out)) * (gain / d_in) ** 0.5, rng.backend.dtype(dtype))
        return [W, xp.zeros((d_out,), dtype=W.dtype, device=rng.backend.device)]

    def forward(self, xp, h, P):
        return dense_forward(xp, h, *P), h

    def backward(self, xp, h, P, g_a, need_g_in, out=None):
        g_W, g_b, g_h = dense_backward(xp, h, P[0], g_a, need_g_h=need_g_in, out=out)
        return (g_W, g_b), g_h

    def rforward(self, xp, h, P, Rh, RP):
        RW, Rb = RP
        return dense_rforward(xp, h, P[0], Rh, RW, Rb), None

    def rbackward(self, xp, h, P, g_a, Rcache, Rh, RP, Rg_a, need_g_in, need_g_P, out=None):
        Rg_W, Rg_b, Rg_h = dense_rbackward(xp, h, P[0], g_a, Rh, RP[0], Rg_a, need_g_h=need_g_in,
                                           need_g_params=need_g_P, out=out)
        return (Rg_W, Rg_b), Rg_h
