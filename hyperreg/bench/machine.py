"""The machine a run was measured on (CPU, cores, BLAS and its threads, GPU, versions, load), and the
thread limits a run sets (BLAS through threadpoolctl, PyTorch's intra-op pool through its own call)."""

from __future__ import annotations

import contextlib
import importlib
import os
import platform
import time
from pathlib import Path


def _optional(module):
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def _cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _blas():
    out = {}
    try:
        import numpy as np

        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        out["numpy_blas"] = f"{cfg.get('name')} {cfg.get('version')}".strip()
    except Exception:  # noqa: BLE001 - older NumPy
        pass
    try:
        from threadpoolctl import threadpool_info

        out["threadpools"] = [{k: i.get(k) for k in ("internal_api", "version", "num_threads",
                                                     "architecture")} for i in threadpool_info()]
    except ImportError:
        pass
    return out


@contextlib.contextmanager
def _torch_threads(n):
    from .peer_torch import import_torch

    torch = import_torch()
    before = torch.get_num_threads()
    torch.set_num_threads(int(n))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def blas_threads(n=None, torch=False):
    """A context limiting the BLAS threads to ``n`` (threadpoolctl), and PyTorch's threads too when
    ``torch`` (the peer or the torch backend runs); does nothing for None. On a shared CPU a busy core
    stalls a multi-threaded BLAS: ``n = 1`` then gives steadier numbers."""
    if n is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError as exc:
        raise ValueError("--threads needs threadpoolctl: pip install threadpoolctl") from exc
    stack = contextlib.ExitStack()
    stack.enter_context(threadpool_limits(int(n)))
    if torch:
        stack.enter_context(_torch_threads(n))
    return stack


# OpenBLAS keeps its idle workers spinning for a while after each call (2^timeout cycles). Timed beside
# PyTorch in one process on a small machine, NumPy's spinning workers took the cores from PyTorch's calls:
# PyTorch's plain step on size B measured 21.6 ms with the default and 10.2 ms with a timeout of 4, while
# NumPy's own was 12.75 and 12.66 ms (same commit, 2 threads). The bench runs with the short timeout; it
# is read when OpenBLAS loads, so the program sets it and starts again (``spin_env_missing``).
SPIN_ENV = {"OPENBLAS_THREAD_TIMEOUT": "4"}
ENV_RECORDED = ("OPENBLAS_THREAD_TIMEOUT", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "OMP_WAIT_POLICY")


def spin_env_missing():
    """The ``SPIN_ENV`` entries the environment lacks (empty: nothing to set)."""
    return {k: v for k, v in SPIN_ENV.items() if k not in os.environ}


def machine_info(backend=None):
    """CPU model, cores, BLAS, GPU name, library versions, load average: what a saved run records."""
    info = {"date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "cpu": _cpu_model(), "cores": os.cpu_count(),
            "platform": platform.platform(), "python": platform.python_version()}
    if hasattr(os, "getloadavg"):
        info["loadavg_1_5_15min"] = [round(x, 2) for x in os.getloadavg()]
    info.update(_blas())
    info["env"] = {k: os.environ[k] for k in ENV_RECORDED if k in os.environ}
    versions = {}
    for mod in ("numpy", "scipy", "array_api_compat", "torch", "cupy", "hyperreg"):
        m = _optional(mod) if mod != "cupy" or getattr(backend, "name", None) == "cupy" else None
        if m is not None:
            versions[mod] = getattr(m, "__version__", "?")
    info["versions"] = versions
    torch = _optional("torch")
    if torch is not None:
        info["torch_threads"] = torch.get_num_threads()
    name = getattr(backend, "name", None)
    if name == "cupy":
        props = backend.cp.cuda.runtime.getDeviceProperties(backend.device_id)
        info["gpu"] = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        info["cuda_runtime"] = backend.cp.cuda.runtime.runtimeGetVersion()
    elif name == "torch" and backend.device.type == "cuda":
        info["gpu"] = backend.torch.cuda.get_device_name(backend.device)
        info["cuda_runtime"] = backend.torch.version.cuda
    if name is not None:
        info["backend"], info["device"] = name, str(backend.device)
    return info
