"""Logistic regression: the IFT hypergradient against finite differences of L_V(θ*(λ)) with Newton-tight
inner solves, for one λ and for grouped λ; bad input errors."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperreg.hypergrad.ift import ift_hypergradient
from hyperreg.problems.logistic import Logistic
from hyperreg.testing import central

FD_STEP = 1e-4


def logistic_data(seed, n=60, n_val=40, d=6):
    rng = np.random.default_rng(seed)
    X, Xv = rng.normal(size=(n, d)), rng.normal(size=(n_val, d))
    w = rng.normal(size=d)
    label = lambda A: (A @ w + 0.3 + rng.normal(size=A.shape[0]) > 0).astype(float)  # noqa: E731
    return X, label(X), Xv, label(Xv)


def newton(problem, lam, theta=None, iters=50):
    """θ*(λ) to machine precision: Newton steps with the Hessian built from HVP columns (numpy)."""
    theta = problem.zeros_theta() if theta is None else theta
    eye = np.eye(problem.n_params)
    for _ in range(iters):
        point = problem.at(theta, lam)
        H = np.stack([point.hvp(e) for e in eye], axis=1)
        theta = theta - np.linalg.solve(H, point.grad)
        if np.linalg.norm(point.grad) < 1e-14:
            break
    return theta


def fd_hypergradient(problem, lam, theta):
    """d/dλ_j L_V(θ*(λ)) by the 4th-order central stencil, each θ* from Newton warm-started at θ."""
    def outer(lam):
        return problem.val_loss(newton(problem, lam, theta), None, lam=lam)

    return np.array([central(outer, lam, np.eye(lam.shape[0])[j], h=FD_STEP) for j in range(lam.shape[0])])


@settings(max_examples=8)
@given(seed=st.integers(0, 2**16), log_lam=st.floats(-4, 0), grouped=st.booleans())
def test_hypergradient_vs_fd(seed, log_lam, grouped):
    X, y, Xv, yv = logistic_data(seed)
    groups = [[0, 1, 2], [3, 4], [5]] if grouped else None
    problem = Logistic(X, y, Xv, yv, groups=groups)
    lam = problem.full_lam(np.exp(log_lam)) * np.linspace(1.0, 2.0, problem.n_hypers)
    theta = newton(problem, lam)
    h = ift_hypergradient(problem, theta, lam, tol=1e-13).h
    fd = fd_hypergradient(problem, lam, theta)
    assert np.linalg.norm(h - fd) <= 1e-7 * (np.linalg.norm(fd) + 1e-3), (h, fd)


def test_group_names_and_unpenalized_columns():
    X, y, Xv, yv = logistic_data(0)
    problem = Logistic(X, y, Xv, yv, groups=[[0, 1], [4]])
    assert problem.hyper_names == ("lam_0", "lam_1") and problem.n_params == 7
    G = problem.G
    assert G[2:4].sum() == 0 and G[-1].sum() == 0  # columns 2, 3, 5 and the intercept unpenalized


@pytest.mark.parametrize("kwargs, match", [
    (dict(y=np.zeros(60)), "one class only"),
    (dict(y=np.full(60, 2.0)), "binary labels 0/1"),
    (dict(groups=[[0, 1], [1]]), "column 1 is in groups"),
    (dict(groups=[[0, 9]]), "column indices must be ints"),
    (dict(groups=[[]]), "groups\\[0\\] is empty"),
    (dict(Xv=np.zeros((0, 6)), yv=np.zeros(0)), "X_val is empty"),
])
def test_bad_input(kwargs, match):
    X, y, Xv, yv = logistic_data(0)
    args = dict(X=X, y=y, Xv=Xv, yv=yv, groups=None) | kwargs
    with pytest.raises(ValueError, match=match):
        Logistic(args["X"], args["y"], args["Xv"], args["yv"], groups=args["groups"])


def test_nan_named():
    X, y, Xv, yv = logistic_data(0)
    Xv[0, 0] = np.nan
    with pytest.raises(ValueError, match="X_val contains NaN"):
        Logistic(X, y, Xv, yv)
