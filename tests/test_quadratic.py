"""The quadratic toy (ICLR-2018 §4.1): every primitive against central finite differences, the
analytic θ*(λ) and λ*, batched == one problem at a time, the sampler's promises, input validation.

Drawn: batched or not, B ∈ 1..4, d ∈ 1..8 and a seed; float64 on every backend of the fixture.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from hyperreg.hypergrad import hypergradient
from hyperreg.problems import Problem
from hyperreg.problems.quadratic import Quadratic
from hyperreg.testing import assert_close, central, host
from hyperreg.testing import norm as nrm

EPS = 1e-4  # the toy is quadratic in θ and in λ: central differences are exact up to round-off
TOL = 1e-9


def check(be, got, want, scale, what, tol=TOL):
    """‖got − want‖ ≤ tol · scale (STYLE.md: scale by the norms involved, not by the result)."""
    assert_close(be, got, want, scale, tol=tol, what=what)


@st.composite
def toys(draw):
    return dict(batched=draw(st.booleans()), B=draw(st.integers(1, 4)), d=draw(st.integers(1, 8)),
                seed=draw(st.integers(0, 2**20)))


def make(be, spec):
    """A toy with h ∈ [0.5, 2.5), θ, directions w (θ-space) and u (λ-space), λ ∈ [0.1, 1.1)."""
    rng = be.rng(spec["seed"])
    shape = (spec["B"], spec["d"]) if spec["batched"] else (spec["d"],)
    lam_shape = shape[:-1] + (1,)
    q = Quadratic(0.5 + 2 * rng.uniform(shape), rng.normal(shape), rng.normal(shape), backend=be)
    return q, rng.normal(shape), 0.1 + rng.uniform(lam_shape), rng.normal(shape), rng.normal(lam_shape)


def fd(f, x, w, eps=EPS):
    return central(f, x, w, h=eps)


def test_is_a_problem(numpy_backend):
    assert isinstance(Quadratic(np.ones(3), np.ones(3), np.ones(3)), Problem)


@given(toys())
def test_grad_and_val_grad_match_finite_differences(backend, spec):
    xp = backend.xp
    q, theta, lam, w, _ = make(backend, spec)
    got = xp.sum(q.train_grad(theta, lam, None) * w, axis=-1)
    want = fd(lambda t: q.train_loss(t, lam, None), theta, w)
    check(backend, got, want, nrm(backend, w) * (nrm(backend, got) + nrm(backend, theta)), "g_T · w")
    got = xp.sum(q.val_grad(theta) * w, axis=-1)
    want = fd(q.val_loss, theta, w)
    check(backend, got, want, nrm(backend, w) * (nrm(backend, got) + nrm(backend, theta)), "g_V · w")


@given(toys())
def test_hvp_matches_finite_differences_of_grad(backend, spec):
    q, theta, lam, w, _ = make(backend, spec)
    got = q.train_hvp(theta, lam, None, w)
    want = fd(lambda t: q.train_grad(t, lam, None), theta, w)
    check(backend, got, want, nrm(backend, w) * (nrm(backend, got) + nrm(backend, theta)), "H w")


@given(toys())
def test_mixed_terms_match_finite_differences_in_lambda(backend, spec):
    xp = backend.xp
    q, theta, lam, v, u = make(backend, spec)
    jvp = q.train_mixed_jvp(theta, lam, None, u)
    want = fd(lambda l: q.train_grad(theta, l, None), lam, u)
    check(backend, jvp, want, nrm(backend, u) * (nrm(backend, jvp) + nrm(backend, theta)), "(∂g_T/∂λ) u")
    mixed = q.train_mixed(theta, lam, None, v)
    assert mixed.shape == lam.shape
    want = fd(lambda l: xp.sum(v * q.train_grad(theta, l, None), axis=-1, keepdims=True), lam, u)
    check(backend, mixed * u, want, nrm(backend, u) * (nrm(backend, mixed) + nrm(backend, v)), "(∂g_T/∂λ)ᵀ v")
    # the two mixed primitives are transposes of each other: vᵀ(J u) = (Jᵀv)ᵀ u
    check(backend, xp.sum(v * jvp, axis=-1), xp.sum(mixed * u, axis=-1),
          nrm(backend, v) * nrm(backend, jvp), "vᵀ J u")


@given(toys())
def test_theta_star_zeroes_the_gradient_and_its_derivative(backend, spec):
    q, _, lam, _, u = make(backend, spec)
    g = q.train_grad(q.theta_star(lam), lam, None)
    check(backend, g, 0 * g, nrm(backend, q.theta_bar) * nrm(backend, q.h), "g_T(θ*(λ), λ)")
    want = fd(q.theta_star, lam, u, eps=1e-5)  # θ*(λ) is not polynomial: truncation O(eps²)
    got = q.dtheta_star(lam)[..., 0] * u
    check(backend, got, want, nrm(backend, u) * (nrm(backend, got) + nrm(backend, q.theta_bar)), "dθ*/dλ",
          tol=1e-8)


@given(toys())
def test_lam_star_minimizes_the_validation_loss_along_theta_star(backend, spec):
    """d/dλ L_V(θ*(λ)) = (dθ*/dλ)ᵀ g_V(θ*(λ)) vanishes at λ* (where λ* > −1 exists)."""
    q, *_ = make(backend, spec)
    lam = q.lam_star
    hg = hypergradient(q.dtheta_star(lam), q.val_grad(q.theta_star(lam)))
    ok = np.abs(host(backend, lam)) < 1e3  # θ̂ᵀHθ̄ ≈ 0 puts λ* at infinity
    scale = nrm(backend, q.theta_bar) * nrm(backend, q.h) * (nrm(backend, q.theta_bar) + nrm(backend, q.theta_hat))
    assert np.all(np.abs(host(backend, hg)[ok]) <= 1e-9 * scale / np.maximum(1, (1 + host(backend, lam)[ok]) ** 3))


@given(toys())
def test_batched_equals_one_problem_at_a_time(backend, spec):
    spec = dict(spec, batched=True)
    q, theta, lam, w, u = make(backend, spec)
    point = q.at(theta, lam, None)
    for b in range(spec["B"]):
        one = Quadratic(q.h[b, :], q.theta_bar[b, :], q.theta_hat[b, :], backend=backend)
        p1 = one.at(theta[b, :], lam[b, :], None)
        for what, got, want in [
            ("loss", point.loss[b], p1.loss), ("grad", point.grad[b, :], p1.grad),
            ("hvp", point.hvp(w)[b, :], p1.hvp(w[b, :])), ("mixed", point.mixed(w)[b, :], p1.mixed(w[b, :])),
            ("mixed_jvp", point.mixed_jvp(u)[b, :], p1.mixed_jvp(u[b, :])),
            ("val_loss", q.val_loss(theta)[b], one.val_loss(theta[b, :])),
            ("lam_star", q.lam_star[b, :], one.lam_star), ("theta_star", q.theta_star(lam)[b, :],
                                                            one.theta_star(lam[b, :])),
        ]:
            assert got.shape == want.shape, what
            check(backend, got, want, 1.0 + nrm(backend, want), what, tol=1e-14)


@pytest.mark.parametrize("seed", [0, 1])
def test_sample_problems_lands_lam_star_and_tangent_norm_in_range(backend, seed):
    q = Quadratic.sample_problems(7, 5, seed, lam_range=(0.2, 0.4), backend=backend)
    assert q.h.shape == q.theta_bar.shape == q.theta_hat.shape == (7, 5)
    lam = host(backend, q.lam_star)
    assert np.all((lam >= 0.2 - 1e-12) & (lam <= 0.4 + 1e-12))
    tangent = np.linalg.norm(host(backend, q.dtheta_star(q.lam_star))[..., 0], axis=-1)
    assert np.all((tangent >= 3 - 1e-9) & (tangent <= 5 + 1e-9))
    assert np.all(host(backend, q.val_loss(q.theta_star(q.lam_star))) > 0)


def test_sample_problems_is_reproducible(numpy_backend):
    a, b = Quadratic.sample_problems(3, 4, 5), Quadratic.sample_problems(3, 4, 5)
    np.testing.assert_array_equal(a.theta_hat, b.theta_hat)


@pytest.mark.parametrize("args, match", [
    ((np.ones(3), np.ones(3), np.ones(4)), "theta_hat must have the shape of h"),
    ((np.ones((2, 3)), np.ones(3), np.ones(3)), "theta_bar must have the shape of h"),
    ((np.ones((2, 2, 2)),) * 3, "h must have shape"),
    ((np.zeros(0),) * 3, "h must have shape"),
    ((np.array([1.0, 0.0]), np.ones(2), np.ones(2)), "h .* must be > 0"),
    ((np.ones(2), np.array([1.0, np.nan]), np.ones(2)), "theta_bar contains NaN"),
])
def test_constructor_names_the_bad_argument(args, match):
    with pytest.raises(ValueError, match=match):
        Quadratic(*args)


@pytest.mark.parametrize("kwargs, match", [
    (dict(n=0, d=3), "n must be a positive integer"),
    (dict(n=2, d=3, lam_range=(0.4, 0.2)), "lam_range must be"),
    (dict(n=2, d=3, lam_range=(-1.0, 0.2)), "lam_range"),
    (dict(n=2, d=3, h_range=(0.0, 1.0)), "h_range"),
])
def test_sample_problems_validates(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Quadratic.sample_problems(**kwargs)


def _table1_by_hand(q, name, lrs, steps, c):
    """The Table-1 protocol written out (module docstring of experiments/quadratic.py), independent of the
    tuner: SGD on θ, λ ← λ − c·η·ĥ, UnrollK's hyper step every K with Y ← 0, ClipR's every step."""
    from hyperreg.hypergrad import (
        ClipR,
        UnrollK,
        greedy_step,
        hypergradient,
        tangent_step,
        tangent_zeros,
        unroll1_gtgv_step,
    )

    theta, lam = q.zeros_theta(), q.full_lam(0.0)
    Y, t = tangent_zeros(theta, 1), 0
    policy = {"unroll3": UnrollK(3), "clip2": ClipR(2.0)}.get(name)
    for lr, n in zip(lrs, steps):
        for _ in range(n):
            if policy is None:
                h = (unroll1_gtgv_step(q, theta, lam, None, None) if name == "gtgv"
                     else greedy_step(q, theta, lam, None, None, lr))
                theta, lam = theta - lr * q.train_grad(theta, lam), lam - c * lr * h
            else:
                point = q.at(theta, lam)
                # in place, as the tuner steps its own Y (the same arithmetic: ops.axpy), so bit for bit
                Y, theta = tangent_step(point, Y, lr, policy, inplace=True), theta - lr * point.grad
                if (t + 1) % policy.every == 0:
                    lam = lam - c * lr * hypergradient(Y, q.val_grad(theta))
                    Y = Y if not policy.reset else 0.0 * Y
            t += 1
    return theta, lam


@pytest.mark.parametrize("name", ["unroll3", "clip2", "greedy", "gtgv"])
def test_table1_on_the_tuner_is_the_protocol(numpy_backend, name):
    """``run_method`` (the experiment on ``Tuner``) = the protocol by hand, bit for bit, across both phases."""
    from hyperreg.experiments.quadratic import run_method

    q = Quadratic.sample_problems(3, 5, 1, h_range=(0.5, 20.0))
    lrs, steps, c = (1e-2, 1e-3), (40, 20), 0.1
    out = run_method(q, name, lrs, steps, c, record_every=7)
    _, lam = _table1_by_hand(q, name, lrs, steps, c)
    np.testing.assert_array_equal(out["lam_phase2"], host(numpy_backend, lam)[:, 0])
    assert out["trace"].shape == (len(out["trace_steps"]), 3)
    assert list(out["trace_steps"]) == [7, 14, 21, 28, 35, 40, 42, 49, 56, 60]  # records, and each phase end
    np.testing.assert_array_equal(out["trace"][-1], out["lam_phase2"])
    assert np.all(np.abs(out["lam_phase2"]) > 1e-6)  # λ moved from λ₀ = 0
