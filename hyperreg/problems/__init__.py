"""Problems: objects exposing the training/validation primitives the estimators use."""

from .base import Deterministic, Point, Problem, TrainPointLike
from .classification import MLPProblem, MLPSample
from .kernel_ridge import KernelRidge
from .logistic import Logistic
from .quadratic import Quadratic
from .ridge import Ridge

__all__ = ["Deterministic", "KernelRidge", "Logistic", "MLPProblem", "MLPSample", "Point", "Problem", "Quadratic",
           "Ridge", "TrainPointLike"]
