"""λ as one flat vector of named blocks, one block per regularizer kind, and the map T to the layers.

Per-layer versus tied is a linear map T from a block's entries to the hooked (parametrized) layers
(``per_layer``) and its transpose Tᵀ for the read-outs (``gather``); nothing in ``nn/`` knows about tying.
"""

from __future__ import annotations

from dataclasses import dataclass

from array_api_compat import device

MODES = ("per-layer", "tied", None)


@dataclass(frozen=True)
class HyperBlock:
    """One regularizer's slice of λ and its map T to the hooked layers.

    ``layer_index[i]`` is the entry of the block that hooked layer i reads (per-layer: i; tied: one entry,
    or for noise ``noise[input]`` for layer 0 and ``noise[hidden]`` for the others).
    """

    kind: str
    names: tuple
    layer_index: tuple
    offset: int

    @property
    def size(self) -> int:
        return len(self.names)

    @property
    def slice(self) -> slice:
        return slice(self.offset, self.offset + self.size)

    def per_layer(self, lam):
        """T λ_block: the value each hooked layer reads, as 0-d arrays (no host transfer)."""
        return [lam[self.offset + j] for j in self.layer_index]

    def gather(self, xp, per_layer_values, like):
        """Tᵀ: sum per-layer read-outs into the block's entries; a 1-D array of ``self.size``."""
        out = [None] * self.size
        for j, val in zip(self.layer_index, per_layer_values):
            out[j] = val if out[j] is None else out[j] + val
        zero = xp.zeros((), dtype=like.dtype, device=device(like))
        return xp.stack([zero if v is None else v for v in out])

    def entries(self, u):
        """The block's entries of u (0-d arrays), None where zero; u: an array, None, or an int j for e_j."""
        if u is None:
            return [None] * self.size
        if isinstance(u, int):
            return [1.0 if self.offset + j == u else None for j in range(self.size)]
        return [u[self.offset + j] for j in range(self.size)]

    def seeds(self, xp, u, like):
        """T u restricted to this block: per-layer seeds (0-d arrays), None where zero — structurally, with no
        host read: u = None seeds nothing, an int u = j seeds 1 only where a layer reads entry j."""
        if u is None or (isinstance(u, int) and not self.offset <= u < self.offset + self.size):
            return None
        if not isinstance(u, int):
            return self.per_layer(u)
        one = xp.ones((), dtype=like.dtype, device=device(like))
        return [one if self.offset + j == u else None for j in self.layer_index]


def make_block(kind: str, mode, n_layers: int, offset: int) -> HyperBlock | None:
    """The block for regularizer ``kind`` under ``mode`` ("per-layer", "tied" or None: absent)."""
    if mode is None:
        return None
    if mode == "per-layer":
        names = tuple(f"{kind}[{i}]" for i in range(n_layers))
        return HyperBlock(kind, names, tuple(range(n_layers)), offset)
    if kind == "noise" and n_layers > 1:  # tied noise: the input and the hidden layers apart
        return HyperBlock(kind, ("noise[input]", "noise[hidden]"), (0,) + (1,) * (n_layers - 1), offset)
    return HyperBlock(kind, (kind,), (0,) * n_layers, offset)
