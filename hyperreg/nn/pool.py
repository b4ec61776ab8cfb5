"""Pooling (window k, stride k) and flattening, four passes side by side; no parameters.

With h_ij = h[..., i::k, j::k] the (i, j) entries of every k×k window (i, j < k: k² strided views):

average:  z = Σ h_ij / k²            g_h_ij = g_z / k²      Rz = Σ Rh_ij / k²    Rg_h_ij = Rg_z / k²
max:      z = max h_ij = Σ M_ij h_ij  g_h_ij = M_ij g_z      Rz = Σ M_ij Rh_ij    Rg_h_ij = M_ij Rg_z

M_ij is 1 where (i, j) is its window's first arg-max, recorded by the forward pass: max pooling is linear in
h where the arg-max does not change, so every pass routes through that one selection (ties go to the
first maximum in row-major order; the derivative tests keep inputs away from ties). Average pooling is
linear, so its R-passes are the same pooling of the R-values. Working on the k² strided views (elementwise
ops only) avoids regrouping the windows in memory. flatten: (n, C, H, W) → (n, C·H·W) in (C, H, W) order.
"""

from __future__ import annotations

from array_api_compat import device

from ._rvalues import Layer


def _views(k):
    """The k² index tuples (…, i::k, j::k), in row-major (i, j) order."""
    return [(..., slice(i, None, k), slice(j, None, k)) for i in range(k) for j in range(k)]


def _spread(xp, parts, k):
    """(n, C, H/k, W/k) per window entry (i, j) → (n, C, H, W): the adjoint of taking the k² views."""
    n, C, Ho, Wo = parts[0].shape
    out = xp.zeros((n, C, Ho * k, Wo * k), dtype=parts[0].dtype, device=device(parts[0]))
    for idx, part in zip(_views(k), parts):
        out[idx] = part
    return out


def avgpool_forward(xp, h, k):
    """z = Σ_ij h_ij / k²: the mean of each k×k window."""
    views = _views(k)
    z = h[views[0]]
    for idx in views[1:]:
        z = z + h[idx]
    return z / (k * k)


def avgpool_backward(xp, g_z, k):
    """g_h_ij = g_z / k²: each input gets its window's share (also Rg_h from Rg_z)."""
    share = g_z / (k * k)
    return _spread(xp, [share] * (k * k), k)


def _window_max(xp, h, k):
    """The k² views h_ij and z = max_ij h_ij."""
    parts = [h[idx] for idx in _views(k)]
    z = parts[0]
    for part in parts[1:]:
        z = xp.maximum(z, part)
    return parts, z


def maxpool_forward(xp, h, k):
    """z = max of each k×k window; also returns M, the one-hot first arg-max as k² arrays M_ij."""
    parts, z = _window_max(xp, h, k)
    M, taken = [], None
    for part in parts:
        hit = part == z
        if taken is not None:
            hit = xp.logical_and(hit, xp.logical_not(taken))
        taken = hit if taken is None else xp.logical_or(taken, hit)
        M.append(xp.astype(hit, h.dtype))
    return z, M


def maxpool_backward(xp, M, g_z, k):
    """g_h_ij = M_ij g_z: the gradient goes to each window's arg-max (also Rg_h from Rg_z)."""
    return _spread(xp, [m * g_z for m in M], k)


def maxpool_rforward(xp, M, Rh, k):
    """Rz = Σ_ij M_ij Rh_ij: the R-input at each window's arg-max."""
    if Rh is None:
        return None
    views = _views(k)
    Rz = M[0] * Rh[views[0]]
    for m, idx in zip(M[1:], views[1:]):
        Rz = Rz + m * Rh[idx]
    return Rz


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
        return _window_max(xp, h, self.k)[1]

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
