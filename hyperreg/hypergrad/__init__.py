"""Hypergradient estimators, each a few lines over the problem primitives."""

from .greedy import greedy, unroll1_gtgv

__all__ = ["greedy", "unroll1_gtgv"]
