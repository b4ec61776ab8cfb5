"""hyperreg: tune continuous regularization hyperparameters by gradient, during one training run."""

from . import backends, data, hypergrad, nn, optim, problems, schedules, tuner
from ._checks import ConvergenceWarning, DivergenceError
from .backends import get_backend
from .mlp import MLP, Noise
from .net import Net
from .tuner import Tuner

__version__ = "0.1.0"

__all__ = [
    "MLP", "ConvergenceWarning", "Net", "DivergenceError", "Noise", "Tuner", "backends", "data", "get_backend",
    "hypergrad", "nn", "optim", "problems", "schedules", "tuner",
]
