"""NumPy backend (the default), and array_api_strict, which borrows NumPy's generator."""

from __future__ import annotations

import numpy as np

from ._base import Backend, BackendRNG, MissingBackendError, check_state


class NumpyRNG(BackendRNG):
    """``numpy.random.Generator`` (PCG64), results placed on the backend with ``asarray``."""

    def __init__(self, backend: Backend, seed):
        super().__init__(backend)
        self.gen = np.random.default_rng(seed)

    def _put(self, a):
        return self.backend.xp.asarray(a, device=self.backend.device)

    def _normal(self, shape, dtype):
        return self._put(self.gen.standard_normal(shape, dtype=dtype))

    def _uniform(self, shape, dtype):
        return self._put(self.gen.random(shape, dtype=dtype))

    def _integers(self, high, size):
        return self._put(self.gen.integers(0, high, size=size, dtype=np.int64))

    def _permutation(self, n):
        return self._put(self.gen.permutation(n).astype(np.int64))

    def get_state(self) -> dict:
        """NumPy's own state dict: ``{"bit_generator": "PCG64", "state": {"state": int, "inc": int}, …}``,
        JSON-able (its two ints are 128-bit)."""
        return self.gen.bit_generator.state

    def set_state(self, state: dict) -> None:
        self.gen.bit_generator.state = check_state(state, "PCG64")


class NumpyBackend(Backend):
    def __init__(self, device=None):
        from array_api_compat import numpy as xp

        super().__init__("numpy", xp, device)

    def to_numpy(self, x):
        return np.asarray(x)

    def rng(self, seed=0):
        return NumpyRNG(self, seed)


class ArrayAPIStrictBackend(Backend):
    """The strict reference namespace: refuses non-standard calls, and on ``device="device1"``
    refuses arrays created without ``device=`` — how a CPU-only CI keeps the CuPy path honest."""

    def __init__(self, device=None):
        try:
            import array_api_strict as xp
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise MissingBackendError(
                "backend 'array_api_strict' needs the array-api-strict package: "
                "pip install 'hyperreg[test]'"
            ) from exc
        if isinstance(device, str):
            device = xp.Device(device)
        super().__init__("array_api_strict", xp, device)

    def to_numpy(self, x):
        # A host copy through the buffer protocol is not part of the standard: go via the CPU device.
        if isinstance(x, (np.ndarray, np.generic, float, int)):
            return np.asarray(x)
        return np.asarray(x.to_device(self.xp.Device("CPU_DEVICE")))

    def rng(self, seed=0):
        return NumpyRNG(self, seed)
