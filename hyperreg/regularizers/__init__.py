"""Regularizers: objects that carry their terms, and the blocks of λ they own.

λ is one flat vector in ``hyper_names`` order: an L2 block, an ℓ1 block, an ℓ½ block, a noise block, a
keep-probability block (absent blocks take no room, so nets without ℓ1/ℓ½ keep their order). A new kind is
one class in its module and one line in ``REGULARIZERS``.
"""

from __future__ import annotations

from .base import Regularizer
from .blocks import MODES, HyperBlock, make_block
from .inputs import AdditiveNoise, Dropout, dropout_scale, keep_shifts
from .penalties import (
    L1,
    L2,
    PENALTY_EPS,
    PSI,
    LHalf,
    WeightPenalty,
    l1_curv,
    l1_grad,
    l1_value,
    lhalf_curv,
    lhalf_grad,
    lhalf_value,
)

# the registry, in λ's block order
REGULARIZERS = {r.kind: r for r in (L2(), L1(), LHalf(), AdditiveNoise(), Dropout())}
KINDS = tuple(REGULARIZERS)
PENALTIES = tuple(k for k, r in REGULARIZERS.items() if isinstance(r, WeightPenalty))
SMOOTH_PENALTIES = ("l1", "lhalf")  # λ Σ ψ(w) on the weights W, ψ smoothed at 0 by ε

__all__ = [
    "KINDS", "L1", "L2", "MODES", "PENALTIES", "PENALTY_EPS", "PSI", "REGULARIZERS", "SMOOTH_PENALTIES",
    "AdditiveNoise", "Dropout", "HyperBlock", "LHalf", "Regularizer", "WeightPenalty", "dropout_scale",
    "keep_shifts", "l1_curv", "l1_grad", "l1_value", "lhalf_curv", "lhalf_grad", "lhalf_value", "make_block",
]
