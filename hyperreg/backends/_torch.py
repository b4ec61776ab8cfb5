"""PyTorch backend (CPU or CUDA) through array-api-compat's torch namespace."""

from __future__ import annotations

from ._base import Backend, BackendRNG, MissingBackendError, check_state

_DTYPE = {"float32": "float32", "float64": "float64"}


def _import_torch():
    try:
        import torch
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise MissingBackendError(
            "backend 'torch' needs PyTorch: pip install 'hyperreg[torch]' "
            "(on a CPU-only machine pin the CPU wheel, e.g. torch==2.13.0)"
        ) from exc
    return torch


class TorchRNG(BackendRNG):
    """``torch.Generator`` on the backend's device: draws never leave the device."""

    def __init__(self, backend: "TorchBackend", seed):
        super().__init__(backend)
        torch = backend.torch
        self.gen = torch.Generator(device=backend.device)
        self.gen.manual_seed(0 if seed is None else int(seed))

    def _kw(self, dtype):
        return {"generator": self.gen, "device": self.backend.device,
                "dtype": getattr(self.backend.torch, _DTYPE[dtype])}

    def _normal(self, shape, dtype):
        return self.backend.torch.randn(shape, **self._kw(dtype))

    def _uniform(self, shape, dtype):
        return self.backend.torch.rand(shape, **self._kw(dtype))

    def _integers(self, high, size):
        t = self.backend.torch
        return t.randint(0, high, (size,), generator=self.gen, device=self.backend.device, dtype=t.int64)

    def _permutation(self, n):
        t = self.backend.torch
        return t.randperm(n, generator=self.gen, device=self.backend.device, dtype=t.int64)

    def get_state(self) -> dict:
        """``{"bit_generator": "torch.Generator", "device": str, "state": uint8 host array}``: the
        generator's byte state (a CPU tensor even for a CUDA generator), copied to NumPy."""
        import numpy as np

        return {"bit_generator": "torch.Generator", "device": str(self.backend.device),
                "state": np.array(self.gen.get_state().numpy(), copy=True)}

    def set_state(self, state) -> None:
        import numpy as np

        torch = self.backend.torch
        if isinstance(state, torch.Tensor):  # checkpoints written before get_state returned host data
            self.gen.set_state(state)
            return
        state = check_state(state, "torch.Generator")
        self.gen.set_state(torch.from_numpy(np.array(state["state"], dtype=np.uint8, copy=True)))


class TorchBackend(Backend):
    def __init__(self, device=None):
        torch = _import_torch()
        from array_api_compat import torch as xp

        self.torch = torch
        super().__init__("torch", xp, torch.device("cpu" if device is None else device))

    def to_numpy(self, x):
        if not isinstance(x, self.torch.Tensor):  # already host data
            import numpy as np

            return np.asarray(x)
        return x.detach().cpu().numpy()

    def synchronize(self) -> None:
        if self.device.type == "cuda":
            self.torch.cuda.synchronize(self.device)

    def rng(self, seed=0):
        return TorchRNG(self, seed)
