"""Hypergradient estimators, each a few lines over the problem primitives."""

from .forward import (
    ClipR,
    Discounted,
    ExactKStep,
    UnrollK,
    hypergradient,
    tangent_step,
    tangent_step_momentum,
    tangent_zeros,
    unroll,
)
from .greedy import greedy, greedy_step, mixed_pair, unroll1_gtgv, unroll1_gtgv_step
from .implicit import HOAG, HOAGResult, IFTResult, cg, hoag, ift_hypergradient, neumann

__all__ = [
    "HOAG", "HOAGResult", "IFTResult", "cg", "hoag", "ift_hypergradient", "neumann",
    "ClipR", "Discounted", "ExactKStep", "UnrollK", "greedy", "greedy_step", "hypergradient", "mixed_pair",
    "tangent_step", "tangent_step_momentum", "tangent_zeros", "unroll", "unroll1_gtgv", "unroll1_gtgv_step",
]
