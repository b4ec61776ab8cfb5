"""Convolution as a matmul on unfolded patches, four passes side by side (DESIGN.md "Convolution and pooling").

With U = unfold(h) (n, C_in·k·k, H'·W') and W reshaped to W₂ (C_out, C_in·k·k):

conv:        a = W₂ U + b           g_W = Σ_n g_a Uᵀ,   g_b = Σ g_a,   g_h = fold(W₂ᵀ g_a)
R-forward:   Ra = W₂ RU + RW₂ U + Rb                      (RU = unfold(Rh): unfold is linear)
R-backward:  Rg_W = Σ_n (Rg_a Uᵀ + g_a RUᵀ),   Rg_b = Σ Rg_a,   Rg_h = fold(W₂ᵀ Rg_a + RW₂ᵀ g_a)

``unfold`` cuts the k·k shifted (strided) slices of the zero-padded input and stacks them, and ``fold`` is
its adjoint: it adds each slice's gradient back at its shift and crops the padding. Both use only
slicing, so they run on every array-API namespace; the matmul does the arithmetic (BLAS / cuBLAS).
"""

from __future__ import annotations

import math

from array_api_compat import device

from ._rvalues import Layer, _sum

PADDINGS = ("same", "valid")


def conv_geometry(in_shape, k, stride, pad):
    """Output height and width: H' = ⌊(H + 2p − k)/s⌋ + 1 (and W' alike)."""
    _, H, W = in_shape
    return (H + 2 * pad - k) // stride + 1, (W + 2 * pad - k) // stride + 1


def unfold(xp, h, k, stride, pad, out_hw):
    """U (n, C·k·k, H'·W'): U[:, c·k·k + i·k + j, y·W' + x] = h_pad[:, c, i + s·y, j + s·x]."""
    n, C, H, W = h.shape
    Ho, Wo = out_hw
    if pad:
        hp = xp.zeros((n, C, H + 2 * pad, W + 2 * pad), dtype=h.dtype, device=device(h))
        hp[:, :, pad:pad + H, pad:pad + W] = h
        h = hp
    span_h, span_w = stride * (Ho - 1) + 1, stride * (Wo - 1) + 1
    pieces = [h[:, :, i:i + span_h:stride, j:j + span_w:stride] for i in range(k) for j in range(k)]
    return xp.reshape(xp.stack(pieces, axis=2), (n, C * k * k, Ho * Wo))


def fold(xp, G, in_shape, k, stride, pad, out_hw):
    """The adjoint of ``unfold``: G (n, C·k·k, H'·W') → (n, C, H, W), summing every patch's share."""
    n, C, H, W = in_shape
    Ho, Wo = out_hw
    G = xp.reshape(G, (n, C, k * k, Ho, Wo))
    g = xp.zeros((n, C, H + 2 * pad, W + 2 * pad), dtype=G.dtype, device=device(G))
    span_h, span_w = stride * (Ho - 1) + 1, stride * (Wo - 1) + 1
    for i in range(k):
        for j in range(k):
            sl = (slice(None), slice(None), slice(i, i + span_h, stride), slice(j, j + span_w, stride))
            g[sl] = g[sl] + G[:, :, i * k + j, ...]
    return g[:, :, pad:pad + H, pad:pad + W] if pad else g


def _w2(xp, W):
    """W (C_out, C_in, k, k) as W₂ (C_out, C_in·k·k)."""
    return xp.reshape(W, (W.shape[0], -1))


def _wgrad(xp, g_a, U, W_shape):
    """Σ_n g_a Uᵀ (one tensordot: a single matmul over the batch and positions), shaped as W."""
    return xp.reshape(xp.tensordot(g_a, U, axes=([0, 2], [0, 2])), W_shape)


def conv_forward(xp, U, W, b, out_hw):
    """a = W₂ U + b, shaped (n, C_out, H', W'); U = unfold(h)."""
    a = _w2(xp, W) @ U + b[:, None]
    return xp.reshape(a, (U.shape[0], W.shape[0], *out_hw))


def conv_backward(xp, U, W, g_a, in_shape, geom, need_g_h=True):
    """g_W = Σ_n g_a Uᵀ,  g_b = Σ g_a,  g_h = fold(W₂ᵀ g_a) (skipped when ``need_g_h`` is False)."""
    n, C_out = g_a.shape[:2]
    g_a = xp.reshape(g_a, (n, C_out, -1))
    g_h = fold(xp, _w2(xp, W).T @ g_a, in_shape, *geom) if need_g_h else None
    return _wgrad(xp, g_a, U, W.shape), xp.sum(g_a, axis=(0, 2)), g_h


def conv_rforward(xp, U, W, RU, RW, Rb, out_hw):
    """Ra = W₂ RU + RW₂ U + Rb, shaped (n, C_out, H', W')."""
    Ra = _sum(None if RU is None else _w2(xp, W) @ RU, None if RW is None else _w2(xp, RW) @ U,
              None if Rb is None else Rb[:, None])
    if Ra is None:
        return None
    full = (U.shape[0], W.shape[0], U.shape[2])
    return xp.reshape(Ra if Ra.ndim == 3 else xp.broadcast_to(Ra, full), (full[0], full[1], *out_hw))


