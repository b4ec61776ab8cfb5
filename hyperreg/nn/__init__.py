"""The hand-written network: per-layer forward, backward, R-forward, R-backward, and one sweep driver."""

from . import layers, sweep

__all__ = ["layers", "sweep"]
