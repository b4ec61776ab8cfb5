"""Weight penalties on the hooked layers' weights W_l (biases and batch-norm scales unpenalized).

- L2:      L_T += Σ_l (λ_l / 2) ‖W_l‖²       ∂g_W_l/∂λ_l = W_l       R{g_W_l} += λ_l RW_l
- ℓ1, ℓ½:  L_T += Σ_l λ_l Σ_ij ψ(W_l,ij)     ∂g_W_l/∂λ_l = ψ′(W_l)   R{g_W_l} += λ_l ψ″(W_l) ⊙ RW_l,
  ψ smoothed at 0 by ε (``penalty_eps``): ψ₁(w) = √(w² + ε²), ψ½(w) = (w² + ε²)^¼ (Lu 2017, §6)

Each penalty object carries all its terms: ``value`` (L_T), ``dgrad`` (∂g_W/∂λ per unit λ, which is both
the gradient term λ·dgrad and the mixed term ⟨v_W, dgrad⟩), and ``curv`` (the HVP's diagonal ψ″, None for
L2, whose is the identity).
"""

from __future__ import annotations

from array_api_compat import array_namespace

from ..backends.inplace import ops
from .base import Regularizer, inner

# ε of ℓ1/ℓ½: well below the |W| of a trained net (init std √(2/d) ≈ 0.05–0.2), so ψ ≈ |w| or |w|^½ there.
# With r = w² + ε²:
#   ℓ1:  ψ = r^½   ψ′ = w r^(−½)       ψ″ = ε² r^(−3/2)                  (|w| + O(ε²/|w|) away from 0)
#   ℓ½:  ψ = r^¼   ψ′ = ½ w r^(−3/4)   ψ″ = (½ε² − ¼w²) r^(−7/4)        (|w|^½ away from 0)
# ψ(0) = ε or ε^½ is a constant that moves L_T, not its derivatives. The curvature at 0 is ψ″(0) = 1/ε (ℓ1)
# and ½ε^(−3/2) (ℓ½): an SGD step η is stable on a weight near 0 while η λ ψ″(0) < 2.
PENALTY_EPS = 1e-3


def l1_value(xp, W, eps):
    """Σ ψ(W) with ψ(w) = √(w² + ε²), the smoothed |w|."""
    return xp.sum(xp.sqrt(W * W + eps * eps))


def l1_grad(xp, W, eps):
    """ψ′(W) = W / √(W² + ε²), elementwise."""
    return W / xp.sqrt(W * W + eps * eps)


def l1_curv(xp, W, eps):
    """ψ″(W) = ε² / (W² + ε²)^(3/2), elementwise: the diagonal of the penalty's Hessian per unit λ."""
    r = W * W + eps * eps
    return eps * eps / (r * xp.sqrt(r))


def lhalf_value(xp, W, eps):
    """Σ ψ(W) with ψ(w) = (w² + ε²)^¼, the smoothed |w|^½."""
    return xp.sum(xp.sqrt(xp.sqrt(W * W + eps * eps)))


def lhalf_grad(xp, W, eps):
    """ψ′(W) = ½ W (W² + ε²)^(−3/4), elementwise."""
    q = xp.sqrt(xp.sqrt(W * W + eps * eps))  # r^¼
    return 0.5 * W / (q * q * q)


def lhalf_curv(xp, W, eps):
    """ψ″(W) = (½ε² − ¼W²) (W² + ε²)^(−7/4), elementwise (negative for |w| > √2 ε: ℓ½ is concave there)."""
    r = W * W + eps * eps
    q = xp.sqrt(xp.sqrt(r))  # r^¼
    return (0.5 * eps * eps - 0.25 * W * W) / (r * q * q * q)


PSI = {"l1": (l1_value, l1_grad, l1_curv), "lhalf": (lhalf_value, lhalf_grad, lhalf_curv)}


