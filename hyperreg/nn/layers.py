"""The layers' four passes — forward, backward, R-forward, R-backward — by name, in one index.

Each layer kind lives in its own module with its passes side by side (``dense``, ``conv``, ``pool``,
``activation``, ``batchnorm``, ``loss``) and a ``Layer`` object that owns them; this module re-exports the
functions.
Every R-line is the product rule applied to its plain twin (Pearlmutter 1994), so read them pairwise.
``None`` stands for an R-value that is identically zero: the term is skipped, not multiplied by zeros.

dense:       a = h W + b            g_W = hᵀ g_a,   g_b = Σ g_a,   g_h = g_a Wᵀ
R-forward:   Ra = Rh W + h RW + Rb
R-backward:  Rg_W = Rhᵀ g_a + hᵀ Rg_a,   Rg_b = Σ Rg_a,   Rg_h = Rg_a Wᵀ + g_a RWᵀ
activation:  z = φ(a)   g_a = φ′·g_z   Rz = φ′·Ra   Rg_a = φ′·Rg_z + φ″·g_z·Ra
"""

from __future__ import annotations

from ._rvalues import Layer, _mm, _mul, _sum
from .activation import (
    ACTIVATIONS,
    LEAKY_SLOPE,
    Activation,
    act_backward,
    act_forward,
    act_rbackward,
    act_rforward,
)
from .batchnorm import (
    BN_EPS,
    BatchNorm,
    _bn_project,
    bn_backward,
    bn_eval,
    bn_forward,
    bn_rbackward,
    bn_rforward,
)
from .conv import Conv, conv_backward, conv_forward, conv_rbackward, conv_rforward, fold, unfold
from .dense import Dense, dense_backward, dense_forward, dense_rbackward, dense_rforward
from .loss import ce_backward, ce_forward, ce_rbackward, softmax
from .pool import (
    AvgPool,
    Flatten,
    MaxPool,
    avgpool_backward,
    avgpool_forward,
    maxpool_backward,
    maxpool_forward,
    maxpool_rforward,
)

__all__ = [
    "ACTIVATIONS", "BN_EPS", "LEAKY_SLOPE", "Activation", "AvgPool", "BatchNorm", "Conv", "Dense", "Flatten",
    "Layer", "MaxPool", "_bn_project", "_mm", "avgpool_backward", "avgpool_forward", "conv_backward",
    "conv_forward", "conv_rbackward", "conv_rforward", "fold", "maxpool_backward", "maxpool_forward",
    "maxpool_rforward", "unfold",
    "_mul", "_sum", "act_backward", "act_forward", "act_rbackward", "act_rforward", "bn_backward", "bn_eval",
    "bn_forward", "bn_rbackward", "bn_rforward", "ce_backward", "ce_forward", "ce_rbackward", "dense_backward",
    "dense_forward", "dense_rbackward", "dense_rforward", "softmax",
]
