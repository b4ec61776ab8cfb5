"""hyperreg: tune continuous regularization hyperparameters by gradient, during one training run."""

from . import backends, hypergrad
from ._checks import ConvergenceWarning, DivergenceError
from .backends import get_backend
from .mlp import MLP, Noise

__version__ = "0.1.0"

__all__ = ["MLP", "ConvergenceWarning", "DivergenceError", "Noise", "backends", "get_backend", "hypergrad"]
