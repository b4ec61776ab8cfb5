"""CuPy backend (NVIDIA GPUs) through array-api-compat's cupy namespace."""

from __future__ import annotations

import numpy as np

from ._base import Backend, BackendRNG, MissingBackendError, check_state


class CupyRNG(BackendRNG):
    """``cupy.random.Generator``: draws are made on the GPU."""

    def __init__(self, backend: "CupyBackend", seed):
        super().__init__(backend)
        self.cp = backend.cp
        with self.cp.cuda.Device(backend.device_id):
            self.gen = self.cp.random.default_rng(seed)

    def _normal(self, shape, dtype):
        return self.gen.standard_normal(shape, dtype=dtype)

    def _uniform(self, shape, dtype):
        return self.gen.random(shape, dtype=dtype)

    def _integers(self, high, size):
        return self.gen.integers(0, high, size=size, dtype=self.cp.int64)

    def _permutation(self, n):
        # cupy.random.Generator has no permutation(): the order of n uniforms is a uniform permutation
        return self.cp.argsort(self.gen.random(n)).astype(self.cp.int64)

    # CuPy's Generator keeps its whole position in the BitGenerator's device buffer of cuRAND states (one per
    # thread; ``_state``, an int8 array). CuPy has no public state API (numpy's ``bit_generator.state`` has no
    # CuPy twin), so the buffer is copied out and back in place. Untested on a GPU here: see test_backends.py.
    def get_state(self) -> dict:
        """``{"bit_generator": "cupy.XORWOW", "state": int8 host array}``: the cuRAND states, on the host."""
        bits = self.gen.bit_generator
        with self.cp.cuda.Device(self.backend.device_id):
            return {"bit_generator": f"cupy.{type(bits).__name__}", "state": self.cp.asnumpy(bits._state)}

    def set_state(self, state: dict) -> None:
        bits = self.gen.bit_generator
        state = check_state(state, f"cupy.{type(bits).__name__}")
        saved = np.asarray(state["state"], dtype=np.int8)
        if tuple(saved.shape) != tuple(bits._state.shape):
            raise ValueError(f"RNG state holds {saved.shape[0]} bytes of cuRAND states, this generator "
                             f"{bits._state.shape[0]}: resume with the CuPy version that wrote the checkpoint")
        with self.cp.cuda.Device(self.backend.device_id):
            bits._state[...] = self.cp.asarray(saved)  # in place: kernels read the buffer by pointer


class CupyBackend(Backend):
    def __init__(self, device=None):
        try:
            import cupy as cp
            from array_api_compat import cupy as xp
        except ImportError as exc:  # pragma: no cover - needs a GPU machine
            raise MissingBackendError(
                "backend 'cupy' needs CuPy and a CUDA GPU: pip install 'hyperreg[gpu]' "
                "(cupy-cuda12x or cupy-cuda13x, matching your CUDA driver)"
            ) from exc
        self.cp = cp
        self.device_id = 0 if device is None else int(getattr(device, "id", device))
        super().__init__("cupy", xp, cp.cuda.Device(self.device_id))

    def to_numpy(self, x):
        return self.cp.asnumpy(x)  # passes host arrays through

    def asarray(self, x, dtype=None):
        with self.device:
            return self.xp.asarray(x, **({} if dtype is None else {"dtype": self.dtype(dtype)}))

    def synchronize(self) -> None:
        self.device.synchronize()

    def rng(self, seed=0):
        return CupyRNG(self, seed)
