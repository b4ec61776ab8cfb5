"""Pooling (window k, stride k) and flattening, four passes side by side; no parameters.

With w = the k×k windows of h (n, C, H/k, W/k, k·k):

average:  z = mean w          g_h = unwindow(g_z / k²)     Rz = mean Rw   Rg_h = unwindow(Rg_z / k²)
max:      z = max w = Σ M w   g_h = unwindow(M g_z)        Rz = Σ M Rw    Rg_h = unwindow(M Rg_z)

M is the one-hot arg-max of each window, recorded by the forward pass: max pooling is linear in h on the
region where the arg-max does not change, so every pass routes through that one selection (ties go to
the first maximum; the derivative tests keep inputs away from ties). Average pooling is linear, so its
R-passes are the same pooling of the R-values. flatten: (n, C, H, W) → (n, C·H·W) in (C, H, W) order.
"""

from __future__ import annotations

from array_api_compat import device

from ._rvalues import Layer


def windows(xp, h, k):
    """(n, C, H, W) → (n, C, H/k, W/k, k·k): the k×k windows, row-major inside each."""
    n, C, H, W = h.shape
    w = xp.reshape(h, (n, C, H // k, k, W // k, k))
    return xp.reshape(xp.permute_dims(w, (0, 1, 2, 4, 3, 5)), (n, C, H // k, W // k, k * k))


def unwindow(xp, w, k):
    """The inverse of ``windows``: (n, C, H/k, W/k, k·k) → (n, C, H, W)."""
    n, C, Ho, Wo, _ = w.shape
    w = xp.permute_dims(xp.reshape(w, (n, C, Ho, Wo, k, k)), (0, 1, 2, 4, 3, 5))
    return xp.reshape(w, (n, C, Ho * k, Wo * k))


def avgpool_forward(xp, h, k):
    """z = mean of each k×k window."""
    return xp.mean(windows(xp, h, k), axis=-1)


def avgpool_backward(xp, g_z, k):
    """g_h = unwindow(g_z / k²): each input gets its window's gradient share (also Rg_h from Rg_z)."""
    share = xp.broadcast_to((g_z / (k * k))[..., None], (*g_z.shape, k * k))
    return unwindow(xp, share, k)


def maxpool_forward(xp, h, k):
    """z = max of each k×k window; also returns M, the one-hot arg-max (n, C, H/k, W/k, k·k)."""
    w = windows(xp, h, k)
    idx = xp.argmax(w, axis=-1)
    M = xp.astype(idx[..., None] == xp.arange(k * k, device=device(h)), h.dtype)
    return xp.max(w, axis=-1), M


def maxpool_backward(xp, M, g_z, k):
    """g_h = unwindow(M g_z): the gradient goes to each window's arg-max (also Rg_h from Rg_z)."""
    return unwindow(xp, M * g_z[..., None], k)


def maxpool_rforward(xp, M, Rh, k):
    """Rz = Σ M Rw: the R-input at each window's arg-max."""
    return None if Rh is None else xp.sum(M * windows(xp, Rh, k), axis=-1)


class _Pool(Layer):
    kind = ""

    def __init__(self, k):
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f"{self.kind}(k) needs a positive integer window (e.g. 2), got {k!r}")
        self.k = k

    def __repr__(self):
        return f"{self.kind}({self.k})"

    def out_shape(self, in_shape):
        if len(in_shape) != 3:
            raise ValueError(f"{self!r} needs a (C, H, W) input, got shape {tuple(in_shape)}; pool before "
                             f"any Dense layer")
        C, H, W = in_shape
        if H % self.k or W % self.k:
            raise ValueError(f"{self!r} needs the image sides divisible by {self.k}, got {H}×{W}; change the "
                             f"window, or the convolutions' padding/stride so the sides are multiples of it")
        return (C, H // self.k, W // self.k)


class MaxPool(_Pool):
    """z = the max of each k×k window (stride k); the cache is the forward's one-hot arg-max M."""

    kind = "MaxPool"

    def forward(self, xp, h, P):
        return maxpool_forward(xp, h, self.k)

    def eval_forward(self, xp, h, P, stats=None):
        return xp.max(windows(xp, h, self.k), axis=-1)

    def backward(self, xp, M, P, g_z, need_g_in):
        return (), maxpool_backward(xp, M, g_z, self.k) if need_g_in else None

    def rforward(self, xp, M, P, Rh, RP):
        return maxpool_rforward(xp, M, Rh, self.k), None

    def rbackward(self, xp, M, P, g_z, Rcache, Rh, RP, Rg_z, need_g_in, need_g_P):
        return (), None if Rg_z is None or not need_g_in else maxpool_backward(xp, M, Rg_z, self.k)


class AvgPool(_Pool):
    """z = the mean of each k×k window (stride k): linear, so the R-passes are the passes of the R-values."""

    kind = "AvgPool"

    def forward(self, xp, h, P):
        return avgpool_forward(xp, h, self.k), None

    def backward(self, xp, cache, P, g_z, need_g_in):
        return (), avgpool_backward(xp, g_z, self.k) if need_g_in else None

    def rforward(self, xp, cache, P, Rh, RP):
        return None if Rh is None else avgpool_forward(xp, Rh, self.k), None

    def rbackward(self, xp, cache, P, g_z, Rcache, Rh, RP, Rg_z, need_g_in, need_g_P):
        return (), None if Rg_z is None or not need_g_in else avgpool_backward(xp, Rg_z, self.k)


class Flatten(Layer):
    """(n, C, H, W) → (n, C·H·W) in (C, H, W) order (row-major); ``Net`` puts one before a Dense layer whose
    input is spatial. Linear: every pass is a reshape."""

    def __repr__(self):
        return "Flatten()"

    def out_shape(self, in_shape):
        size = 1
        for s in in_shape:
            size *= s
        return (size,)

    def forward(self, xp, h, P):
        return xp.reshape(h, (h.shape[0], -1)), h.shape

    def backward(self, xp, shape, P, g_z, need_g_in):
        return (), xp.reshape(g_z, tuple(shape)) if need_g_in else None

    def rforward(self, xp, shape, P, Rh, RP):
        return None if Rh is None else xp.reshape(Rh, (Rh.shape[0], -1)), None

    def rbackward(self, xp, shape, P, g_z, Rcache, Rh, RP, Rg_z, need_g_in, need_g_P):
        return (), None if Rg_z is None or not need_g_in else xp.reshape(Rg_z, tuple(shape))


__all__ = ["AvgPool", "Flatten", "MaxPool"]
