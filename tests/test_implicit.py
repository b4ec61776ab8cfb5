"""The IFT estimator's solvers: Neumann → CG as terms grow, the array-API CG against SciPy's, warnings,
and the MLP (non-convex, damped) against a dense-Hessian solve on a tiny net."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from fd import host
from test_ridge import ridge_data

import hyperreg
from hyperreg import ConvergenceWarning
from hyperreg.hypergrad.hoag import inner_solve
from hyperreg.hypergrad.ift import ift_hypergradient
from hyperreg.hypergrad.linalg import cg_fixed, cg_scipy, cg_xp, neumann, power_alpha
from hyperreg.problems.classification import MLPProblem, MLPSample
from hyperreg.problems.logistic import Logistic
from hyperreg.problems.ridge import Ridge


def spd(n, seed, cond=50.0):
    rng = np.random.default_rng(seed)
    Q = np.linalg.qr(rng.normal(size=(n, n)))[0]
    return Q @ np.diag(np.geomspace(1.0, cond, n)) @ Q.T, rng.normal(size=n)


def test_neumann_converges_to_cg():
    """‖q_J − q_CG‖ falls geometrically with the number of terms J, to CG's answer."""
    problem = Ridge(*ridge_data(1))
    lam = problem.full_lam(0.1)
    theta = problem.theta_star(lam)
    h_cg = ift_hypergradient(problem, theta, lam, tol=1e-14).h
    errs = []
    for terms in (10, 40, 160, 640):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            h = ift_hypergradient(problem, theta, lam, solver="neumann", tol=1e-300, maxiter=terms).h
        errs.append(float(np.abs(h - h_cg)[0]))
    assert all(b < a for a, b in zip(errs, errs[1:])), errs
    assert errs[-1] <= 1e-8 * abs(h_cg[0]), errs


def test_neumann_is_the_partial_sum():
    """Richardson from 0 with J steps is α Σ_{j<J} (I − αH)^j b exactly."""
    A, b = spd(6, 0)
    alpha = power_alpha(lambda v: A @ v, b)
    assert alpha < 2.0 / np.linalg.eigvalsh(A)[-1]
    x, terms, ok = neumann(lambda v: A @ v, b, alpha, tol=0.0, maxiter=7)
    M, acc, term = np.eye(6) - alpha * A, np.zeros(6), b.copy()
    for _ in range(7):
        acc, term = acc + alpha * term, M @ term
    np.testing.assert_allclose(x, acc, rtol=1e-12)
    assert terms == 7 and not ok


def test_xp_cg_matches_scipy(backend):
    A, b = spd(12, 3)
    x_ref, _, ok_ref = cg_scipy(lambda v: A @ v, b, tol=1e-12, maxiter=200)
    Ab, bb = backend.asarray(A, dtype="float64"), backend.asarray(b, dtype="float64")
    x, its, ok = cg_xp(lambda v: Ab @ v, bb, tol=1e-12, maxiter=200)
    assert ok and ok_ref and 0 < its <= 200
    np.testing.assert_allclose(host(backend, x), np.linalg.solve(A, b), rtol=1e-9)
    np.testing.assert_allclose(x_ref, np.linalg.solve(A, b), rtol=1e-9)


def test_warm_start_saves_iterations():
    problem = Ridge(*ridge_data(2))
    lam = problem.full_lam(0.3)
    theta = problem.theta_star(lam)
    cold = ift_hypergradient(problem, theta, lam, tol=1e-10)
    warm = ift_hypergradient(problem, theta, lam, tol=1e-10, q0=cold.q)
    assert warm.iterations == 0 and cold.iterations > 0


def test_convergence_warning_and_bad_args():
    problem = Ridge(*ridge_data(2))
    lam = problem.full_lam(1e-3)
    with pytest.warns(ConvergenceWarning, match="relative residual"):
        res = ift_hypergradient(problem, problem.zeros_theta(), lam, tol=1e-14, maxiter=1)
    assert not res.converged
    with pytest.raises(ValueError, match="solver must be one of"):
        ift_hypergradient(problem, problem.zeros_theta(), lam, solver="lu")
    with pytest.raises(ValueError, match="damping must be"):
        ift_hypergradient(problem, problem.zeros_theta(), lam, damping=-1.0)


