"""Problems: objects exposing the training/validation primitives the estimators use."""

from .base import Problem, TrainPointLike

__all__ = ["Problem", "TrainPointLike"]
