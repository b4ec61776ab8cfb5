"""Problems: objects exposing the training/validation primitives the estimators use."""

from .base import Problem, TrainPointLike
from .classification import MLPProblem, MLPSample
from .kernel_ridge import KernelRidge
from .logistic import Logistic
from .quadratic import Quadratic
from .ridge import Ridge

__all__ = ["KernelRidge", "Logistic", "MLPProblem", "MLPSample", "Problem", "Quadratic", "Ridge",
           "TrainPointLike"]
