"""θ as ONE flat 1-D array with per-layer views (DESIGN.md "The math, exactly").

The layout puts the hooked layers' parameters (W_0, b_0, W_1, b_1, …) first, then the batch-norm
(γ, β) pairs, each array row-major. ``views`` cuts θ into per-layer arrays by slicing and reshaping — views,
not copies, on NumPy, CuPy and torch — and ``flatten`` is its inverse on a per-layer structure.
"""

from __future__ import annotations

import math

from array_api_compat import array_namespace


class ParamLayout:
    """Where each layer's parameters sit in θ.

    Parameters
    ----------
    layers : list of Layer
    shapes : list of list of tuple
        ``shapes[pos]``: the shapes of layer ``pos``'s parameters (empty for a parameter-free layer).
    """

    def __init__(self, layers, shapes):
        self.n_layers = len(layers)
        self.shapes = [list(map(tuple, s)) for s in shapes]
        order = sorted((p for p in range(len(layers)) if shapes[p]), key=lambda p: (layers[p].group, p))
        self.order = order  # layer positions with parameters, in θ order
        self.slices, n = [None] * len(layers), 0
        for pos in order:
            sl = []
            for shape in self.shapes[pos]:
                size = math.prod(shape)
                sl.append((n, n + size))
                n += size
            self.slices[pos] = sl
        self.size = n

    def views(self, theta):
        """Per layer position, the tuple of its parameter arrays (views of θ; () where none)."""
        xp = array_namespace(theta)
        return [tuple(xp.reshape(theta[a:b], s) for (a, b), s in zip(self.slices[p], self.shapes[p]))
                if self.slices[p] else () for p in range(self.n_layers)]

    def groups(self, theta):
        """The per-layer tuples of ``views`` in θ order (hooked layers first, then batch norm)."""
        P = self.views(theta)
        return [P[p] for p in self.order]

    def buffer(self, like):
        """(flat, views) for in-place backends: an uninitialized θ-shaped buffer and its per-layer views, or
        (None, None) where the namespace has no ``out=`` (the caller then flattens fresh arrays)."""
        from ..backends.inplace import ops

        xp = array_namespace(like)
        if not ops(xp).native:
            return None, None
        flat = xp.empty((self.size,), dtype=like.dtype, device=_device(like))
        return flat, self.views(flat)

    def collect(self, flat, per_layer, like):
        """``flat`` where the sweep wrote into it (``buffer``), else ``flatten(per_layer, like)``."""
        return flat if flat is not None else self.flatten(per_layer, like)

    def flatten(self, per_layer, like):
        """The inverse of ``views``: per-layer tuples (None entries: zero) → one flat array like ``like``."""
        xp = array_namespace(like)
        parts = []
        for pos in self.order:
            arrs = per_layer[pos] or (None,) * len(self.shapes[pos])
            for arr, (a, b) in zip(arrs, self.slices[pos]):
                parts.append(xp.zeros((b - a,), dtype=like.dtype, device=_device(like)) if arr is None
                             else xp.reshape(arr, (-1,)))
        return xp.concat(parts)


def _device(x):
    from array_api_compat import device

    return device(x)
