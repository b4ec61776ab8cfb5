"""One step of each timed method, by the library's own functions (nothing re-implemented here).

    plain            g = ∇_θ L_T;  θ' = θ − η g into a second buffer, as the tuner steps       (``MLP.at``,
                     (it double-buffers θ: no θ-sized temporary)                              ``ops.step``)
    hvp              H v by one R-operator sweep on the plain sweep's cache       (``TrainPoint.hvp``)
    greedy-l2(-noise) −η (∂g_T/∂λ)ᵀ ∇L_V(θ'), one noise sample (the papers')      (``hypergrad.greedy``)
    greedy-l2-noise-anti  the same averaged over the antithetic pair (ε, −ε): hyperreg's default
    tangent-step     Y' = Y − η (H Y + ∂g_T/∂λ), in place as in the tuner      (``hypergrad.tangent_step``)
    clip-l2-noise    Algorithm 1: θ, Y stepped, Y clipped, λ ← λ − η Yᵀ g_V(θ')       (``ClipR``,
                     ``hypergradient``)
    ift-cg10         −(∂g_T/∂λ)ᵀ q with H q = ∇L_V by exactly ``CG_ITERS`` CG steps, no host read
                                                                          (``hypergrad.linalg.cg_fixed``)
"""

from __future__ import annotations

from ..backends.inplace import ops
from ..hypergrad import ClipR, greedy, hypergradient, tangent_step
from ..hypergrad.linalg import cg_fixed
from .cases import LR
from .flops import CG_ITERS, matmul_dims

CLIP_RADIUS = 1.0  # r of ClipR's column clip


def method_calls(case):
    """name → a zero-argument callable doing one step of that method (returns its arrays)."""
    c = case
    train, val = (c.X, c.y), (c.Xv, c.yv)

    def plain():
        grad = c.net_l2.at(c.theta, c.lam_l2, c.X, c.y, None).grad
        return ops(c.backend.xp).step(c.theta_out, c.theta, -LR, grad)

    def hvp():
        return c.net_l2.at(c.theta, c.lam_l2, c.X, c.y, None).hvp(c.v)

    def greedy_l2():  # greedy computes θ' = θ − η g itself: the step needs nothing else
        return greedy(c.net_l2, c.theta, c.lam_l2, train, None, val, LR)

    def greedy_noise():
        return greedy(c.net_noise, c.theta, c.lam_noise, train, c.noise, val, LR, antithetic=False)

    def greedy_noise_anti():
        return greedy(c.net_noise, c.theta, c.lam_noise, train, c.noise, val, LR, antithetic=True)

    def tangent():  # in place, as the tuner steps its own Y (column by column through one scratch)
        point = c.net_l2.at(c.theta, c.lam_l2, c.X, c.y, None)
        return c.theta - LR * point.grad, tangent_step(point, c.tangent_l2, LR, inplace=True)

    def clip():  # ClipR (Algorithm 1): θ and Y stepped, Y clipped, λ ← λ − c η Yᵀ g_V(θ')
        point = c.net_noise.at(c.theta, c.lam_noise, c.X, c.y, c.noise)
        theta_new = c.theta - LR * point.grad
        Y = tangent_step(point, c.tangent_noise, LR, ClipR(r=CLIP_RADIUS), inplace=True)
        h = hypergradient(Y, c.net_noise.val_grad(theta_new, c.Xv, c.yv))
        return theta_new, Y, c.lam_noise - LR * h

    def ift():
        point = c.net_l2.at(c.theta, c.lam_l2, c.X, c.y, None)
        H, b = point.hvp, c.net_l2.val_grad(c.theta, c.Xv, c.yv)
        q = cg_fixed(H, b, CG_ITERS)
        return -point.mixed(q)

    return {"plain": plain, "hvp": hvp, "greedy-l2": greedy_l2, "greedy-l2-noise": greedy_noise,
            "greedy-l2-noise-anti": greedy_noise_anti, "tangent-step": tangent, "clip-l2-noise": clip,
            "ift-cg10": ift}


def matmul_call(case):
    """The plain step's matmuls alone, on the same shapes and layouts (h W, hᵀ g_a, g_a Wᵀ); a conv layer's
    as the (n·H'W' × C_in k²) @ (C_in k² × C_out) matmul of the same FLOPs (``flops.matmul_dims``)."""
    rng, dt = case.backend.rng(1), case.dtype
    ops = []
    for l, (m, a, b) in enumerate(matmul_dims(case.sizes)):
        rows = case.batch * m
        h, W, g_a = rng.normal((rows, a), dt), rng.normal((a, b), dt), rng.normal((rows, b), dt)
        ops.append((h, W, g_a, l > 0))

    def run():
        return [(h @ W, h.T @ g_a, g_a @ W.T if need else None) for h, W, g_a, need in ops]

    return run