def tiny_mlp_problem():
    net = hyperreg.MLP([3, 5, 2], activation="tanh", l2="per-layer")
    be, rng = net.backend, np.random.default_rng(0)
    X, Xv = rng.normal(size=(30, 3)), rng.normal(size=(20, 3))
    label = lambda A: (A[:, 0] + A[:, 1] ** 2 > 0.5).astype(np.int64)  # noqa: E731
    problem = MLPProblem(net, be.asarray(X, dtype="float64"), be.asarray(label(X)),
                         be.asarray(Xv, dtype="float64"), be.asarray(label(Xv)), batch_size=30)
    return net, problem, MLPSample(problem.X_train, problem.y_train), problem.val_sample()


def test_mlp_cg_matches_dense_solve():
    """At a point trained to ‖g_T‖_∞ ≤ 1e-7 (tanh: smooth), CG on the R-operator HVP with damping δ gives
    the hypergradient of a dense (H + δI) solve. The softmax's shift invariance makes H singular: δ > 0."""
    net, problem, sample, val_sample = tiny_mlp_problem()
    lam, damping = net.init_hypers(l2=[1e-2, 3e-2]), 1e-3
    theta, _ = inner_solve(problem, net.init_params(0), lam, sample, 1e-7, 5000)
    res = ift_hypergradient(problem, theta, lam, sample, val_sample, tol=1e-12, maxiter=500, damping=damping)
    H = np.stack([problem.train_hvp(theta, lam, sample, e) for e in np.eye(net.n_params)], axis=1)
    q = np.linalg.solve(H + damping * np.eye(net.n_params), problem.val_grad(theta, val_sample))
    h_dense = -problem.train_mixed(theta, lam, sample, q)
    assert res.converged
    np.testing.assert_allclose(res.h, h_dense, rtol=1e-8, atol=1e-12 * np.abs(h_dense).max())


def test_logistic_neumann_vs_cg_grouped():
    rng = np.random.default_rng(5)
    X, Xv = rng.normal(size=(50, 4)), rng.normal(size=(30, 4))
    y, yv = (X[:, 0] > 0).astype(float), (Xv[:, 0] > 0).astype(float)
    problem = Logistic(X, y, Xv, yv, groups=[[0, 1], [2, 3]])
    lam = problem.full_lam(0.1)
    theta, _ = inner_solve(problem, problem.zeros_theta(), lam, None, 1e-10, 1000)
    h_cg = ift_hypergradient(problem, theta, lam, tol=1e-13).h
    h_nm = ift_hypergradient(problem, theta, lam, solver="neumann", tol=1e-12, maxiter=20000).h
    np.testing.assert_allclose(h_nm, h_cg, rtol=1e-8)


def test_cg_fixed_is_cg_without_the_stop_test(backend):
    """cg_fixed(iters) = the iterate cg_xp reaches after ``iters`` iterations (cg_xp stopped there by
    maxiter), on every backend; past exact convergence (iters > n) it stays at A⁻¹b instead of 0/0."""
    A, b = spd(8, 4, cond=20.0)
    Ab, bb = backend.asarray(A, dtype="float64"), backend.asarray(b, dtype="float64")
    for iters in (1, 3, 5):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            want, its, _ = cg_xp(lambda v: Ab @ v, bb, tol=0.0, maxiter=iters)
        got = cg_fixed(lambda v: Ab @ v, bb, iters)
        assert its == iters
        np.testing.assert_allclose(host(backend, got), host(backend, want), rtol=0, atol=0)
    x0 = backend.asarray(np.linalg.solve(A, b) + 1e-3, dtype="float64")
    warm = cg_fixed(lambda v: Ab @ v, bb, 8, x0=x0)
    late = cg_fixed(lambda v: Ab @ v, bb, 40)
    for x in (warm, late):
        np.testing.assert_allclose(host(backend, x), np.linalg.solve(A, b), rtol=1e-8)
    assert np.array_equal(host(backend, cg_fixed(lambda v: Ab @ v, 0 * bb, 3)), np.zeros(8))  # r₀ = 0: no NaN
