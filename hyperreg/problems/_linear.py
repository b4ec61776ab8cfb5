"""Shared by the full-batch convex problems: input checks, the design Z = [X, 1], grouped L2 penalties.

A linear model's θ = [w, b] (b last, only when ``fit_intercept``); the penalty is
Σ_j (Gλ)_j θ_j² / 2 with G (P, k) the 0/1 membership of coefficient j in group k (the intercept row 0):

    penalty = ½ θᵀ diag(Gλ) θ     ∇_θ = (Gλ) ⊙ θ     (∂g/∂λ)ᵀ v = Gᵀ(θ ⊙ v)     (∂g/∂λ) u = (Gu) ⊙ θ
"""

from __future__ import annotations

from array_api_compat import array_namespace, device

from .. import _checks as chk
from ..backends import get_backend
from .base import Deterministic, Point


def as_data(be, X, y, x_name, y_name, dtype="float64"):
    """X (n, d) and y (n,) on the backend in ``dtype``; a clear ValueError for an empty, ragged or NaN input."""
    X, y = be.asarray(X, dtype=dtype), be.asarray(y, dtype=dtype)
    if X.ndim != 2:
        raise ValueError(f"{x_name} must be 2-D (n_samples, n_features), got shape {tuple(X.shape)}")
    if X.shape[0] == 0:
        raise ValueError(f"{x_name} is empty (0 samples); give at least one example "
                         "(for a validation set: lower the split's training fraction)")
    if X.shape[1] == 0:
        raise ValueError(f"{x_name} has 0 features; give at least one column")
    if y.shape != (X.shape[0],):
        raise ValueError(f"{y_name} must have shape ({X.shape[0]},) to match {x_name}, got {tuple(y.shape)}")
    chk.check_finite(X, x_name)
    chk.check_finite(y, y_name)
    return X, y


def check_same_features(X_train, X_val):
    if X_val.shape[1] != X_train.shape[1]:
        raise ValueError(f"X_val must have the {X_train.shape[1]} features of X_train, got {X_val.shape[1]}")


def design(X, fit_intercept):
    """Z = [X, 1] (or X), shape (n, P)."""
    if not fit_intercept:
        return X
    xp = array_namespace(X)
    return xp.concat([X, xp.ones((X.shape[0], 1), dtype=X.dtype, device=device(X))], axis=1)


def group_matrix(be, n_features, groups, fit_intercept, dtype="float64"):
    """G (P, k): G[j, g] = 1 when coefficient j is in group g. ``groups`` None: one group of all features.

    Raises ValueError for an empty group, an index out of range, or a feature listed twice.
    """
    if groups is None:
        groups = [list(range(n_features))]
    if isinstance(groups, (str, bytes)) or not hasattr(groups, "__len__") or len(groups) == 0:
        raise ValueError(f"groups must be a non-empty list of column-index lists, got {groups!r}")
    seen = {}
    for g, cols in enumerate(groups):
        cols = list(cols)
        if not cols:
            raise ValueError(f"groups[{g}] is empty; every group needs at least one column index")
        for j in cols:
            if isinstance(j, bool) or not isinstance(j, int) or not 0 <= j < n_features:
                raise ValueError(f"groups[{g}] holds {j!r}; column indices must be ints in [0, {n_features - 1}]")
            if j in seen:
                raise ValueError(f"column {j} is in groups[{seen[j]}] and groups[{g}]; give each column one group")
            seen[j] = g
    P = n_features + int(fit_intercept)
    rows = [[1.0 if seen.get(j) == g else 0.0 for g in range(len(groups))] for j in range(P)]
    return be.asarray(rows, dtype=dtype)


def penalty_weights(G, lam):
    """Gλ: each coefficient's L2 strength, shape (P,)."""
    xp = array_namespace(G, lam)
    return xp.sum(G * lam, axis=1)


class LinearPoint(Point):
    """L_T = mean ℓ(z, y) + ½ θᵀdiag(Gλ)θ at one (θ, λ), z = Zθ; the loss gives ℓ' and ℓ'' per sample."""

    def __init__(self, problem: "LinearProblem", theta, lam):
        xp = array_namespace(theta, lam)
        self.problem, self.theta, self.lam, self.xp = problem, theta, lam, xp
        self.weights = penalty_weights(problem.G, lam)
        Z, n = problem.Z, problem.Z.shape[0]
        loss, self.d1, self.d2 = problem.loss_terms(Z @ theta, problem.y)
        self.loss = loss + 0.5 * xp.sum(self.weights * theta * theta)
        self.grad = Z.T @ self.d1 / n + self.weights * theta

    def hvp(self, v):
        """H v = Zᵀ diag(ℓ'') Z v / n + (Gλ) ⊙ v."""
        Z = self.problem.Z
        return Z.T @ (self.d2 * (Z @ v)) / Z.shape[0] + self.weights * v

    def mixed(self, v):
        """(∂g_T/∂λ)ᵀ v = Gᵀ(θ ⊙ v), shape (k,)."""
        return (self.theta * v) @ self.problem.G

    def mixed_jvp(self, u):
        """(∂g_T/∂λ) u = (Gu) ⊙ θ, shape (P,)."""
        return (self.problem.G @ u) * self.theta


class LinearProblem(Deterministic):
    """A full-batch linear model: ``loss_terms(z, y) -> (mean ℓ, ℓ'/1, ℓ'')`` defines it (see subclasses).

    The protocol of problems/base.py; samples are None (full batch).
    """

    def __init__(self, X_train, y_train, X_val, y_val, groups=None, fit_intercept=True, backend="numpy"):
        self.backend = be = get_backend(backend)
        X, y = as_data(be, X_train, y_train, "X_train", "y_train")
        Xv, yv = as_data(be, X_val, y_val, "X_val", "y_val")
        check_same_features(X, Xv)
        self.fit_intercept = bool(fit_intercept)
        self.y, self.y_val = self.check_targets(y, "y_train"), self.check_targets(yv, "y_val")
        self.Z, self.Z_val = design(X, self.fit_intercept), design(Xv, self.fit_intercept)
        self.G = group_matrix(be, X.shape[1], groups, self.fit_intercept)
        self.n_params, self.n_hypers = self.Z.shape[1], self.G.shape[1]
        self.hyper_names = ("lam",) if self.n_hypers == 1 else tuple(f"lam_{g}" for g in range(self.n_hypers))

    def check_targets(self, y, name):
        return y

    def zeros_theta(self):
        return self.backend.xp.zeros((self.n_params,), dtype=self.Z.dtype, device=device(self.Z))

    def full_lam(self, value):
        xp = self.backend.xp
        return xp.zeros((self.n_hypers,), dtype=self.Z.dtype, device=device(self.Z)) + value

    # --- the protocol (problems/base.py) ---------------------------------------------------------

    def at(self, theta, lam, sample=None) -> LinearPoint:
        return LinearPoint(self, theta, lam)

    def val_loss(self, theta, val_sample=None, lam=None):
        """L_V(θ) = mean ℓ(Z_V θ, y_V): no penalty."""
        return self.loss_terms(self.Z_val @ theta, self.y_val)[0]

    def val_grad(self, theta, val_sample=None, lam=None):
        """∇_θ L_V = Z_Vᵀ ℓ'(Z_V θ) / n_V."""
        d1 = self.loss_terms(self.Z_val @ theta, self.y_val)[1]
        return self.Z_val.T @ d1 / self.Z_val.shape[0]

    def decision(self, theta, X):
        """z = Zθ for new inputs X (n, d) on the backend."""
        return design(X, self.fit_intercept) @ theta
