"""HOAG's outer loop: it lands on ridge's closed-form argmin, matches a dense grid on breast_cancer,
tunes kernel ridge's λ and γ together; schedules, L's adaptation, rejection, settings checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from hyperreg.hypergrad.hoag import HOAG, adapt_L, inner_solve
from hyperreg.problems.kernel_ridge import KernelRidge
from hyperreg.problems.logistic import Logistic
from hyperreg.problems.ridge import Ridge


def noisy_ridge(seed=0, n=40, n_val=60, d=30):
    """More features than the noise allows: the validation optimum is interior."""
    rng = np.random.default_rng(seed)
    X, Xv, w = rng.normal(size=(n, d)), rng.normal(size=(n_val, d)), 0.5 * rng.normal(size=d)
    return Ridge(X, X @ w + 3 * rng.normal(size=n), Xv, Xv @ w + 3 * rng.normal(size=n_val))


def test_lands_on_ridge_argmin():
    problem = noisy_ridge()
    star = minimize_scalar(lambda s: problem.val_loss_star(problem.full_lam(math.exp(s))), bounds=(-6, 6),
                           method="bounded", options={"xatol": 1e-10})
    assert -5 < star.x < 5  # interior
    res = HOAG(max_iter=200).run(problem, problem.full_lam(1.0))
    assert abs(math.log(res.lam[0]) - star.x) < 1e-3, (math.log(res.lam[0]), star.x)
    assert problem.val_loss_star(res.lam) <= star.fun * (1 + 1e-8)
    h = res.history
    assert {"lam", "val_loss", "inner_iterations", "cg_iterations", "seconds", "tol", "L", "accepted"} <= set(h[0])
    assert all(b["seconds"] >= a["seconds"] for a, b in zip(h, h[1:]))
    assert res.inner_iterations == sum(e["inner_iterations"] for e in h)


def breast_cancer_problem(seed=0):
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    perm = np.random.default_rng(seed).permutation(y.shape[0])
    X, y = X[perm], y[perm].astype(float)
    n = y.shape[0] // 2
    X = (X - X[:n].mean(0)) / X[:n].std(0)
    return Logistic(X[:n], y[:n], X[n:n + n // 2], y[n:n + n // 2])


@pytest.fixture(scope="module")
def breast_cancer():
    """The problem and the best validation loss of a 49-point grid over log λ ∈ [−6, 6] (warm-started)."""
    problem = breast_cancer_problem()
    best, theta = math.inf, problem.zeros_theta()
    for s in np.linspace(-6, 6, 49):
        lam = problem.full_lam(math.exp(s))
        theta, _ = inner_solve(problem, theta, lam, None, 1e-6, 10_000)
        best = min(best, float(problem.val_loss(theta, None, lam=lam)))
    return problem, best


@pytest.mark.parametrize("schedule", ["quadratic", "cubic", "exponential"])
def test_breast_cancer_within_1pct_of_dense_grid(breast_cancer, schedule):
    problem, best = breast_cancer
    res = HOAG(tol_schedule=schedule).run(problem, problem.full_lam(1.0))
    assert res.val_loss <= 1.01 * best, (res.val_loss, best)


def test_kernel_ridge_tunes_both():
    rng = np.random.default_rng(0)
    X, Xv = rng.uniform(-2, 2, size=(60, 2)), rng.uniform(-2, 2, size=(40, 2))
    f = lambda A: np.sin(2 * A[:, 0]) * np.cos(A[:, 1])  # noqa: E731
    problem = KernelRidge(X, f(X) + 0.3 * rng.normal(size=60), Xv, f(Xv) + 0.3 * rng.normal(size=40))
    lam0 = np.array([0.1, 1.0])  # L_V(λ, γ) is not convex: start in the basin of the good fit
    res = HOAG(max_iter=15).run(problem, lam0)
    assert res.val_loss < 0.75 * res.history[0]["val_loss"]
    assert np.all(np.abs(np.log(res.lam / lam0)) > 0.1)  # both moved


def test_schedules_and_floor():
    assert HOAG(tol_schedule="quadratic").tol(10) == pytest.approx(1e-5)
    assert HOAG(tol_schedule="cubic").tol(10) == pytest.approx(1e-6)
    assert HOAG(tol_schedule="exponential").tol(2) == pytest.approx(0.9e-3)
    assert HOAG(tol_schedule="cubic").tol(10**6) == 1e-12
    assert HOAG().tol(1, scale=0.5) == pytest.approx(5e-4)


def test_adapt_L():
    s = HOAG()
    prev = {"val_loss": 1.0, "tol": 1e-6, "step": 0.5}
    assert adapt_L(s, 1.0, 0.9, 1e-6, prev) == pytest.approx(0.95)  # sufficient decrease
    assert adapt_L(s, 1.0, 1.1, 1e-6, prev) == pytest.approx(2.0)  # rose
    assert adapt_L(s, 100.0, 0.999, 1e-6, prev) == pytest.approx(100.0)  # fell, not enough


def test_rejection_reverts_lam():
    """On the 1-D quadratic toy L_V(s) = ½(1/(1 + eˢ) − ½)², s = log λ (minimum at s = 0), from s₀ = −0.3 the
    first step has length √n = 1 (L₀ = ‖p₀‖/√n) and lands on s₁ = 0.7, where L_V is 5× L_V(s₀): rejected by
    construction. HOAG then reverts to s₀, doubles L and halves the tolerance scale: s₂ = s₀ + ½, accepted."""
    from hyperreg.problems.quadratic import Quadratic

    problem = Quadratic(np.ones(1), np.ones(1), np.array([0.5]))
    s0 = -0.3
    res = HOAG(max_iter=3, xtol=0.0).run(problem, np.array([math.exp(s0)]))
    h = res.history
    s = [math.log(e["lam"][0]) for e in h]
    assert [e["accepted"] for e in h] == [True, False, True], h
    assert s[1] == pytest.approx(s0 + 1.0, abs=1e-6) and h[1]["val_loss"] >= 1.2 * h[0]["val_loss"]
    assert s[2] == pytest.approx(s0 + 0.5, abs=1e-6)  # the same direction, half the step, from s₀
    assert h[1]["L"] == pytest.approx(2 * h[0]["L"]) and h[2]["tol"] == pytest.approx(HOAG().tol(3, scale=0.5))
    assert h[2]["val_loss"] < h[0]["val_loss"] and res.val_loss == h[2]["val_loss"]


@pytest.mark.parametrize("kwargs, match", [
    (dict(tol_schedule="linear"), "tol_schedule"), (dict(solver="lu"), "solver"),
    (dict(max_iter=0), "max_iter"), (dict(bounds=(1.0, -1.0)), "bounds"), (dict(tol_floor=1.0), "tol_floor"),
])
def test_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        HOAG(**kwargs)
