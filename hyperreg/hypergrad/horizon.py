"""The estimator study's reference: the exact hypergradient of L_V after T further SGD steps at fixed λ.

From a state θ_0 held fixed (dθ_0/dλ = 0: the past is not the reference's business) and T training
samples s_0 … s_{T−1},

    θ_{t+1} = θ_t − η_t g_T(θ_t, λ; s_t),      h_T = d L_V(θ_T) / dλ

in two ways (DESIGN.md, "the exact whole-run hypergradient"):

    forward    Y_0 = 0,  Y_{t+1} = Y_t − η_t (H_t Y_t + ∂g_T/∂λ),   h_T = Y_Tᵀ ∇L_V(θ_T)     (ICLR-2018 eq. 7)
               k R-sweeps per step (one per hyperparameter); every shorter horizon T' ≤ T costs one
               more validation gradient, Y_{T'}ᵀ ∇L_V(θ_{T'})
    reverse    q_T = ∇L_V(θ_T),  q_t = q_{t+1} − η_t H_t q_{t+1},   h_T = −Σ_t η_t (∂g_T/∂λ)_tᵀ q_{t+1}
               two R-sweeps per step whatever k, θ_0 … θ_{T−1} stored (T · P numbers)

The two agree to rounding (tests/test_compare.py); on the quadratic toy both equal the closed form.
"""

from __future__ import annotations

from .forward import hypergradient, tangent_step, tangent_zeros


def _rates(lr, T):
    """η_0 … η_{T−1}: a float for every step, or one per step (an annealed schedule's slice)."""
    rates = list(lr) if isinstance(lr, (list, tuple)) else [lr] * T
    if len(rates) != T:
        raise ValueError(f"lr must be a float or one learning rate per sample ({T}), got {len(rates)}")
    return rates


def horizon_forward(problem, theta, lam, lr, samples, val_sample=None, horizons=()):
    """h_T' = dL_V(θ_T')/dλ for T' in ``horizons`` and T = len(samples), by the forward tangent Y = dθ/dλ.

    Parameters
    ----------
    problem : Problem (problems/base.py)
    theta, lam : arrays (..., P) and (..., k): θ_0 (held fixed) and the λ of all T steps
    lr : float, or a list of T floats
        η of the SGD steps (one per step: a schedule).
    samples : list of T training samples (``problem.sample``), one per step
    val_sample : the validation sample L_V is evaluated on (the same at every horizon)
    horizons : iterable of int
        Shorter horizons 1 ≤ T' ≤ T to report as well (0 or > T: ignored).

    Returns
    -------
    dict T' → h (..., k), always holding T itself.
    """
    T = len(samples)
    want = {int(n) for n in horizons if 1 <= int(n) <= T} | {T}
    Y, out = tangent_zeros(theta, lam.shape[-1]), {}
    for t, (sample, eta) in enumerate(zip(samples, _rates(lr, T))):
        point = problem.at(theta, lam, sample)
        Y = tangent_step(point, Y, eta)
        theta = theta - eta * point.grad
        if t + 1 in want:
            out[t + 1] = hypergradient(Y, problem.val_grad(theta, val_sample, lam=lam))
    return out


def horizon_reverse(problem, theta, lam, lr, samples, val_sample=None):
    """h_T = dL_V(θ_T)/dλ, T = len(samples), by reverse mode through the stored steps (module docstring).

    Shapes as ``horizon_forward``; returns h (..., k).
    """
    thetas, rates = [], _rates(lr, len(samples))
    for sample, eta in zip(samples, rates):
        thetas.append(theta)
        theta = theta - eta * problem.at(theta, lam, sample).grad
    q = problem.val_grad(theta, val_sample, lam=lam)  # q_T
    h = 0.0 * lam
    for theta_t, sample, eta in zip(reversed(thetas), reversed(samples), reversed(rates)):
        point = problem.at(theta_t, lam, sample)
        h = h - eta * point.mixed(q)  # (∂g_T/∂λ)_tᵀ q_{t+1}
        q = q - eta * point.hvp(q)  # q_t = (I − η_t H_t) q_{t+1}
    return h


__all__ = ["horizon_forward", "horizon_reverse"]
