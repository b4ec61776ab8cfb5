"""The implicit-function estimators' old home, kept as a re-export: solvers in ``linalg``, IFT in ``ift``,
HOAG in ``hoag``."""

from .hoag import HOAG, SCHEDULES, HOAGResult, adapt_L, hoag, inner_solve, log_step
from .ift import IFT, SOLVERS, IFTResult, ift_hypergradient
from .linalg import cg, cg_fixed, cg_scipy, cg_xp, neumann, power_alpha

__all__ = ["HOAG", "HOAGResult", "IFT", "IFTResult", "SCHEDULES", "SOLVERS", "adapt_L", "cg", "cg_fixed",
           "cg_scipy", "cg_xp", "hoag", "ift_hypergradient", "inner_solve", "log_step", "neumann", "power_alpha"]
