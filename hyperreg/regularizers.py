"""Regularizers of the MLP: the hyperparameter blocks, the L2, ℓ1 and ℓ½ penalties, additive noise and dropout.

λ is one flat vector in ``hyper_names`` order: an L2 block, an ℓ1 block, an ℓ½ block, a noise block, a
keep-probability block (absent blocks take no room, so nets without ℓ1/ℓ½ keep their order).
Per-layer versus tied is a linear map T from a block's entries to the L dense layers (``per_layer``)
and its transpose Tᵀ for the read-outs (``gather``); nothing in ``nn/`` knows about tying.

- L2:     L_T += Σ_l (λ_l / 2) ‖W_l‖²       ∂g_W_l/∂λ_l = W_l
- ℓ1, ℓ½:  L_T += Σ_l λ_l Σ_ij ψ(W_l,ij)     ∂g_W_l/∂λ_l = ψ′(W_l),  R{g_W_l} += λ_l ψ″(W_l) ⊙ RW_l, with ψ
  smoothed at 0 by ε (``penalty_eps``): ψ₁(w) = √(w² + ε²), ψ½(w) = (w² + ε²)^¼ (Lu 2017, §6)
- noise:  h̃_l = h_l + σ_l ε_l              ∂g/∂σ by the R-sweep (``nn.sweep``)
- dropout: h̃_l = (m_l / p_l) ⊙ h_l with m_l = 1[U_l < p_l]: the uniform U_l is the noise sample, so
  masks at p ± δ drawn from the same U_l are coupled exactly as DESIGN.md asks
  (m₋ = m₊ · Bernoulli((p−δ)/(p+δ)) in distribution).
"""

from __future__ import annotations

from dataclasses import dataclass

KINDS = ("l2", "l1", "lhalf", "noise", "keep")
SMOOTH_PENALTIES = ("l1", "lhalf")  # λ Σ ψ(w) on the weights W, ψ smoothed at 0 by ε
MODES = ("per-layer", "tied", None)


@dataclass(frozen=True)
class HyperBlock:
    """One regularizer's slice of λ and its map T to the L dense layers.

    ``layer_index[l]`` is the entry of the block that layer l reads (per-layer: l; tied: one entry,
    or for noise ``noise[input]`` for layer 0 and ``noise[hidden]`` for the others).
    """

    kind: str
    names: tuple
    layer_index: tuple
    offset: int

    @property
    def size(self) -> int:
        return len(self.names)

    @property
    def slice(self) -> slice:
        return slice(self.offset, self.offset + self.size)

    def per_layer(self, lam):
        """T λ_block: the value each dense layer reads, as 0-d arrays (no host transfer)."""
        return [lam[self.offset + j] for j in self.layer_index]

    def gather(self, xp, per_layer_values, like):
        """Tᵀ: sum per-layer read-outs into the block's entries; a 1-D array of ``self.size``."""
        out = [None] * self.size
        for j, val in zip(self.layer_index, per_layer_values):
            out[j] = val if out[j] is None else out[j] + val
        zero = xp.zeros((), dtype=like.dtype, device=_device(like))
        return xp.stack([zero if v is None else v for v in out])


def _device(x):
    from array_api_compat import device

    return device(x)


def make_block(kind: str, mode, n_layers: int, offset: int) -> HyperBlock | None:
    """The block for regularizer ``kind`` under ``mode`` ("per-layer", "tied" or None: absent)."""
    if mode is None:
        return None
    if mode == "per-layer":
        names = tuple(f"{kind}[{l}]" for l in range(n_layers))
        return HyperBlock(kind, names, tuple(range(n_layers)), offset)
    if kind == "noise" and n_layers > 1:  # tied noise: the input and the hidden layers apart
        return HyperBlock(kind, ("noise[input]", "noise[hidden]"), (0,) + (1,) * (n_layers - 1), offset)
    return HyperBlock(kind, (kind,), (0,) * n_layers, offset)


# --- L2: (λ_l / 2) ‖W_l‖² --------------------------------------------------------------------------


def l2_penalty(xp, Ws, lams):
    """Σ_l (λ_l / 2) ‖W_l‖²."""
    return sum(lam * xp.sum(W * W) for W, lam in zip(Ws, lams)) / 2


def l2_mixed(xp, Ws, vWs):
    """Per layer ∂/∂λ_l (vᵀ g) = ⟨v_W_l, W_l⟩."""
    return [xp.sum(vW * W) for W, vW in zip(Ws, vWs)]


# --- ℓ1 and ℓ½, smoothed: λ_l Σ ψ(W_l) --------------------------------------------------------------
# ε = ``MLP(penalty_eps=…)``, default PENALTY_EPS. With r = w² + ε²:
#   ℓ1:  ψ = r^½   ψ′ = w r^(−½)       ψ″ = ε² r^(−3/2)                  (|w| + O(ε²/|w|) away from 0)
#   ℓ½:  ψ = r^¼   ψ′ = ½ w r^(−3/4)   ψ″ = (½ε² − ¼w²) r^(−7/4)        (|w|^½ away from 0)
# ψ(0) = ε or ε^½ is a constant that moves L_T, not its derivatives. The curvature at 0 is ψ″(0) = 1/ε (ℓ1)
# and ½ε^(−3/2) (ℓ½): an SGD step η is stable on a weight near 0 while η λ ψ″(0) < 2.

PENALTY_EPS = 1e-3  # well below the |W| of a trained net (init std √(2/d) ≈ 0.05–0.2): ψ ≈ |w| or |w|^½ there


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


def smooth_penalty(xp, kind, Ws, lams, eps):
    """Σ_l λ_l Σ ψ(W_l) for ``kind`` in ``SMOOTH_PENALTIES``."""
    value = PSI[kind][0]
    return sum(lam * value(xp, W, eps) for W, lam in zip(Ws, lams))


# --- dropout with coupled masks ---------------------------------------------------------------------


def dropout_scale(xp, uniform, keep):
    """d = m / p with m = 1[U < p] (inverted dropout: E[d] = 1, so validation needs no rescaling)."""
    return xp.astype(uniform < keep, uniform.dtype) / keep


def keep_shifts(xp, keep, delta: float):
    """(p₊, p₋) for the central difference in p, kept inside (0, 1]: p₊ = min(p + δ, 1),
    p₋ = max(p − δ, p / 2); the difference is divided by p₊ − p₋. ``keep`` is a 0-d array."""
    return xp.clip(keep + delta, max=1.0), xp.maximum(keep - delta, keep / 2)
