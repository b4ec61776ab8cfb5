"""The hand-written network: layer objects with their four passes, the flat parameter layout, one sweep driver."""

from . import layers, sweep
from .activation import Activation
from .batchnorm import BatchNorm
from .conv import Conv
from .dense import Dense
from .params import ParamLayout
from .pool import AvgPool, Flatten, MaxPool

__all__ = ["Activation", "AvgPool", "BatchNorm", "Conv", "Dense", "Flatten", "MaxPool", "ParamLayout", "layers",
           "sweep"]
