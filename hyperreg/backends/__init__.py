"""Array backends: ``get_backend(name)`` gives the namespace, device, RNG, host transfer and sync.

>>> be = get_backend("numpy")
>>> x = be.rng(0).normal((3, 2))
>>> be.to_numpy(x).shape
(3, 2)
"""

from __future__ import annotations

from ._base import DTYPES, Backend, BackendRNG, MissingBackendError

BACKENDS = ("numpy", "cupy", "torch", "array_api_strict")


def get_backend(name: "str | Backend" = "numpy", device=None) -> Backend:
    """The backend called ``name``, placing arrays on ``device``.

    Parameters
    ----------
    name : {"numpy", "cupy", "torch", "array_api_strict"} or Backend
        A Backend is returned unchanged. ``"torch:cuda"`` / ``"array_api_strict:device1"`` name a device.
    device : optional
        Library-specific device: ``"cuda"`` or ``"cpu"`` for torch, a GPU id for cupy,
        ``"device1"`` for array_api_strict (its strict second device).

    Raises
    ------
    ValueError
        For an unknown name.
    MissingBackendError
        When the library is not installed; the message names the pip extra to install.
    """
    if isinstance(name, Backend):
        return name
    if not isinstance(name, str):
        raise TypeError(f"backend must be a name from {BACKENDS} or a Backend, got {type(name).__name__}")
    if ":" in name and device is None:
        name, device = name.split(":", 1)
    if name == "numpy":
        from ._numpy import NumpyBackend

        return NumpyBackend(device)
    if name == "array_api_strict":
        from ._numpy import ArrayAPIStrictBackend

        return ArrayAPIStrictBackend(device)
    if name == "torch":
        from ._torch import TorchBackend

        return TorchBackend(device)
    if name == "cupy":
        from ._cupy import CupyBackend

        return CupyBackend(device)
    raise ValueError(f"backend must be one of {BACKENDS}, got {name!r}")


def backend_of(x) -> Backend:
    """The backend whose arrays ``x`` is: its library, and the device ``x`` lives on.

    >>> backend_of(get_backend("numpy").asarray([1.0])).name
    'numpy'

    Raises
    ------
    TypeError
        When ``x`` is not an array of one of the BACKENDS.
    """
    import array_api_compat as compat

    if compat.is_numpy_array(x):
        return get_backend("numpy")
    if compat.is_torch_array(x):
        return get_backend("torch", x.device)
    if compat.is_cupy_array(x):
        return get_backend("cupy", x.device.id)
    try:
        strict = compat.is_array_api_strict_namespace(compat.array_namespace(x))
    except TypeError:
        strict = False
    if strict:
        return get_backend("array_api_strict", compat.device(x))
    raise TypeError(f"x must be an array of one of {BACKENDS}, got {type(x).__name__}")


def available_backends() -> list[str]:
    """Names of the backends whose library imports here (cupy also needs a visible GPU)."""
    names = []
    for name in BACKENDS:
        try:
            be = get_backend(name)
            be.rng(0).normal((1,))
        except Exception:  # noqa: BLE001 - any failure means "not usable here"
            continue
        names.append(name)
    return names


__all__ = [
    "BACKENDS", "DTYPES", "Backend", "BackendRNG", "MissingBackendError", "available_backends", "backend_of",
    "get_backend",
]
