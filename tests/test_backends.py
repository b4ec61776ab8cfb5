"""Backends: namespace, seeded RNG on the device, host transfer, clear errors for missing libraries."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from hyperreg.backends import MissingBackendError, backend_of, get_backend


def test_rng_is_seeded_and_on_the_backend(backend):
    a, b = backend.rng(7).normal((50, 3)), backend.rng(7).normal((50, 3))
    np.testing.assert_array_equal(backend.to_numpy(a), backend.to_numpy(b))
    assert not np.array_equal(backend.to_numpy(a), backend.to_numpy(backend.rng(8).normal((50, 3))))
    assert a.shape == (50, 3) and a.dtype == backend.dtype("float64")
    assert backend.rng(0).uniform((4,), "float32").dtype == backend.dtype("float32")


def test_rng_distributions(backend):
    rng = backend.rng(1)
    n = 20000
    x = backend.to_numpy(rng.normal((n,)))
    u = backend.to_numpy(rng.uniform((n,)))
    m = backend.to_numpy(rng.bernoulli(0.3, (n,)))
    assert abs(x.mean()) < 0.05 and abs(x.std() - 1) < 0.05
    assert 0 <= u.min() and u.max() < 1 and abs(u.mean() - 0.5) < 0.02
    assert set(np.unique(m)) <= {0.0, 1.0} and abs(m.mean() - 0.3) < 0.02
    idx = backend.to_numpy(rng.integers(10, 1000))
    assert idx.min() >= 0 and idx.max() < 10
    assert sorted(backend.to_numpy(rng.permutation(12)).tolist()) == list(range(12))


def test_asarray_and_to_numpy_roundtrip(backend):
    x = backend.asarray([[1.0, 2.0], [3.0, 4.0]], dtype="float32")
    assert x.dtype == backend.dtype("float32")
    np.testing.assert_array_equal(backend.to_numpy(x), [[1, 2], [3, 4]])
    backend.synchronize()


def test_strict_backend_lives_on_its_second_device():
    be = get_backend("array_api_strict", "device1")
    assert be.rng(0).normal((2,)).device == be.device
    assert get_backend("array_api_strict:device1").device == be.device


def test_missing_library_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # import cupy now raises ImportError
    with pytest.raises(MissingBackendError, match=r"hyperreg\[gpu\]"):
        get_backend("cupy")
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(MissingBackendError, match=r"hyperreg\[torch\]"):
        get_backend("torch")


def test_unknown_names_and_dtypes():
    with pytest.raises(ValueError, match="backend must be one of"):
        get_backend("mxnet")
    with pytest.raises(TypeError):
        get_backend(3)
    with pytest.raises(ValueError, match="dtype"):
        get_backend("numpy").dtype("float16")


def _host_data(state) -> bool:
    """Plain host data a pickle-free checkpoint can store: str, int, float, None, host NumPy arrays."""
    if isinstance(state, dict):
        return all(isinstance(k, str) and _host_data(v) for k, v in state.items())
    if isinstance(state, (list, tuple)):
        return all(_host_data(v) for v in state)
    return state is None or isinstance(state, (str, int, float, np.ndarray))


def test_rng_state_is_host_data_and_resumes_the_stream(backend):
    """get_state → host data; set_state on a fresh stream (other seed) continues exactly there.
    Runs on cupy where a GPU is visible (the fixture skips it otherwise): untested on a GPU so far."""
    rng = backend.rng(3)
    rng.normal((5,))
    state = rng.get_state()
    assert _host_data(state), f"{backend.name} RNG state is not plain host data: {state!r}"
    want = [backend.to_numpy(rng.normal((7, 2))), backend.to_numpy(rng.permutation(9))]
    other = backend.rng(99)
    other.set_state(state)
    got = [backend.to_numpy(other.normal((7, 2))), backend.to_numpy(other.permutation(9))]
    for a, b in zip(got, want):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(backend.to_numpy(backend.rng(99).normal((7, 2))), want[0])  # the state mattered


def test_rng_state_from_another_backend_is_refused(backend):
    foreign = {"bit_generator": "Philox", "state": {}}
    with pytest.raises(ValueError, match="RNG state must come from get_state"):
        backend.rng(0).set_state(foreign)


def test_backend_of_names_the_library_and_device(backend):
    x = backend.rng(0).normal((2,))
    found = backend_of(x)
    assert found.name == backend.name and str(found.device) == str(backend.device)
    np.testing.assert_array_equal(found.to_numpy(x), backend.to_numpy(x))
    with pytest.raises(TypeError, match="x must be an array"):
        backend_of([1.0, 2.0])
