"""One problem, every estimator: each hypergradient estimate of dL_V(θ_K)/dλ from the same state.

From (θ_0, λ, Y_0) and one draw of K training samples s_0 … s_{K−1} and a validation sample, the
K SGD steps θ_{t+1} = θ_t − η g_T(θ_t, λ; s_t) are run once while every estimator follows them:

    exact        Y_0 carried, no clip: Y_Kᵀ g_V(θ_K) (the reference)
    clip<r>      Y_0 carried, every column projected on the ball of radius r each step (eq. 9)
    discounted   Y_0 carried, Y ← μY before each step
    unroll<k>    Y ← 0 at step K − k: the tangent of the last k steps only
    greedy       −η (∂g_T/∂λ)ᵀ g_V(θ_K)   at step K − 1 (equals unroll1 without an antithetic pair)
    greedy-fast  −η (∂g_T/∂λ)ᵀ g_V(θ_{K−1})
    gtgv         −(∂g_T/∂λ)ᵀ g_V(θ_{K−1}) (Unroll1-gTgV, no η)

Over ``n_samples`` independent draws each estimator's mean, its bias against exact (paired: the mean
of estimate − exact over the same draws), and its variance are reported.
"""

from __future__ import annotations

from array_api_compat import array_namespace

from .forward import ClipR, Discounted, ExactKStep, hypergradient, tangent_step, tangent_zeros
from .greedy import greedy_step, unroll1_gtgv_step


def _policies(K, tangent, clip_r, mu, unroll_ks):
    """name → (policy, Y at the start, step at which Y is reset to 0 or None)."""
    out = {"exact": (ExactKStep(), tangent, None), f"clip{clip_r:g}": (ClipR(clip_r), tangent, None),
           f"discounted{mu:g}": (Discounted(mu), tangent, None)}
    for k in unroll_ks:
        out[f"unroll{k}"] = (ExactKStep(), tangent, K - k)
    return out


def _one_draw(problem, theta, lam, lr, K, rng, tangent, clip_r, mu, unroll_ks, antithetic):
    """Every estimator's estimate along one draw of K training samples and a validation sample."""
    samples = [problem.sample(rng) for _ in range(K)]
    val_sample = problem.val_sample(rng)
    policies = _policies(K, tangent, clip_r, mu, unroll_ks)
    Ys = {name: Y for name, (_, Y, _) in policies.items()}
    for t, sample in enumerate(samples):
        if t == K - 1:
            last = {"greedy": greedy_step(problem, theta, lam, sample, val_sample, lr, antithetic=antithetic),
                    "greedy-fast": greedy_step(problem, theta, lam, sample, val_sample, lr, True, antithetic),
                    "gtgv": unroll1_gtgv_step(problem, theta, lam, sample, val_sample, antithetic)}
        point = problem.at(theta, lam, sample)
        for name, (policy, _, reset_at) in policies.items():
            Y = 0.0 * Ys[name] if t == reset_at else Ys[name]
            Ys[name] = tangent_step(point, Y, lr, policy)
        theta = theta - lr * point.grad
    g_val = problem.val_grad(theta, val_sample)
    return {**{name: hypergradient(Y, g_val) for name, Y in Ys.items()}, **last}


def compare_estimators(problem, theta, lam, lr, K, n_samples, rng, tangent=None, clip_r=5.0, mu=0.9,
                       unroll_ks=(1, 5), antithetic=True):
    """Mean, bias against the exact K-step hypergradient, and variance of every estimator.

    Parameters
    ----------
    problem : Problem (problems/base.py); ``sample(rng)`` and ``val_sample(rng)`` are drawn per draw.
    theta, lam : arrays (..., P) and (..., k): the state every estimator starts from.
    lr : float
        η of the K SGD steps.
    K : int
        Horizon: every estimator targets dL_V(θ_K)/dλ.
    n_samples : int
        Independent draws of (s_0 … s_{K−1}, validation sample).
    rng : the problem's random stream (a BackendRNG for the MLP; unused by deterministic problems).
    tangent : array (..., P, k) or None
        Y_0 = dθ_0/dλ carried in by exact, clip and discounted (None: 0, θ_0 independent of λ).
    clip_r, mu : ClipR's radius and Discounted's μ.
    unroll_ks : window lengths k ≤ K of the UnrollK estimators.
    antithetic : bool
        The greedy estimators average over the noise pair (ε, −ε) where the problem has one (the default
        everywhere, ``hypergrad.greedy``); the forward-mode ones follow the single sample ε.

    Returns
    -------
    dict name → {"mean", "bias", "var"}, each an array (..., k) on the problem's backend.
    """
    if tangent is None:
        tangent = tangent_zeros(theta, lam.shape[-1])
    unroll_ks = tuple(k for k in unroll_ks if 1 <= k <= K)
    draws = [_one_draw(problem, theta, lam, lr, K, rng, tangent, clip_r, mu, unroll_ks, antithetic)
             for _ in range(n_samples)]
    xp = array_namespace(theta)
    exact = xp.stack([d["exact"] for d in draws])
    out = {}
    for name in draws[0]:
        est = xp.stack([d[name] for d in draws])
        out[name] = {"mean": xp.mean(est, axis=0), "bias": xp.mean(est - exact, axis=0),
                     "var": xp.var(est, axis=0, correction=1 if n_samples > 1 else 0)}
    return out
