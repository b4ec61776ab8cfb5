"""Implicit hypergradients (implicit function theorem), and the IFT estimator the tuner runs online.

At a stationary θ*(λ) of L_T, g_T(θ*(λ), λ) = 0 gives dθ*/dλ = −H⁻¹ ∂g_T/∂λ, hence

    H q = ∇_θ L_V(θ)                          (CG, or the Neumann series q = α Σ_j (I − αH)^j ∇_θ L_V)
    h   = ∇_λ L_V − (∂g_T/∂λ)ᵀ q              (DESIGN.md "Implicit / HOAG"; Pedregosa 2016 eq. 4)

with H = ∇²_θθ L_T (+ δI, the damping that makes a non-convex MLP's Hessian positive definite).
∇_λ L_V is the problem's ``val_grad_lam`` (0 unless L_V depends on λ directly: kernel ridge's width γ).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, NamedTuple

from .._checks import ConvergenceWarning
from .estimator import Estimator
from .linalg import cg, neumann, norm, power_alpha

SOLVERS = ("cg", "neumann")


class IFTResult(NamedTuple):
    """h (n_hypers,); q ≈ H⁻¹∇_θL_V (n_params,), a warm start; the solver's iterations; whether it met tol."""

    h: Any
    q: Any
    iterations: int
    converged: bool


def ift_hypergradient(problem, theta, lam, sample=None, val_sample=None, solver="cg", tol=1e-10,
                      maxiter=1000, damping=0.0, q0=None, alpha=None) -> IFTResult:
    """h = ∇_λL_V − (∂²L_T/∂θ∂λ)ᵀ q with (H + δI) q = ∇_θ L_V, at (θ, λ) on ``sample``.

    Parameters
    ----------
    problem : a problem (problems/base.py)
    theta : array (n_params,)
        Should be close to a stationary point of L_T(·, λ): h is exact there and only there.
    lam : array (n_hypers,)
    solver : {"cg", "neumann"}
    tol : float
        Relative residual ‖∇_θL_V − (H + δI)q‖ ≤ tol ‖∇_θL_V‖.
    maxiter : int
        CG iterations, or Neumann terms.
    damping : float
        δ ≥ 0 (the MLP's Hessian is indefinite away from a minimum; H + δI restores CG's assumptions).
    q0 : array (n_params,), optional
        Warm start (the previous outer iteration's q).
    alpha : float, optional
        Neumann step α; None: 1/λ̂_max by power iteration.

    Returns
    -------
    IFTResult(h, q, iterations, converged); a ConvergenceWarning with the residual when not converged.
    """
    if solver not in SOLVERS:
        raise ValueError(f"solver must be one of {SOLVERS}, got {solver!r}")
    if not damping >= 0:
        raise ValueError(f"damping must be ≥ 0 (H + δI), got {damping!r}")
    point = problem.at(theta, lam, sample)
    g_val = problem.val_grad(theta, val_sample, lam=lam)

    def matvec(v):
        return point.hvp(v) + damping * v if damping else point.hvp(v)

    if solver == "cg":
        q, its, ok = cg(matvec, g_val, q0, tol, maxiter)
    else:
        alpha = power_alpha(matvec, g_val) if alpha is None else alpha
        q, its, ok = neumann(matvec, g_val, alpha, q0, tol, maxiter)
    if not ok:
        res = float(norm(g_val - matvec(q)) / norm(g_val))
        warnings.warn(f"{solver} stopped after {its} iterations with relative residual {res:.2e} > tol {tol:.1e}; "
                      "raise maxiter, damping, or tol", ConvergenceWarning, stacklevel=2)
    h = problem.val_grad_lam(theta, lam, val_sample) - point.mixed(q)
    return IFTResult(h, q, its, ok)


@dataclass(frozen=True)
class IFT(Estimator):
    """The implicit-function hypergradient at the current (θ_t, λ_t), its linear solve warm-started from
    the previous hyper step's q (state ``"q"``). Exact only at a stationary θ; online it is an
    approximation whose solve is deliberately short (``maxiter``), damped (δ) because the MLP's Hessian
    is indefinite (Pedregosa 2016; Lorraine et al. 2020)."""

    solver: str = "cg"
    maxiter: int = 10
    tol: float = 0.1
    damping: float = 0.1  # measured on digits 64-50-10, every=10, 2000 steps: CG's median relative residual
    #                       after 10 iterations was 4e6 at δ=1e-3, 79 at 1e-2, 0.07 at 0.1, 7e-4 at 1.0

    def init_state(self, problem, theta, momentum=None):
        return {"q": None}

    def hypergradient(self, state, step):
        res = ift_hypergradient(step.problem, step.theta, step.lam, step.sample, step.val_sample, self.solver,
                                self.tol, self.maxiter, self.damping, q0=state.get("q"))
        return res.h, {**state, "q": res.q}


__all__ = ["IFT", "IFTResult", "SOLVERS", "ift_hypergradient"]
