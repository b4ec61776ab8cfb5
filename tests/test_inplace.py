"""``backends/inplace.py``: the in-place operations give the standard expressions' values on every backend.

axpy and step are rounded exactly as y + a·x (NumPy's run chunk by chunk, so sizes around ``CHUNK`` are
drawn), except torch's axpy, a fused multiply-add (within an ulp); rowdot is the standard's vecdot over the
last axis. The arrays not written are left untouched.
"""

from __future__ import annotations

import numpy as np
import pytest
from fd import host
from hypothesis import given
from hypothesis import strategies as st

from hyperreg.backends.inplace import CHUNK, ops

SIZES = st.sampled_from([1, 7, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 7])


def _pair(backend, n, seed):
    rng = backend.rng(seed)
    return rng.normal((n,)), rng.normal((n,))


@given(n=SIZES, seed=st.integers(0, 2**16), scalar=st.sampled_from(["float", "0-d"]))
def test_axpy_is_y_plus_a_x_bit_for_bit(backend, n, seed, scalar):
    x, y = _pair(backend, n, seed)
    a = -0.37 if scalar == "float" else backend.asarray(-0.37, dtype="float64")
    want, x_host = host(backend, y + a * x), host(backend, x)
    got = ops(backend.xp).axpy(y, a, x)
    if backend.name == "torch":  # add_(x, alpha=a) / addcmul_: one rounding, not two
        np.testing.assert_allclose(host(backend, got), want, rtol=4e-16, atol=4e-16 * np.max(np.abs(want)))
    else:
        np.testing.assert_array_equal(host(backend, got), want)
    np.testing.assert_array_equal(host(backend, x), x_host)


@given(n=SIZES, seed=st.integers(0, 2**16), into=st.sampled_from(["spare", "x"]))
def test_step_is_x_plus_a_y_bit_for_bit(backend, n, seed, into):
    x, y = _pair(backend, n, seed)
    want, y_host = host(backend, x + (-0.05) * y), host(backend, y)
    out = x if into == "x" else y * 0.0
    got = ops(backend.xp).step(out, x, -0.05, y)
    np.testing.assert_array_equal(host(backend, got), want)
    np.testing.assert_array_equal(host(backend, y), y_host)


def test_step_on_non_contiguous_views_matches(numpy_backend):
    xp, rng = numpy_backend.xp, numpy_backend.rng(0)
    x, y = rng.normal((2 * CHUNK + 3, 2)), rng.normal((2 * CHUNK + 3, 2))
    out = xp.zeros_like(x)
    got = ops(xp).step(out[:, 0], x[:, 0], 0.5, y[:, 0])
    np.testing.assert_array_equal(got, x[:, 0] + 0.5 * y[:, 0])


@pytest.mark.parametrize("shape", [(5,), (3, 11), (2, 3, 7)])
def test_rowdot_is_vecdot_over_the_last_axis(backend, shape):
    rng = backend.rng(1)
    a, b = rng.normal(shape), rng.normal(shape)
    want = np.sum(host(backend, a) * host(backend, b), axis=-1)
    got = ops(backend.xp).rowdot(a, b)
    assert tuple(got.shape) == shape[:-1]
    np.testing.assert_allclose(host(backend, got), want, rtol=1e-13, atol=1e-13)
