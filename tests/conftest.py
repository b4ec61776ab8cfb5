"""Shared fixtures: every derivative test runs on each available backend.

- numpy;
- array_api_strict on its second device ("device1"): refuses a forgotten ``device=``, stray NumPy
  calls and non-standard functions — how a CPU-only CI proves the CuPy path stays possible;
- torch on the CPU (catches float32 defaults), when installed;
- cupy, when a GPU is visible.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import HealthCheck, settings

from hyperreg.backends import get_backend

settings.register_profile(
    "default", max_examples=int(os.environ.get("HYPERREG_EXAMPLES", "20")), deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.differing_executors],
    derandomize=True, print_blob=True,
)
settings.load_profile("default")

# HYPERREG_TORCH_DEVICE=cuda runs the torch leg on a GPU instead of the CPU.
BACKEND_SPECS = [("numpy", None), ("array_api_strict", "device1"),
                 ("torch", os.environ.get("HYPERREG_TORCH_DEVICE", "cpu")), ("cupy", None)]


def _make(spec):
    name, device = spec
    try:
        be = get_backend(name, device)
        be.rng(0).normal((1,))
    except Exception as exc:  # noqa: BLE001
        pytest.skip(f"backend {name} unavailable here: {exc}")
    return be


@pytest.fixture(scope="session", params=BACKEND_SPECS, ids=[s[0] for s in BACKEND_SPECS])
def backend(request):
    """Each backend in turn (session-scoped: Hypothesis rejects function-scoped fixtures)."""
    return _make(request.param)


@pytest.fixture
def one_blas_thread():
    """One BLAS thread for the test (whole-run tests: the machine is shared, and threads beyond one only
    oversubscribe its cores). A module asks for it with ``pytestmark = pytest.mark.usefixtures(...)``."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield


@pytest.fixture(scope="session")
def numpy_backend():
    return get_backend("numpy")
