"""What every regularizer object carries: its kind, its names' range, default, tuner bounds and transform.

Each concrete regularizer adds its terms in the objective (``penalties``: on the hooked layers' weights;
``inputs``: on their inputs), so adding one touches its own module and the ``REGULARIZERS`` registry line.
"""

from __future__ import annotations

import math


def inner(xp, a, b):
    """⟨a, b⟩ = Σ a ⊙ b over all entries, a 0-d array: the matmul of the flattened arrays (BLAS dot), so no
    a ⊙ b array is made (a weight matrix's worth of fresh memory per call: 32 MB for size C's 4000 × 2000
    layer). Not ``vecdot``: array-api-compat writes torch's as a batched (1, P) @ (P, 1), 40× slower here."""
    return xp.reshape(a, (-1,)) @ xp.reshape(b, (-1,))


class Regularizer:
    """Settings shared by every regularizer kind.

    Attributes
    ----------
    kind : str             the block name in ``hyper_names`` (``l2``, ``noise[0]`` …)
    what : str             what a value is, for error messages
    low, high : float      the valid range of a value; ``low_open``/``high_open`` whether the ends are excluded
    default : float        λ₀ of ``init_hypers`` when none is given
    bounds : (float, float) the tuner's default natural-unit bounds
    transform : str        the hyper-optimizer's parametrization φ: ``"log"`` or ``"logit"``
    """

    kind = ""
    what = ""
    low, high, low_open, high_open = 0.0, math.inf, False, True
    default = 0.0
    bounds = (0.0, math.inf)
    transform = "log"

    def check_value(self, name, v):
        """Raise ValueError unless ``v`` is in the valid range (a host float)."""
        lo_ok = v > self.low if self.low_open else v >= self.low
        hi_ok = v < self.high if self.high_open else v <= self.high
        if not (lo_ok and hi_ok):
            lo = "(" if self.low_open else "["
            hi = ")" if self.high_open else "]"
            raise ValueError(f"lam[{name!r}] is {self.what} and must be in {lo}{self.low:g}, {self.high:g}{hi}, "
                             f"got {v}")
