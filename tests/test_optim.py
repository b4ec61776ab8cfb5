"""Optimizers, schedules and hyperparameter parametrizations on flat arrays."""

from __future__ import annotations

import numpy as np
import pytest
from fd import assert_close, central, host, norm
from hypothesis import given
from hypothesis import strategies as st

from hyperreg.optim import (
    SGD,
    Adam,
    Annealed,
    Constant,
    Exponential,
    Momentum,
    Parametrization,
    StepDecay,
    as_schedule,
    hyper_adam,
    make_optimizer,
)


def test_schedules_values():
    assert Constant(0.1)(1000) == 0.1
    assert [StepDecay(1.0, every=10, factor=0.5)(t) for t in (0, 9, 10, 25)] == [1.0, 1.0, 0.5, 0.25]
    assert Exponential(2.0, 0.5)(3) == pytest.approx(0.25)
    a = Annealed(1.0, start=10, end=20, final=0.1)
    assert [a(t) for t in (0, 10, 15, 20, 100)] == pytest.approx([1.0, 1.0, 0.55, 0.1, 0.1])
    with pytest.raises(ValueError, match="lr must be ≥ 0"):
        as_schedule(-1.0)


def test_optimizer_steps_follow_their_equations(backend):
    xp = backend.xp
    x, g = backend.asarray([1.0, -2.0], dtype="float64"), backend.asarray([0.5, 0.25], dtype="float64")
    x1, _ = SGD(0.1).step(x, g, SGD(0.1).init(x), 0)
    np.testing.assert_allclose(host(backend, x1), [0.95, -2.025])
    m = Momentum(0.1, mu=0.9)
    x1, s = m.step(x, g, m.init(x), 0)
    x2, _ = m.step(x1, g, s, 1)  # v₂ = 0.9 g + g
    np.testing.assert_allclose(host(backend, x2), host(backend, x - 0.1 * g - 0.1 * 1.9 * g))
    adam = Adam(0.01)
    x1, _ = adam.step(x, g, adam.init(x), 0)  # first bias-corrected step: −lr · sign(g)
    np.testing.assert_allclose(host(backend, x1), host(backend, x - 0.01 * xp.sign(g)), rtol=1e-6)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        make_optimizer("rmsprop", 0.1)


@given(seed=st.integers(0, 2**16), scale=st.sampled_from([1e-14, 1e-9, 1.0, 1e6]))
def test_hyper_adam_steps_do_not_depend_on_the_gradient_scale(backend, seed, scale):
    """ε = 0: the path from c·g is the path from g for any c > 0 (with ε = 1e-8, tiny c stalls it)."""
    rng = backend.rng(seed)
    x0 = rng.normal((3,), "float64")
    grads = [rng.normal((3,), "float64") for _ in range(5)]
    paths = {}
    for c in (1.0, scale):
        opt = hyper_adam(0.02)
        x, st_ = x0, opt.init(x0)
        for t, g in enumerate(grads):
            x, st_ = opt.step(x, c * g, st_, t)
        paths[c] = host(backend, x)
    np.testing.assert_allclose(paths[scale], paths[1.0], rtol=1e-12, atol=1e-14)
    x, st_ = x0, Adam(0.02).init(x0)
    for t, g in enumerate(grads):
        x, st_ = Adam(0.02).step(x, 1e-14 * g, st_, t)
    assert np.max(np.abs(host(backend, x - x0))) < 1e-6  # the usual ε: ~100 000× slower


def test_hyper_adam_leaves_coordinates_with_zero_gradients_alone(backend):
    opt = hyper_adam(0.1)
    x = backend.asarray([1.0, 2.0], dtype="float64")
    g = backend.asarray([0.0, 3.0], dtype="float64")
    x1, state = opt.step(x, g, opt.init(x), 0)
    out = host(backend, x1)
    assert np.all(np.isfinite(out)) and out[0] == 1.0
    np.testing.assert_allclose(out[1], 1.9)


NAMES = ("l2[0]", "noise[input]", "keep", "other")


def test_parametrization_roundtrip_and_bounds(backend):
    p = Parametrization.for_names(NAMES)
    assert p.kinds == ("log", "log", "logit", "identity")
    lam = backend.asarray([1e-3, 0.2, 0.7, -3.0], dtype="float64")
    np.testing.assert_allclose(host(backend, p.to_lam(p.to_phi(lam))), host(backend, lam), rtol=1e-12)
    clipped = host(backend, p.clip(backend.asarray([0.0, 100.0, 1.0, 5.0], dtype="float64")))
    np.testing.assert_allclose(clipped, [1e-8, 10.0, 0.999, 5.0])
    with pytest.raises(ValueError, match="lower < upper"):
        Parametrization.for_names(["l2"], bounds={"l2": (1.0, 0.1)})


@given(seed=st.integers(0, 2**16))
def test_grad_phi_is_the_chain_rule(backend, seed):
    """∂f/∂φ = ∂f/∂λ · dλ/dφ for f(λ) = wᵀλ² (any smooth f will do), against FD in φ."""
    p = Parametrization.for_names(NAMES)
    rng = backend.rng(seed)
    lam = backend.asarray([1e-2, 0.3, 0.6, 0.5], dtype="float64") * (0.5 + rng.uniform((4,)))
    w = rng.normal((4,))
    phi = p.to_phi(lam)
    got = p.grad_phi(lam, 2 * w * lam)
    u = rng.normal((4,))
    fd = central(lambda ph: host(backend, w @ (p.to_lam(ph) ** 2)), phi, u)
    assert_close(backend, got @ u, fd, norm(backend, got) + 1, what="∂/∂φ")


@pytest.mark.parametrize("opt", [SGD(0.3), Momentum(0.2, mu=0.7), Adam(0.05), Adam(0.05, eps=0.0)],
                         ids=["sgd", "momentum", "adam", "adam-eps0"])
def test_in_place_step_matches_the_functional_step(backend, opt):
    """``step(..., out=buf)`` writes x' into buf and updates the state in place, rounded as the functional
    step (a resumed run, whose first steps allocate, must match); x itself as ``out`` is a true in-place step,
    a spare buffer the double-buffered one."""
    rng = backend.rng(3)
    x0 = rng.normal((50,))
    grads = [rng.normal((50,)) for _ in range(3)]
    x0_host = host(backend, x0)
    x, state = x0, opt.init(x0)
    xi, state_i = x0 + 0.0, opt.init(x0)
    xd, state_d, spare = x0 + 0.0, opt.init(x0), x0 * 0.0
    for t, g in enumerate(grads):
        x, state = opt.step(x, g, state, t)
        xi, state_i = opt.step(xi, g, state_i, t, out=xi)
        new, state_d = opt.step(xd, g, state_d, t, out=spare)
        xd, spare = new, xd
    for got in (xi, xd):
        np.testing.assert_array_equal(host(backend, got), host(backend, x))
    for a, b in zip(state_i, state):
        np.testing.assert_array_equal(host(backend, a), host(backend, b))
    np.testing.assert_array_equal(host(backend, x0), x0_host)  # x0 itself untouched
    assert not np.array_equal(host(backend, x), x0_host)  # the steps moved x
