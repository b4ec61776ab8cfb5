"""Ridge: the IFT hypergradient equals the closed-form dL_V(θ*(λ))/dλ on every backend; bad input errors."""

from __future__ import annotations

import numpy as np
import pytest
from fd import central, host
from hypothesis import given
from hypothesis import strategies as st

from hyperreg.hypergrad.ift import ift_hypergradient
from hyperreg.problems.ridge import Ridge

REL = 1e-8


def ridge_data(seed, n=30, n_val=20, d=8):
    rng = np.random.default_rng(seed)
    X, Xv = rng.normal(size=(n, d)), rng.normal(size=(n_val, d))
    w = rng.normal(size=d)
    return X, X @ w + 2.0 * rng.normal(size=n) + 1.0, Xv, Xv @ w + 1.0


@given(seed=st.integers(0, 2**16), log_lam=st.floats(-4, 2), intercept=st.booleans())
def test_ift_equals_closed_form(backend, seed, log_lam, intercept):
    problem = Ridge(*ridge_data(seed), fit_intercept=intercept, backend=backend)
    lam = problem.full_lam(float(np.exp(log_lam)))
    theta = problem.theta_star(lam)
    h = ift_hypergradient(problem, theta, lam, tol=1e-14, maxiter=200).h
    want = host(backend, problem.dval_dlam(lam))
    err = np.abs(host(backend, h) - want)
    assert err <= REL * np.abs(want) + 1e-15, f"IFT {host(backend, h)} vs closed form {want}"


def test_closed_form_derivative_matches_fd(numpy_backend):
    """The reference itself: dL_V(θ*(λ))/dλ against a central difference of the closed-form L_V(θ*(λ))."""
    problem = Ridge(*ridge_data(3), backend=numpy_backend)
    lam, step = problem.full_lam(0.2), 1e-5
    fd = central(problem.val_loss_star, lam, 1.0, h=step)
    np.testing.assert_allclose(problem.dval_dlam(lam), [fd], rtol=1e-7)


def test_theta_star_is_stationary(numpy_backend):
    problem = Ridge(*ridge_data(4), backend=numpy_backend)
    lam = problem.full_lam(0.5)
    assert np.linalg.norm(problem.train_grad(problem.theta_star(lam), lam)) < 1e-12


@pytest.mark.parametrize("change, match", [
    (lambda a: (a[0].copy() * np.nan, *a[1:]), "X_train contains NaN"),
    (lambda a: (a[0], a[1][:-1], *a[2:]), "y_train must have shape"),
    (lambda a: (*a[:2], a[2][:0], a[3][:0]), "X_val is empty"),
    (lambda a: (a[0], a[1], a[2][:, :3], a[3]), "X_val must have the 8 features"),
    (lambda a: (a[0][:, 0], *a[1:]), "X_train must be 2-D"),
])
def test_bad_input(change, match):
    with pytest.raises(ValueError, match=match):
        Ridge(*change(ridge_data(0)))
