"""Problems: objects exposing the training/validation primitives the estimators use."""

from .base import Problem, TrainPointLike
from .classification import MLPProblem, MLPSample

__all__ = ["MLPProblem", "MLPSample", "Problem", "TrainPointLike"]
