"""The layer objects' uniform four passes (what the sweep driver calls) against finite differences, and the
driver's in-place path (gradients written into a flat buffer's views) against its fresh-array path."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hyperreg.nn import Activation, BatchNorm, Dense
from hyperreg.nn.params import ParamLayout
from hyperreg.testing import check_layer, host

LAYERS = {"dense": lambda d: Dense(3), "tanh": lambda d: Activation("tanh"), "bn": lambda d: BatchNorm()}


def _passes(xp, layer):
    """The object's passes as functions of x = (h, *P), in the form ``check_layer`` takes."""

    def forward(x):
        return layer.forward(xp, x[0], x[1:])[0]

    def backward(x, g_out):
        _, cache = layer.forward(xp, x[0], x[1:])
        g_P, g_in = layer.backward(xp, cache, x[1:], g_out, True)
        return (g_in, *g_P)

    def rforward(x, w):
        _, cache = layer.forward(xp, x[0], x[1:])
        return layer.rforward(xp, cache, x[1:], w[0], w[1:])[0]

    def rbackward(x, g_out, w, Rg_out):
        _, cache = layer.forward(xp, x[0], x[1:])
        _, Rcache = layer.rforward(xp, cache, x[1:], w[0], w[1:])
        Rg_P, Rg_in = layer.rbackward(xp, cache, x[1:], g_out, Rcache, w[0], w[1:], Rg_out, True, True)
        return (Rg_in, *Rg_P)

    return forward, backward, rforward, rbackward


@given(kind=st.sampled_from(sorted(LAYERS)), n=st.integers(2, 6), d=st.integers(1, 5), seed=st.integers(0, 2**20))
def test_layer_objects_four_passes_match_finite_differences(backend, kind, n, d, seed):
    xp, rng = backend.xp, backend.rng(seed)
    layer = LAYERS[kind](d)
    h = rng.normal((n, d)) * 1.5
    P = tuple(rng.normal(s) for s in layer.param_shapes((d,)))
    x = (h, *P)
    out = layer.forward(xp, h, P)[0]
    forward, backward, rforward, rbackward = _passes(xp, layer)
    check_layer(forward, x, rng.normal(tuple(out.shape)), backward=backward, rforward=rforward,
                rbackward=rbackward, seed=seed)


def test_in_place_buffers_equal_fresh_arrays(numpy_backend):
    """Dense's backward and R-backward written into views of one buffer give the arrays the standard path
    returns (the views themselves are returned, so nothing is copied)."""
    be = numpy_backend
    xp, rng = be.xp, be.rng(0)
    layer = Dense(4)
    layout = ParamLayout([layer], [layer.param_shapes((3,))])
    h, W, b = rng.normal((5, 3)), rng.normal((3, 4)), rng.normal((4,))
    g_a, Rh, RW, Rg_a = rng.normal((5, 4)), rng.normal((5, 3)), rng.normal((3, 4)), rng.normal((5, 4))
    flat = xp.full((layout.size,), np.nan)
    (out,) = layout.views(flat)
    got, _ = layer.backward(xp, h, (W, b), g_a, True, out=out)
    want, _ = layer.backward(xp, h, (W, b), g_a, True)
    assert all(g is o for g, o in zip(got, out))
    for g, w in zip(got, want):
        np.testing.assert_array_equal(host(be, g), host(be, w))
    got, _ = layer.rbackward(xp, h, (W, b), g_a, None, Rh, (RW, None), Rg_a, True, True, out=out)
    want, _ = layer.rbackward(xp, h, (W, b), g_a, None, Rh, (RW, None), Rg_a, True, True)
    for g, w in zip(got, want):
        np.testing.assert_allclose(host(be, g), host(be, w), rtol=1e-13, atol=1e-13)


@pytest.mark.parametrize("shape", [(0,), (2, 0)])
def test_dense_refuses_a_bad_width(shape):
    with pytest.raises(ValueError, match="positive integer width"):
        Dense(shape[-1])
