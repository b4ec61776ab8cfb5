"""Validation at the API boundaries: every error names the argument, the expected, the received, the fix.

Each finiteness or range check reads a value back to the host (a device sync on a GPU), so the
checks run where data enters (problem construction, the tuner step, the CLI, the MLP's public
methods unless ``validate=False``) and never inside ``nn/`` or ``hypergrad/``.
"""

from __future__ import annotations

import math
import os

from array_api_compat import array_namespace, is_array_api_obj


class DivergenceError(FloatingPointError):
    """Training or tuning produced a non-finite value; says at which step and with which λ."""

    def __init__(self, message, step=None, lam=None, history=None):
        super().__init__(message)
        self.step, self.lam, self.history = step, lam, history


class StateTooLargeError(MemoryError):
    """A run's state would not fit in memory; raised before anything is allocated, with the size it needs."""


class ConvergenceWarning(UserWarning):
    """An iterative solver stopped before reaching its tolerance (the message gives the residual)."""


def require_array(x, name: str):
    if not is_array_api_obj(x):
        raise TypeError(
            f"{name} must be an array of the network's backend, got {type(x).__name__}; "
            "convert host data with backend.asarray(...)"
        )
    return array_namespace(x)


def check_shape(x, shape, name: str):
    """``shape`` may hold None for a free dimension."""
    require_array(x, name)
    ok = len(x.shape) == len(shape) and all(s is None or s == t for s, t in zip(shape, x.shape))
    if not ok:
        want = "(" + ", ".join("n" if s is None else str(s) for s in shape) + ")"
        raise ValueError(f"{name} must have shape {want}, got {tuple(x.shape)}")


def check_finite(x, name: str):
    xp = array_namespace(x)
    if not bool(xp.all(xp.isfinite(x))):  # host read: validation is a sync
        raise ValueError(f"{name} contains NaN or Inf; clean or impute the data first")


def check_float(x, dtype, name: str):
    xp = array_namespace(x)
    if x.dtype != dtype:
        raise TypeError(
            f"{name} must have dtype {dtype} (the network's dtype), got {x.dtype}; "
            f"cast with xp.astype({name}, ...) or build the network with a matching dtype"
        )
    return xp


def check_labels(y, n: int, n_classes: int, name: str = "y"):
    check_shape(y, (n,), name)
    xp = array_namespace(y)
    if not xp.isdtype(y.dtype, "integral"):
        raise TypeError(f"{name} must hold integer class labels, got dtype {y.dtype}")
    if n and (bool(xp.any(y < 0)) or bool(xp.any(y >= n_classes))):
        lo, hi = int(xp.min(y)), int(xp.max(y))
        raise ValueError(f"{name} must hold labels in [0, {n_classes - 1}], got values in [{lo}, {hi}]")


def check_positive_int(v, name: str):
    if isinstance(v, bool) or not isinstance(v, int) or v < 1:
        raise ValueError(f"{name} must be a positive integer, got {v!r}")
    return v


def check_scalar(v, name: str, low=None, high=None, low_open=False, high_open=False):
    """A finite real number within the given bounds (open or closed)."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {v!r}") from None
    if not math.isfinite(f):
        raise ValueError(f"{name} must be finite, got {f}")
    if low is not None and (f < low or (low_open and f == low)):
        raise ValueError(f"{name} must be {'>' if low_open else '≥'} {low}, got {f}")
    if high is not None and (f > high or (high_open and f == high)):
        raise ValueError(f"{name} must be {'<' if high_open else '≤'} {high}, got {f}")
    return f


def available_memory():
    """Bytes of host memory available now (psutil if installed, else /proc/meminfo's MemAvailable, else
    sysconf's free pages); None when none of them can tell."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        pass
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_fits(nbytes: int, what: str, fix: str, fraction: float = 0.8):
    """Raise ``StateTooLargeError`` when ``nbytes`` exceeds ``fraction`` of the available memory.

    Parameters
    ----------
    nbytes : int
        The size of what is about to be allocated.
    what : str
        What it is, e.g. "clip5's tangent Y (4 hyperparameters × 20 100 parameters × 8 bytes)".
    fix : str
        How to need less.
    """
    avail = available_memory()
    if avail is not None and nbytes > fraction * avail:
        raise StateTooLargeError(f"{what} needs {_gib(nbytes)}, but only {_gib(avail)} of memory is available; "
                                 f"{fix}")


def _gib(n):
    return f"{n / 2**30:.3g} GiB" if n >= 2**27 else f"{n / 2**20:.3g} MiB"
