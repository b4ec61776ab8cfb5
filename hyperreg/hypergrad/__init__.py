"""Hypergradient estimators, each a few lines over the problem primitives, behind one protocol
(``estimator.Estimator``) and one registry (``registry.make_estimator``).

    estimator   the protocol: Estimator, GradientFree, Fixed, Step
    greedy      Greedy, Unroll1GTGV and the one-step formula (greedy, greedy_step, unroll1_gtgv, mixed_pair)
    forward     UnrollK, ClipR, ExactKStep, Discounted and the tangent step
    ift, hoag   the implicit hypergradient (IFT) and HOAG's outer loop
    linalg      CG (to a tolerance, or cg_fixed), Neumann, power iteration
    registry    names → estimators
    horizon     the exact hypergradient of L_V after T further SGD steps (forward and reverse mode)
    compare     every estimator against it from one state (``hyperreg compare`` along a run)
"""

from .estimator import Estimator, Fixed, GradientFree, Step
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
from .greedy import Greedy, Unroll1GTGV, greedy, greedy_step, mixed_pair, unroll1_gtgv, unroll1_gtgv_step
from .hoag import HOAG, HOAGResult, hoag
from .horizon import horizon_forward, horizon_reverse
from .ift import IFT, IFTResult, ift_hypergradient
from .linalg import cg, cg_fixed, neumann, power_alpha
from .registry import make_estimator, register

__all__ = [
    "HOAG", "HOAGResult", "IFTResult", "cg", "hoag", "ift_hypergradient", "neumann",
    "ClipR", "Discounted", "ExactKStep", "UnrollK", "greedy", "greedy_step", "hypergradient", "mixed_pair",
    "tangent_step", "tangent_step_momentum", "tangent_zeros", "unroll", "unroll1_gtgv", "unroll1_gtgv_step",
    "Estimator", "Fixed", "GradientFree", "Greedy", "IFT", "Step", "Unroll1GTGV", "cg_fixed", "make_estimator",
    "horizon_forward", "horizon_reverse", "power_alpha", "register",
]
