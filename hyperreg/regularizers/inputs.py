"""Regularizers on the input of each hooked layer (DESIGN.md "Additive noise", "Dropout keep-probability").

- noise:   h̃_l = h_l + σ_l ε_l, ε_l ~ N(0, I) the sample; ∂g/∂σ by the R-sweep seeded at σ (``nn.sweep``)
- dropout: h̃_l = (m_l / p_l) ⊙ h_l with m_l = 1[U_l < p_l]: the uniform U_l is the noise sample, so masks
  at p ± δ drawn from the same U_l are coupled exactly as DESIGN.md asks (m₋ = m₊ · Bernoulli((p−δ)/(p+δ))
  in distribution); ∂g_T/∂p ≈ (g_T(p₊) − g_T(p₋)) / (p₊ − p₋), an estimate, not exact.
"""

from __future__ import annotations

from .base import Regularizer, inner


def dropout_scale(xp, uniform, keep):
    """d = m / p with m = 1[U < p] (inverted dropout: E[d] = 1, so validation needs no rescaling)."""
    return xp.astype(uniform < keep, uniform.dtype) / keep


def keep_shifts(xp, keep, delta: float):
    """(p₊, p₋) for the central difference in p, kept inside (0, 1]: p₊ = min(p + δ, 1),
    p₋ = max(p − δ, p / 2); the difference is divided by p₊ − p₋. ``keep`` is a 0-d array."""
    return xp.clip(keep + delta, max=1.0), xp.maximum(keep - delta, keep / 2)


class AdditiveNoise(Regularizer):
    """σ_l ε_l added to hooked layer l's input (Luketina et al. 2016); per-layer or tied (input, hidden)."""

    kind, what, default, bounds = "noise", "a noise standard deviation σ", 0.1, (1e-6, 10.0)

    def mixed(self, point, block, v, vWs):
        """(∂g_T/∂σ)ᵀ v = Tᵀ[Σ R{g_h̃_l} ⊙ ε_l], the R-sweep seeded with Rθ = v (h̃_l = h_l + σ_l ε_l)."""
        xp = point.xp
        return block.gather(xp, [inner(xp, Rg, e) for Rg, e in zip(point.input_rgrads(v), point.eps)], v)


class Dropout(Regularizer):
    """Inverted dropout on hooked layer l's input with keep-probability p_l (ICLR 2018, coupled masks)."""

    kind, what, default, bounds, transform = "keep", "a keep-probability", 0.8, (0.05, 0.999), "logit"
    low, high, low_open, high_open = 0.0, 1.0, True, False

    def mixed(self, point, block, v, vWs):
        """(∂g_T/∂p_j)ᵀ v ≈ ⟨J_j, v⟩ with J_j the coupled-mask central difference (``point.keep_columns``)."""
        xp = point.xp
        return xp.stack([inner(xp, c, v) for c in point.keep_columns()])