def conv_rbackward(xp, U, W, g_a, RU, RW, Rg_a, in_shape, geom, need_g_h=True, need_g_params=True):
    """Rg_W = Σ_n (Rg_a Uᵀ + g_a RUᵀ),  Rg_b = Σ Rg_a,  Rg_h = fold(W₂ᵀ Rg_a + RW₂ᵀ g_a) (each when needed)."""
    n, C_out = g_a.shape[:2]
    g_a = xp.reshape(g_a, (n, C_out, -1))
    Rg_a = None if Rg_a is None else xp.reshape(Rg_a, (n, C_out, -1))
    Rg_W = Rg_b = Rg_h = None
    if need_g_params:
        Rg_W = _sum(None if Rg_a is None else _wgrad(xp, Rg_a, U, W.shape),
                    None if RU is None else _wgrad(xp, g_a, RU, W.shape))
        Rg_b = None if Rg_a is None else xp.sum(Rg_a, axis=(0, 2))
    if need_g_h:
        RG = _sum(None if Rg_a is None else _w2(xp, W).T @ Rg_a, None if RW is None else _w2(xp, RW).T @ g_a)
        Rg_h = None if RG is None else fold(xp, RG, in_shape, *geom)
    return Rg_W, Rg_b, Rg_h


def _positive_int(value, what, example):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"Conv {what} must be a positive integer (e.g. {example}), got {value!r}")
    return value


class Conv(Layer):
    """a = W ⋆ h + b: a 2-D convolution (cross-correlation, as torch's conv2d) with W (C_out, C_in, k, k),
    b (C_out,), on inputs h (n, C_in, H, W). A *parametrized layer*: noise and dropout act on h, penalties
    on W.

    Parameters
    ----------
    out_channels : int
    kernel : int
        k, the square kernel's side.
    stride : int
    padding : {"same", "valid"} or int
        Zeros on each side: "same" pads (k − 1)/2 (odd k), so H' = ⌈H / stride⌉; "valid" pads none,
        H' = ⌊(H − k)/stride⌋ + 1; an int p gives H' = ⌊(H + 2p − k)/stride⌋ + 1.
    """

    hooked = True

    def __init__(self, out_channels, kernel, stride=1, padding="same"):
        self.out_channels = _positive_int(out_channels, "out_channels", 16)
        self.kernel = _positive_int(kernel, "kernel", 3)
        self.stride = _positive_int(stride, "stride", 1)
        if padding == "same":
            if self.kernel % 2 == 0:
                raise ValueError(f"Conv padding='same' needs an odd kernel (1, 3, 5, …), got kernel={kernel}; "
                                 f"use padding='valid' or an integer padding for even kernels")
            self.pad = (self.kernel - 1) // 2
        elif padding == "valid":
            self.pad = 0
        elif isinstance(padding, int) and not isinstance(padding, bool) and 0 <= padding < self.kernel:
            self.pad = padding
        else:
            raise ValueError(f"Conv padding must be one of {PADDINGS} or an integer in [0, kernel), "
                             f"got {padding!r}")
        self.padding = padding

    def __repr__(self):
        extra = "" if self.stride == 1 else f", stride={self.stride}"
        extra += "" if self.padding == "same" else f", padding={self.padding!r}"
        return f"Conv({self.out_channels}, {self.kernel}{extra})"

    def _geometry(self, in_shape):
        if len(in_shape) != 3:
            raise ValueError(f"{self!r} needs a (C, H, W) input, got shape {tuple(in_shape)}; put convolutions "
                             f"before any Dense layer and give Net an input_shape=(C, H, W)")
        Ho, Wo = conv_geometry(in_shape, self.kernel, self.stride, self.pad)
        if Ho < 1 or Wo < 1:
            raise ValueError(f"{self!r} on a {in_shape[1]}×{in_shape[2]} input leaves no output pixels; "
                             f"use a smaller kernel or padding='same'")
        return self.kernel, self.stride, self.pad, (Ho, Wo)

    def param_shapes(self, in_shape):
        self._geometry(in_shape)
        return [(self.out_channels, in_shape[0], self.kernel, self.kernel), (self.out_channels,)]

    def out_shape(self, in_shape):
        return (self.out_channels, *self._geometry(in_shape)[3])

    def init(self, rng, in_shape, dtype, gain):
        """W ~ N(0, gain / (C_in k²)) drawn in float64 and cast (a seed gives one net in either dtype), b = 0."""
        W_shape, b_shape = self.param_shapes(in_shape)
        xp = rng.backend.xp
        fan_in = math.prod(W_shape[1:])
        W = xp.astype(rng.normal(W_shape) * (gain / fan_in) ** 0.5, rng.backend.dtype(dtype))
        return [W, xp.zeros(b_shape, dtype=W.dtype, device=rng.backend.device)]

    def forward(self, xp, h, P):
        geom = self._geometry(h.shape[1:])
        U = unfold(xp, h, *geom)
        return conv_forward(xp, U, *P, geom[3]), (U, h.shape, geom)

    def backward(self, xp, cache, P, g_a, need_g_in):
        U, in_shape, geom = cache
        g_W, g_b, g_h = conv_backward(xp, U, P[0], g_a, in_shape, geom, need_g_h=need_g_in)
        return (g_W, g_b), g_h

    def rforward(self, xp, cache, P, Rh, RP):
        U, _, geom = cache
        RU = None if Rh is None else unfold(xp, Rh, *geom)
        return conv_rforward(xp, U, P[0], RU, *RP, geom[3]), RU

    def rbackward(self, xp, cache, P, g_a, RU, Rh, RP, Rg_a, need_g_in, need_g_P):
        U, in_shape, geom = cache
        Rg_W, Rg_b, Rg_h = conv_rbackward(xp, U, P[0], g_a, RU, RP[0], Rg_a, in_shape, geom, need_g_h=need_g_in,
                                          need_g_params=need_g_P)
        return (Rg_W, Rg_b), Rg_h
