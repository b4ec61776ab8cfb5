"""Forward-mode tangents: the exact K-step tangent equals central finite differences of K unrolled SGD
(and momentum-SGD) steps with fixed samples — on the quadratic toy and on the MLP with L2 + noise, with
and without batch norm; greedy is the exact 1-step hypergradient; each policy does what it says; ClipR's
tangent converges to dθ*/dλ; Clip5 tunes λ better than Unroll1; ``compare_estimators`` is consistent.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import hyperreg
from hyperreg.experiments.quadratic import run_method
from hyperreg.hypergrad import (
    ClipR,
    Discounted,
    ExactKStep,
    UnrollK,
    greedy_step,
    hypergradient,
    tangent_step,
    tangent_step_momentum,
    tangent_zeros,
    unroll,
    unroll1_gtgv_step,
)
from hyperreg.hypergrad.compare import compare_estimators
from hyperreg.problems.classification import MLPProblem, MLPSample
from hyperreg.problems.quadratic import Quadratic
from hyperreg.testing import assert_close, central, host
from hyperreg.testing import norm as nrm

EPS = 1e-5
TOL = 1e-7


def check(be, got, want, scale, what, tol=TOL):
    """‖got − want‖ ≤ tol · scale, scale = ‖direction‖(‖result‖ + ‖input‖) (STYLE.md; ``hyperreg.testing``)."""
    assert_close(be, got, want, scale, tol=tol, what=what)


def fd5(f, x, u, eps=EPS):
    """``hyperreg.testing.central`` at step eps: batch norm on a few examples curves θ_K(λ) strongly."""
    return central(f, x, u, h=eps)


def sgd(problem, theta, lam, samples, lr, momentum=None):
    """θ_K by plain (momentum) SGD: train_grad only, independent of the tangent code."""
    v = 0.0 * theta
    for s in samples:
        g = problem.train_grad(theta, lam, s)
        v = g if momentum is None else momentum * v + g
        theta = theta - lr * v
    return theta


def assert_tangent_is_fd(be, problem, theta, lam, samples, lr, momentum, u):
    theta_K, Y = unroll(problem, theta, lam, samples, lr, momentum=momentum)
    assert Y.shape == (*theta.shape, lam.shape[-1])
    check(be, theta_K, sgd(problem, theta, lam, samples, lr, momentum), 1 + nrm(be, theta_K), "θ_K", tol=1e-13)
    got = be.xp.sum(Y * u[..., None, :], axis=-1)
    want = fd5(lambda l: sgd(problem, theta, l, samples, lr, momentum), lam, u)
    check(be, got, want, nrm(be, u) * (nrm(be, got) + nrm(be, theta_K)), "Y_K u")


# --- the quadratic toy ---------------------------------------------------------------------------

@st.composite
def quad_specs(draw):
    return dict(batched=draw(st.booleans()), B=draw(st.integers(1, 3)), d=draw(st.integers(1, 6)),
                K=draw(st.integers(1, 6)), momentum=draw(st.sampled_from([None, 0.5, 0.9])),
                seed=draw(st.integers(0, 2**20)))


def make_quad(be, spec):
    rng = be.rng(spec["seed"])
    shape = (spec["B"], spec["d"]) if spec["batched"] else (spec["d"],)
    q = Quadratic(0.5 + 2 * rng.uniform(shape), rng.normal(shape), rng.normal(shape), backend=be)
    lam = 0.1 + rng.uniform(shape[:-1] + (1,))
    return q, rng.normal(shape), lam, rng.normal(lam.shape)


@given(quad_specs())
def test_exact_k_step_tangent_is_fd_of_unrolled_sgd_quadratic(backend, spec):
    q, theta, lam, u = make_quad(backend, spec)
    assert_tangent_is_fd(backend, q, theta, lam, [None] * spec["K"], 0.2, spec["momentum"], u)


@given(quad_specs())
def test_greedy_is_exact_one_step_quadratic(backend, spec):
    q, theta, lam, _ = make_quad(backend, spec)
    assert_greedy_is_one_step(backend, q, theta, lam, None, None, 0.2)


def assert_greedy_is_one_step(be, problem, theta, lam, sample, val_sample, lr):
    theta_1, Y = unroll(problem, theta, lam, [sample], lr)
    want = hypergradient(Y, problem.val_grad(theta_1, val_sample))
    got = greedy_step(problem, theta, lam, sample, val_sample, lr, antithetic=False)  # one sample, as unroll
    assert got.shape == lam.shape
    check(be, got, want, 1 + nrm(be, want), "greedy vs exact 1-step", tol=1e-12)
    fast = greedy_step(problem, theta, lam, sample, val_sample, lr, fast=True)
    check(be, fast, lr * unroll1_gtgv_step(problem, theta, lam, sample, val_sample), 1 + nrm(be, fast),
          "greedy-fast = η · gtgv", tol=1e-12)


# --- the MLP with L2 + additive noise ------------------------------------------------------------

@st.composite
def mlp_specs(draw):
    n_hidden = draw(st.integers(1, 2))
    return dict(sizes=[draw(st.integers(1, 4)), *draw(st.lists(st.integers(2, 5), min_size=n_hidden,
                                                                max_size=n_hidden)), draw(st.integers(2, 3))],
                batchnorm=draw(st.booleans()), noise=draw(st.sampled_from(["per-layer", "tied"])),
                K=draw(st.integers(1, 3)), momentum=draw(st.sampled_from([None, 0.9])),
                seed=draw(st.integers(0, 2**20)))


def make_mlp(be, spec, batch=4):
    """MLPProblem with tanh (no kinks under the FD step), fixed training samples and the whole T2."""
    net = hyperreg.MLP(spec["sizes"], activation="tanh", batchnorm=spec["batchnorm"], l2="per-layer",
                       noise=spec["noise"], backend=be)
    rng = be.rng(spec["seed"])
    d, c = spec["sizes"][0], spec["sizes"][-1]
    data = [(rng.normal((batch, d)), rng.integers(c, batch)) for _ in range(spec["K"] + 1)]
    problem = MLPProblem(net, *data[0], *data[-1], batch_size=batch)
    samples = [MLPSample(X, y, net.sample_noise(batch, rng)) for X, y in data[:-1]]
    theta = net.init_params(spec["seed"]) + 0.3 * rng.normal((net.n_params,))
    lam = net.init_hypers(l2=0.05, noise=0.3) * (0.5 + rng.uniform((net.n_hypers,)))
    return problem, theta, lam, samples, rng.normal((net.n_hypers,))


@given(mlp_specs())
def test_exact_k_step_tangent_is_fd_of_unrolled_sgd_mlp(backend, spec):
    problem, theta, lam, samples, u = make_mlp(backend, spec)
    assert_tangent_is_fd(backend, problem, theta, lam, samples, 0.3, spec["momentum"], u)


@given(mlp_specs())
def test_greedy_is_exact_one_step_mlp(backend, spec):
    problem, theta, lam, samples, _ = make_mlp(backend, spec)
    assert_greedy_is_one_step(backend, problem, theta, lam, samples[0], problem.val_sample(), 0.3)


# --- policies ------------------------------------------------------------------------------------

@given(quad_specs())
def test_policies_do_what_they_say(backend, spec):
    q, theta, lam, _ = make_quad(backend, spec)
    point = q.at(theta, lam, None)
    Y = 3.0 * q.dtheta_star(lam) + tangent_zeros(theta, 1)
    exact = tangent_step(point, Y, 0.2)
    check(backend, tangent_step(point, Y, 0.2, ClipR(1e9)), exact, 1 + nrm(backend, exact), "ClipR(∞)", 1e-14)
    check(backend, tangent_step(point, Y, 0.2, Discounted(1.0)), exact, 1 + nrm(backend, exact), "μ = 1", 1e-14)
    fresh = tangent_step(point, 0.0 * Y, 0.2)
    check(backend, tangent_step(point, Y, 0.2, Discounted(0.0)), fresh, 1 + nrm(backend, fresh), "μ = 0", 1e-14)
    norms = np.linalg.norm(host(backend, tangent_step(point, Y, 0.2, ClipR(0.5))), axis=-2)
    assert np.all(norms <= 0.5 * (1 + 1e-12))
    Ym, _ = tangent_step_momentum(point, Y, 0.0 * Y, 0.2, 0.0)
    check(backend, Ym, exact, 1 + nrm(backend, exact), "momentum μ = 0", 1e-14)


@pytest.mark.parametrize("make, match", [
    (lambda: UnrollK(0), "UnrollK.K"), (lambda: UnrollK(2.5), "UnrollK.K"),
    (lambda: ClipR(0.0), "ClipR.r"), (lambda: ClipR(1.0, warmup=-1), "ClipR.warmup"),
    (lambda: Discounted(1.5), "Discounted.mu"),
])
def test_policies_validate_their_settings(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_policy_schedule_flags():
    assert (UnrollK(5).every, UnrollK(5).reset) == (5, True)
    assert (ClipR(2.0).every, ClipR(2.0).reset, ExactKStep().reset) == (1, False, False)


@pytest.mark.parametrize("seed", [0, 1])
def test_clip_tangent_converges_to_dtheta_star(backend, seed):
    """With θ at θ*(λ) and r > ‖dθ*/dλ‖, Y_{t+1} = P(Y_t − η((1+λ)HY_t + Hθ*)) → −H⁻¹Hθ*/(1+λ) = dθ*/dλ."""
    q = Quadratic.sample_problems(3, 6, seed, h_range=(0.5, 4.0), backend=backend)
    lam = q.lam_star
    theta, Y = q.theta_star(lam), tangent_zeros(q.theta_bar, 1)
    for _ in range(800):  # contraction (1 − η h_min (1+λ)) ≤ 0.94 per step
        point = q.at(theta, lam, None)
        Y = tangent_step(point, Y, 0.1, ClipR(10.0))
        theta = theta - 0.1 * point.grad
    want = q.dtheta_star(lam)
    check(backend, Y, want, nrm(backend, want), "Y_∞ vs dθ*/dλ", tol=1e-10)
    # a radius below ‖dθ*/dλ‖ ∈ [3, 5] keeps the tangent on the sphere, short of it
    Yc = tangent_zeros(q.theta_bar, 1)
    for _ in range(800):
        Yc = tangent_step(q.at(theta, lam, None), Yc, 0.1, ClipR(2.0))
    np.testing.assert_allclose(np.linalg.norm(host(backend, Yc), axis=-2), 2.0, rtol=1e-12)


def test_clip5_tunes_lambda_closer_than_unroll1(numpy_backend):
    q = Quadratic.sample_problems(4, 10, 0)
    lam_star = host(numpy_backend, q.lam_star)[:, 0]
    err = {m: np.mean(np.abs(run_method(q, m, steps=(3000, 1), record_every=1000)["lam_phase2"]
                             - lam_star)) for m in ("clip5", "unroll1")}
    assert err["clip5"] < 0.5 * err["unroll1"], err


# --- one problem, every estimator ----------------------------------------------------------------

def test_compare_estimators_on_the_quadratic(backend):
    q = Quadratic.sample_problems(3, 5, 0, backend=backend)
    theta, lam = q.zeros_theta() + 0.5, q.full_lam(0.2)
    out = compare_estimators(q, theta, lam, 0.05, 6, 2, None, clip_r=1e9, unroll_ks=(1, 6))
    assert set(out) == {"exact", "clip1e+09", "discounted0.9", "unroll1", "unroll6", "greedy", "greedy-fast",
                        "gtgv"}
    ex = out["exact"]["mean"]
    assert ex.shape == lam.shape
    s = 1 + nrm(backend, ex)
    for name in ("clip1e+09", "unroll6"):  # Y_0 = 0: both are the exact K-step tangent
        check(backend, out[name]["mean"], ex, s, name, 1e-13)
    check(backend, out["greedy"]["mean"], out["unroll1"]["mean"], s, "greedy = unroll1", 1e-13)
    for name, r in out.items():  # the toy is deterministic: no variance
        check(backend, r["var"], 0 * r["var"], s * s, f"var {name}", 1e-20)
    check(backend, out["unroll1"]["bias"], out["unroll1"]["mean"] - ex, s, "bias", 1e-13)
    carried = compare_estimators(q, theta, lam, 0.05, 6, 1, None, tangent=q.dtheta_star(lam), unroll_ks=(6,))
    assert nrm(backend, carried["exact"]["mean"] - carried["unroll6"]["mean"]) > 1e-3


def test_compare_estimators_on_the_mlp(numpy_backend):
    be = numpy_backend
    spec = dict(sizes=[3, 5, 3], batchnorm=False, noise="tied", K=1, momentum=None, seed=3)
    problem, theta, lam, _, _ = make_mlp(be, spec, batch=8)
    K, n, lr = 4, 5, 0.1
    out = compare_estimators(problem, theta, lam, lr, K, n, be.rng(0), unroll_ks=(1, 4))
    assert all(r[k].shape == lam.shape for r in out.values() for k in ("mean", "bias", "var"))
    # the reference itself: exact's mean is the mean over the same draws of the finite difference of
    # L_V(θ_K(λ)) through K unrolled SGD steps (the draws replayed from the same seed)
    rng, u, fds = be.rng(0), be.rng(7).normal((problem.n_hypers,)), []
    for _ in range(n):
        samples, vs = [problem.sample(rng) for _ in range(K)], problem.val_sample(rng)
        def val_after_k(lam_, samples=samples, vs=vs):
            return host(be, problem.val_loss(sgd(problem, theta, lam_, samples, lr), vs))
        fds.append(fd5(val_after_k, lam, u))
    got = host(be, out["exact"]["mean"]) @ host(be, u)
    assert abs(got - np.mean(fds)) <= TOL * nrm(be, u) * (abs(got) + 1), (got, np.mean(fds))
    check(be, out["unroll4"]["mean"], out["exact"]["mean"], 1 + nrm(be, out["exact"]["mean"]), "unroll4", 1e-13)
    for name in ("greedy", "unroll1"):  # the bias is paired: the mean of (estimate − exact) over the draws
        check(be, out[name]["bias"], out[name]["mean"] - out["exact"]["mean"], 1 + nrm(be, out[name]["mean"]),
              f"bias {name}", 1e-12)
    assert nrm(be, out["greedy"]["bias"]) > 1e-3 * nrm(be, out["exact"]["mean"])  # one step of four: biased
    assert np.all(host(be, out["greedy"]["var"]) > 0)  # minibatch and noise draws differ
    single = compare_estimators(problem, theta, lam, lr, K, n, be.rng(0), unroll_ks=(1,), antithetic=False)
    check(be, single["greedy"]["mean"], single["unroll1"]["mean"], 1 + nrm(be, single["unroll1"]["mean"]),
          "single-sample greedy = unroll1", 1e-12)
    assert nrm(be, out["greedy"]["mean"] - single["greedy"]["mean"]) > 1e-9  # the pair moves the σ row


@pytest.mark.parametrize("policy", [ExactKStep(), ClipR(0.05), Discounted(0.7)], ids=["exact", "clip", "disc"])
@pytest.mark.parametrize("momentum", [None, 0.8])
def test_in_place_tangent_step_matches_the_functional_one(backend, policy, momentum):
    """``inplace=True`` (the tuner's own Y, stepped column by column through one scratch) gives the functional
    step's Y' (and V') to rounding — with the clip active — and on libraries with ``out=`` returns Y's own
    buffer; a row-major Y (as a caller may pass) is first given the column layout."""
    import hyperreg
    from hyperreg.hypergrad.forward import tangent_step_momentum

    net = hyperreg.MLP([5, 4, 3], noise="per-layer", backend=backend)
    rng = backend.rng(2)
    X, y = rng.normal((6, 5)), rng.integers(3, 6)
    point = net.at(net.init_params(0), net.init_hypers(), X, y, net.sample_noise(6, rng))
    xp = backend.xp
    Y0 = tangent_zeros(point.theta, net.n_hypers)
    Y0 = xp.matrix_transpose(xp.matrix_transpose(Y0) + rng.normal((net.n_hypers, net.n_params)))
    V0 = tangent_zeros(point.theta, net.n_hypers) + 0.5
    copy = lambda a: xp.matrix_transpose(xp.asarray(xp.matrix_transpose(a), copy=True))  # noqa: E731
    if momentum is None:
        want, got = tangent_step(point, Y0, 0.3, policy), tangent_step(point, copy(Y0), 0.3, policy, inplace=True)
        pairs = [(got, want)]
    else:
        want = tangent_step_momentum(point, Y0, V0, 0.3, momentum, policy)
        got = tangent_step_momentum(point, copy(Y0), copy(V0), 0.3, momentum, policy, inplace=True)
        pairs = list(zip(got, want))
    for g, w in pairs:
        np.testing.assert_allclose(host(backend, g), host(backend, w), rtol=1e-12, atol=1e-14)
    if backend.name in ("numpy", "torch"):
        Y = copy(Y0)
        out = tangent_step(point, Y, 0.3, policy, inplace=True)
        assert out is Y
        row_major = xp.asarray(Y0, copy=True)  # (P, k) C-order: not the column layout
        np.testing.assert_allclose(host(backend, tangent_step(point, row_major, 0.3, policy, inplace=True)),
                                   host(backend, pairs[0][1] if momentum is None else
                                        tangent_step(point, Y0, 0.3, policy)), rtol=1e-12, atol=1e-14)
