"""What every backend provides: an array namespace, a device, a seeded RNG, host transfer, sync.

This is the only layer that knows which array library is in use.  The math above it takes its
namespace from its inputs (``array_api_compat.array_namespace``) and never draws random numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DTYPES = ("float32", "float64")


class MissingBackendError(ImportError):
    """The array library behind a backend is not installed."""


def _check_dtype(dtype: str) -> str:
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be one of {DTYPES}, got {dtype!r}")
    return dtype


@dataclass(eq=False)
class Backend:
    """An array library, the device arrays live on, and the calls that leave the math.

    Attributes
    ----------
    name : str
        ``"numpy"``, ``"cupy"``, ``"torch"`` or ``"array_api_strict"``.
    xp : module
        The array-API namespace (array-api-compat's wrapper where the library needs one).
    device : object
        Where new arrays are placed (``None`` for the library's default).
    """

    name: str
    xp: Any
    device: Any = None

    def dtype(self, dtype: str = "float64"):
        """The namespace's floating dtype object for ``"float32"`` or ``"float64"``."""
        return getattr(self.xp, _check_dtype(dtype))

    def asarray(self, x, dtype: str | None = None):
        """Copy host data (lists, NumPy arrays) onto this backend's device."""
        kwargs = {} if dtype is None else {"dtype": self.dtype(dtype)}
        return self.xp.asarray(x, device=self.device, **kwargs)

    def to_numpy(self, x):  # pragma: no cover - each backend overrides
        raise NotImplementedError

    def synchronize(self) -> None:
        """Wait until all queued device work has finished (no-op on CPU backends)."""

    def rng(self, seed: int | None = 0) -> "BackendRNG":  # pragma: no cover
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"Backend({self.name!r}, device={self.device!r})"


class BackendRNG:
    """A seeded random stream that makes arrays directly on a backend's device.

    Subclasses implement ``_normal``, ``_uniform``, ``_integers``, ``_permutation`` and the state pair;
    everything else derives from them.

    ``get_state()`` returns plain host data — a dict of str, int, float and host NumPy arrays — so a
    checkpoint can store it without pickling device objects; ``set_state(state)`` makes the stream continue
    exactly where ``get_state`` left it.
    """

    def __init__(self, backend: Backend):
        self.backend = backend

    def normal(self, shape, dtype: str = "float64"):
        """Standard-normal array of ``shape`` on the backend."""
        return self._normal(tuple(shape), _check_dtype(dtype))

    def uniform(self, shape, dtype: str = "float64"):
        """Uniform [0, 1) array of ``shape`` on the backend."""
        return self._uniform(tuple(shape), _check_dtype(dtype))

    def bernoulli(self, p, shape, dtype: str = "float64"):
        """0/1 array of ``shape`` with P(1) = ``p`` (a float or an array broadcastable to ``shape``)."""
        u = self.uniform(shape, dtype)
        return self.backend.xp.astype(u < p, self.backend.dtype(dtype))

    def integers(self, high: int, size: int):
        """``size`` integers drawn uniformly from [0, high), as an int64 array on the backend."""
        return self._integers(int(high), int(size))

    def permutation(self, n: int):
        """A random permutation of range(n), as an int64 array on the backend."""
        return self._permutation(int(n))

    def get_state(self) -> dict:  # pragma: no cover - each backend overrides
        """The stream's position as host data (str, int, float, host NumPy arrays); see the class docstring."""
        raise NotImplementedError

    def set_state(self, state: dict) -> None:  # pragma: no cover - each backend overrides
        """Continue the stream from ``state``, a value returned by ``get_state``."""
        raise NotImplementedError


def check_state(state, generator: str) -> dict:
    """``state`` if it is a dict saved by a ``generator`` stream, else a ValueError that says what it got."""
    got = state.get("bit_generator") if isinstance(state, dict) else type(state).__name__
    if got != generator:
        raise ValueError(f"RNG state must come from get_state() of a {generator} stream, got one from {got!r}: "
                         "resume on the backend that wrote the checkpoint")
    return state
