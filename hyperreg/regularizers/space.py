"""``HyperSpace``: a network's λ — which regularizers it has, their blocks, names, defaults and checks."""

from __future__ import annotations

from .. import _checks as chk
from .blocks import MODES, make_block


class HyperSpace:
    """The blocks of λ for ``modes`` (kind → "per-layer", "tied" or None) over ``n_layers`` hooked layers.

    Attributes
    ----------
    blocks : dict kind → HyperBlock, in λ's order (the registry's)
    present : list of (Regularizer, HyperBlock) for the kinds the network has
    n_hypers : int
    hyper_names : tuple of str
    """

    def __init__(self, registry, modes, n_layers, backend, dtype_name):
        for kind, mode in modes.items():
            if mode not in MODES:
                name = "dropout" if kind == "keep" else kind
                raise ValueError(f"{name} must be one of {MODES}, got {mode!r}")
        self.backend, self.dtype_name = backend, dtype_name
        self.blocks, self.present, offset = {}, [], 0
        for kind, reg in registry.items():
            block = make_block(kind, modes.get(kind), n_layers, offset)
            if block is not None:
                self.blocks[kind] = block
                self.present.append((reg, block))
                offset += block.size
        self.n_hypers = offset
        self.hyper_names = tuple(n for b in self.blocks.values() for n in b.names)

    def init(self, given_by_kind):
        """λ in ``hyper_names`` order, natural units. Each kind's value: one value for all entries of its
        block, a sequence with one per entry, or a dict name → value (None: the regularizer's default)."""
        values = []
        for reg, block in self.present:
            given = given_by_kind.get(reg.kind)
            given = reg.default if given is None else given
            if isinstance(given, dict):
                unknown = set(given) - set(block.names)
                if unknown:
                    raise ValueError(f"{reg.kind}: unknown names {sorted(unknown)}; known: {list(block.names)}")
                vals = [given.get(n) for n in block.names]
                if None in vals:
                    raise ValueError(f"{reg.kind}: give a value for each of {list(block.names)}")
            elif isinstance(given, (list, tuple)):
                if len(given) != block.size:
                    raise ValueError(f"{reg.kind} needs {block.size} values {list(block.names)}, got {len(given)}")
                vals = list(given)
            else:
                vals = [given] * block.size
            values += [float(v) for v in vals]
        be = self.backend
        lam = (be.asarray(values, dtype=self.dtype_name) if values
               else be.xp.zeros((0,), dtype=be.dtype(self.dtype_name), device=be.device))
        self.check(lam)
        return lam

    def check(self, lam):
        """Raise unless λ has length n_hypers, is finite, and each entry is in its regularizer's range."""
        chk.check_shape(lam, (self.n_hypers,), "lam")
        chk.check_float(lam, self.backend.dtype(self.dtype_name), "lam")
        chk.check_finite(lam, "lam")
        host = self.backend.to_numpy(lam)
        for reg, block in self.present:
            for name, v in zip(block.names, host[block.slice]):
                reg.check_value(name, float(v))

    def as_dict(self, lam) -> dict:
        """λ as ``{name: float}`` (a host read)."""
        host = self.backend.to_numpy(lam)
        return {n: float(v) for n, v in zip(self.hyper_names, host)}
