"""The hand-written network: layer objects with their four passes, the flat parameter layout, one sweep driver."""

from . import layers, sweep
from .activation import Activation
from .batchnorm import BatchNorm
from .dense import Dense
from .params import ParamLayout

__all__ = ["Activation", "BatchNorm", "Dense", "ParamLayout", "layers", "sweep"]
