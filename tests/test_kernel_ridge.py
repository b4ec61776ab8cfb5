"""RBF kernel ridge: both hypergradients (ridge λ and width γ, whose ∇_λ L_V term is nonzero) against
finite differences of L_V(α*(λ, γ); γ), with α* from the exact solve; bad input errors."""

from __future__ import annotations

import numpy as np
import pytest
from array_api_compat import device
from fd import central, host
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperreg.hypergrad.ift import ift_hypergradient
from hyperreg.problems.kernel_ridge import KernelRidge

FD_STEP = 1e-4


def kr_data(seed, n=25, n_val=15, d=3):
    rng = np.random.default_rng(seed)
    X, Xv = rng.normal(size=(n, d)), rng.normal(size=(n_val, d))
    f = lambda A: np.sin(A @ np.ones(d)) + 0.5  # noqa: E731
    return X, f(X) + 0.1 * rng.normal(size=n), Xv, f(Xv)


def alpha_star(problem, lam):
    """α* = (K + nλI)⁻¹ y: the minimizer of the dual L_T, exactly."""
    xp = problem.backend.xp
    n = problem.n_params
    A = xp.exp(-lam[1] * problem.D) + n * lam[0] * xp.eye(n, dtype=lam.dtype, device=device(lam))
    return xp.linalg.solve(A, problem.y[:, None])[:, 0]


def outer(problem, lam):
    return float(host(problem.backend, problem.val_loss(alpha_star(problem, lam), None, lam=lam)))


@settings(max_examples=10)
@given(seed=st.integers(0, 2**16), log_lam=st.floats(-5, 0), log_gamma=st.floats(-3, 1))
def test_both_hypergradients_vs_fd(backend, seed, log_lam, log_gamma):
    problem = KernelRidge(*kr_data(seed), backend=backend)
    lam = backend.asarray([np.exp(log_lam), np.exp(log_gamma)], dtype="float64")
    h = host(backend, ift_hypergradient(problem, alpha_star(problem, lam), lam, tol=1e-13, maxiter=500).h)
    fd = []
    for j in range(2):
        step = FD_STEP * float(host(backend, lam)[j])  # relative step: λ and γ span decades
        e = backend.asarray(np.eye(2)[j], dtype="float64")
        fd.append(central(lambda lam_: outer(problem, lam_), lam, e, h=step))
    scale = host(backend, lam) * np.abs(fd)  # compare in log space, where both live
    assert np.all(np.abs(h - fd) * host(backend, lam) <= 1e-7 * (scale + 1e-6)), (h, fd)


def test_val_loss_needs_lam():
    problem = KernelRidge(*kr_data(0))
    with pytest.raises(ValueError, match="pass lam="):
        problem.val_loss(problem.zeros_theta())


def test_prediction_matches_sklearn():
    from sklearn.kernel_ridge import KernelRidge as SKKernelRidge

    X, y, Xv, yv = kr_data(1)
    problem = KernelRidge(X, y, Xv, yv)
    lam = np.array([0.01, 0.5])
    ours = problem.predict(alpha_star(problem, lam), lam, Xv)
    sk = SKKernelRidge(alpha=X.shape[0] * lam[0], kernel="rbf", gamma=lam[1]).fit(X, y - y.mean())
    np.testing.assert_allclose(ours, sk.predict(Xv) + y.mean(), rtol=1e-9)


@pytest.mark.parametrize("change, match", [
    (lambda a: (a[0], a[1] * np.nan, *a[2:]), "y_train contains NaN"),
    (lambda a: (*a[:2], a[2][:0], a[3][:0]), "X_val is empty"),
    (lambda a: (*a[:3], a[3][:-1]), "y_val must have shape"),
])
def test_bad_input(change, match):
    with pytest.raises(ValueError, match=match):
        KernelRidge(*change(kr_data(0)))
