"""hyperreg.testing: the stencil is fourth-order, the checks fail on a wrong derivative, None and tuples work."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hyperreg.backends import backend_of
from hyperreg.testing import (
    TOL,
    check_jvp,
    check_layer,
    check_vjp,
    directional,
    host,
    norm,
    random_direction,
)


@given(seed=st.integers(0, 2**16), n=st.integers(1, 6))
def test_directional_is_fourth_order_and_steps_h_along_the_unit_direction(backend, seed, n):
    """The stencil differentiates a quartic exactly (up to round-off); it steps h along ŵ, so a long w costs
    no accuracy on sin (a step of h‖w‖ ≈ 0.1–0.25 here would leave a truncation error ~1e-5)."""
    xp, rng = backend.xp, backend.rng(seed)
    x, w = rng.normal((n,)), rng.normal((n,))
    want = host(backend, (4 * x ** 3 - 6 * x ** 2) * w)
    got = directional(lambda x: x ** 4 - 2 * x ** 3, x, w)
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * (np.abs(want).max() + 1))
    w = 1e3 * w / norm(backend, w)
    want = host(backend, xp.cos(x) * w)
    np.testing.assert_allclose(directional(xp.sin, x, w), want, rtol=0, atol=1e-9 * np.abs(want).max())


@given(seed=st.integers(0, 2**16))
def test_checks_pass_right_derivatives_and_fail_wrong_ones(backend, seed):
    xp, rng = backend.xp, backend.rng(seed)
    x, w, v = rng.normal((4, 3)), rng.normal((4, 3)), rng.normal((4, 3))
    assert check_jvp(xp.sin, x, w, xp.cos(x) * w) < TOL
    assert check_vjp(xp.sin, x, v, xp.cos(x) * v, w) < TOL
    with pytest.raises(AssertionError, match="jvp: error"):
        check_jvp(xp.sin, x, w, xp.cos(x) * w * (1 + 1e-4))
    with pytest.raises(AssertionError, match="vjp: error"):
        check_vjp(xp.sin, x, v, -xp.sin(x) * v, w)


def test_none_parts_are_unperturbed_inputs_and_zero_results(numpy_backend):
    """f(h, c) = (h c, c): a None direction in c leaves it fixed; a None result is compared as zeros."""
    rng = numpy_backend.rng(0)
    x, Rh = (rng.normal((3, 2)), rng.normal((2,))), rng.normal((3, 2))

    def f(x):
        return x[0] * x[1], x[1]

    assert check_jvp(f, x, (Rh, None), (Rh * x[1], None)) < TOL
    with pytest.raises(AssertionError):
        check_jvp(f, x, (Rh, rng.normal((2,))), (Rh * x[1], None))
    assert norm(None, (None, x[1])) == pytest.approx(float(np.linalg.norm(x[1])))


def test_an_unbroadcast_r_value_is_compared_broadcast(numpy_backend):
    """a = h + b seeded in b alone: Ra = Rb has b's shape, the finite difference has a's."""
    rng = numpy_backend.rng(1)
    x, Rb = (rng.normal((4, 3)), rng.normal((3,))), rng.normal((3,))
    assert check_jvp(lambda x: x[0] + x[1], x, (None, Rb), Rb) < TOL
    with pytest.raises(ValueError, match="broadcastable"):
        check_jvp(lambda x: x[0] + x[1], x, (None, Rb), rng.normal((2,)))


def test_check_layer_reports_each_pass_and_needs_backward_for_rbackward(backend):
    xp, rng = backend.xp, backend.rng(2)
    x, v = (rng.normal((5, 2)),), rng.normal((5, 2))

    def backward(x, g):
        return (xp.exp(x[0]) * g,)

    errors = check_layer(lambda x: xp.exp(x[0]), x, v, backward, lambda x, w: xp.exp(x[0]) * w[0],
                         lambda x, g, w, Rg: (xp.exp(x[0]) * (w[0] * g + Rg),), seed=7)
    assert sorted(errors) == ["backward", "rbackward", "rforward"] and max(errors.values()) < TOL
    with pytest.raises(ValueError, match="pass backward too"):
        check_layer(lambda x: xp.exp(x[0]), x, v, rbackward=lambda x, g, w, Rg: (Rg,))


def test_random_direction_lives_on_the_backend_of_its_template(backend):
    x = (backend.rng(0).normal((3, 2)), backend.rng(1).normal((4,)))
    w = random_direction(x, seed=5)
    assert [tuple(a.shape) for a in w] == [(3, 2), (4,)] and backend_of(w[0]).name == backend.name
    np.testing.assert_array_equal(host(backend, w[1]), host(backend, random_direction(x, seed=5)[1]))