def _add_scaled(g, lam, D):
    """g + λ D, in place into g (a fresh gradient array or a slot of the caller's buffer); None is zero."""
    if D is None:
        return g
    if g is None:
        return lam * D
    return ops(array_namespace(g)).axpy(g, lam, D)


class WeightPenalty(Regularizer):
    """λ_l Σ ψ(W_l) on each hooked layer's weights; subclasses give ψ, ψ′, ψ″ (``PSI``)."""

    what = "a penalty strength"

    def value(self, xp, W, eps):
        return PSI[self.kind][0](xp, W, eps)

    def dgrad(self, xp, W, eps):
        """∂g_W/∂λ per unit λ: ψ′(W)."""
        return PSI[self.kind][1](xp, W, eps)

    def curv(self, xp, W, eps):
        """ψ″(W), the penalty's HVP diagonal per unit λ."""
        return PSI[self.kind][2](xp, W, eps)

    def penalty(self, xp, Ws, lams, eps):
        """Σ_l λ_l Σ ψ(W_l)."""
        return sum(lam * self.value(xp, W, eps) for W, lam in zip(Ws, lams))


    # how the penalty enters each primitive at a point: ``point`` gives ``xp`` and caches per kind
    def add_grad(self, point, g_Ws, lams):
        """g_W_l += λ_l ψ′(W_l) (L2: λ_l W_l)."""
        D = point.cached(self.kind, "dgrad", self.dgrad)
        return [_add_scaled(g, lam, d) for g, lam, d in zip(g_Ws, lams, D)]

    def mixed(self, point, block, v, vWs):
        """(∂g_T/∂λ)ᵀ v on this block: Tᵀ[⟨v_W_l, ψ′(W_l)⟩]."""
        xp = point.xp
        D = point.cached(self.kind, "dgrad", self.dgrad)
        return block.gather(xp, [inner(xp, vW, d) for vW, d in zip(vWs, D)], v)

    def add_seed(self, point, Rg_Ws, seeds):
        """(∂g_W_l/∂λ_l) u_l = u_l ψ′(W_l) added to R{g_W_l} (seeds: per-layer u, None where zero)."""
        D = point.cached(self.kind, "dgrad", self.dgrad)
        return [g if s is None else _add_scaled(g, s, d) for g, s, d in zip(Rg_Ws, seeds, D)]

    def add_curv(self, point, Rg_Ws, RWs, lams):
        """R{λ_l ψ′(W_l)} = λ_l ψ″(W_l) ⊙ RW_l added to R{g_W_l} (L2: λ_l RW_l)."""
        C = point.cached(self.kind, "curv", self.curv)
        return [_add_scaled(g, lam, RW if c is None else c * RW) for g, lam, c, RW in zip(Rg_Ws, lams, C, RWs)]


class L2(WeightPenalty):
    """(λ_l / 2) ‖W_l‖²: weight decay (Luketina et al. 2016)."""

    kind, what, default, bounds = "l2", "an L2 strength", 1e-3, (1e-8, 10.0)

    def dgrad(self, xp, W, eps):
        """∂g_W/∂λ = W."""
        return W

    def curv(self, xp, W, eps):
        """ψ″ = 1: the R-term is λ RW itself (None: no multiply)."""
        return None

    def penalty(self, xp, Ws, lams, eps):
        """Σ_l (λ_l / 2) ‖W_l‖²."""
        return sum(lam * inner(xp, W, W) for W, lam in zip(Ws, lams)) / 2


class L1(WeightPenalty):
    """λ_l Σ √(W² + ε²): the smoothed ℓ1 (Lu 2017, §6)."""

    kind, what, default = "l1", "an ℓ1 strength", 1e-4
    bounds = (1e-10, 1.0)  # λ ≥ 1 zeroes a softmax net's weights


class LHalf(WeightPenalty):
    """λ_l Σ (W² + ε²)^¼: the smoothed ℓ½ (Lu 2017, §6)."""

    kind, what, default = "lhalf", "an ℓ½ strength", 1e-4
    bounds = (1e-10, 1.0)
