"""Every convex problem's primitives against finite differences, over Hypothesis-drawn sizes and backends.

Checked for Ridge, Logistic (one λ or grouped) and KernelRidge (λ and γ): g_T = ∇_θ L_T, H v, the mixed
JVP (∂g_T/∂λ) u, its transpose (∂g_T/∂λ)ᵀ v, ∇_θ L_V, and (kernel ridge) ∇_λ L_V — each along random
directions, errors scaled by the norms involved (STYLE.md).
"""

from __future__ import annotations

import numpy as np
from fd import assert_close, central, host, norm
from hypothesis import given
from hypothesis import strategies as st

from hyperreg.problems.kernel_ridge import KernelRidge
from hyperreg.problems.logistic import Logistic
from hyperreg.problems.ridge import Ridge


def make(kind, n, n_val, d, k, seed, be):
    """A problem of ``kind`` on seeded data, with a random θ and positive λ (host-drawn, then placed)."""
    rng = np.random.default_rng(seed)
    X, Xv = rng.normal(size=(n, d)), rng.normal(size=(n_val, d))
    w = rng.normal(size=d)
    if kind == "ridge":
        problem = Ridge(X, X @ w + rng.normal(size=n), Xv, Xv @ w, fit_intercept=bool(seed % 2), backend=be)
    elif kind == "logistic":
        y = (X @ w + rng.normal(size=n) > 0).astype(float)
        y[:2] = [0.0, 1.0]  # both classes present
        groups = None if k == 1 else [list(range(g, d, k)) for g in range(min(k, d))]
        problem = Logistic(X, y, Xv, (Xv @ w > 0).astype(float), groups=groups, backend=be)
    else:
        problem = KernelRidge(X, np.sin(X @ w), Xv, np.sin(Xv @ w), backend=be)
    theta = be.asarray(rng.normal(size=problem.n_params), dtype="float64")
    lam = be.asarray(rng.uniform(0.1, 1.0, size=problem.n_hypers), dtype="float64")
    return problem, theta, lam, rng


sizes = st.fixed_dictionaries(dict(
    n=st.integers(2, 12), n_val=st.integers(1, 8), d=st.integers(1, 5), k=st.integers(1, 3),
    seed=st.integers(0, 2**16)))


def check_primitives(be, problem, theta, lam, rng):
    xp = be.xp
    w = be.asarray(rng.normal(size=theta.shape[0]), dtype="float64")
    v = be.asarray(rng.normal(size=theta.shape[0]), dtype="float64")
    u = be.asarray(rng.normal(size=lam.shape[0]), dtype="float64")
    point = problem.at(theta, lam, None)
    nw, nv, nu = norm(be, w), norm(be, v), norm(be, u)

    fd_loss = central(lambda t: host(be, problem.at(t, lam).loss), theta, w)
    assert_close(be, xp.sum(point.grad * w), fd_loss, nw * (norm(be, point.grad) + 1), what="grad")
    fd_grad = central(lambda t: host(be, problem.at(t, lam).grad), theta, w)
    assert_close(be, point.hvp(w), fd_grad, nw * (norm(be, fd_grad) + 1), what="hvp")
    fd_mixed = central(lambda m: host(be, problem.at(theta, m).grad), lam, u)
    jvp = point.mixed_jvp(u)
    assert_close(be, jvp, fd_mixed, nu * (norm(be, jvp) + 1), what="mixed_jvp")
    mixed = point.mixed(v)
    assert mixed.shape == lam.shape
    assert_close(be, xp.sum(mixed * u), float(host(be, v) @ fd_mixed), nu * nv * (norm(be, jvp) + 1), what="mixed")

    fd_val = central(lambda t: host(be, problem.val_loss(t, None, lam=lam)), theta, w)
    gv = problem.val_grad(theta, None, lam=lam)
    assert_close(be, xp.sum(gv * w), fd_val, nw * (norm(be, gv) + 1), what="val_grad")
    fd_val_lam = central(lambda m: host(be, problem.val_loss(theta, None, lam=m)), lam, u)
    gl = problem.val_grad_lam(theta, lam)
    assert_close(be, xp.sum(gl * u), fd_val_lam, nu * (norm(be, gl) + 1), what="val_grad_lam")


@given(sizes)
def test_ridge_primitives(backend, s):
    check_primitives(backend, *make("ridge", **s, be=backend))


@given(sizes)
def test_logistic_primitives(backend, s):
    check_primitives(backend, *make("logistic", **s, be=backend))


@given(sizes)
def test_kernel_ridge_primitives(backend, s):
    check_primitives(backend, *make("kernel_ridge", **s, be=backend))


def test_hvp_symmetric(numpy_backend):
    """uᵀHv = vᵀHu (a cheap extra, not a substitute for the FD checks above)."""
    be = numpy_backend
    for kind in ("ridge", "logistic", "kernel_ridge"):
        problem, theta, lam, rng = make(kind, 9, 4, 3, 2, 7, be)
        u, v = rng.normal(size=theta.shape[0]), rng.normal(size=theta.shape[0])
        point = problem.at(theta, lam)
        assert abs(u @ point.hvp(v) - v @ point.hvp(u)) <= 1e-12 * (1 + abs(u @ point.hvp(v)))
