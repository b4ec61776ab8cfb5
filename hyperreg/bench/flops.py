"""The FLOP model: the matmul FLOPs each timed method must do, so a time ratio has a bound to meet.

    f_l = 2 n d_l d_{l+1}                      one (n × d_l) @ (d_l × d_{l+1}) matmul of dense layer l
    f_l = 2 n H'_l W'_l C_l k_l² C_{l+1}       one matmul-equivalent of conv layer l: W₂ (C_{l+1} × C_l k²)
                                              @ unfold(h) (C_l k² × H'W') for each of the n examples
    F(pass) = first · f_0 + other · Σ_{l≥1} f_l  (per-pass counts in ``PASSES``)
    flop_bound_ratio = F(method) / F(plain)

One matmul-equivalent of parametrized layer l is f_l FLOPs (n the batch), l counting the parametrized
(dense and conv) layers only. A convolution is one matmul on unfolded patches (``nn/conv.py``), so every
pass below has the same matmul counts for conv as for dense layers (a = W₂ U, g_W = Σ_n g_a Uᵀ,
g_h = fold(W₂ᵀ g_a), and their R-versions); unfold / fold, pooling and flatten move memory and are not
counted. What each pass must do per layer,
"first" being l = 0 (input X: data, so no g_X, and R{X} = 0) and "other" l ≥ 1:

  grad  = forward + backward            a = h W;  g_W = hᵀ g_a;  g_h = g_a Wᵀ           first 2 | other 3
  val   = ∇L_V, the same passes                                                          first 2 | other 3
  Hv    = R-forward + R-backward seeded with Rθ = v (reusing the plain sweep's cache)
          Ra = Rh W + h RW;  Rg_W = Rhᵀ g_a + hᵀ Rg_a;  Rg_h = Rg_a Wᵀ + g_a RWᵀ
          at l = 0: Rh = 0 and Rg_h is not needed: Ra = X RW, Rg_W = Xᵀ Rg_a              first 2 | other 6
  mixed, noise: Σ ε_l ⊙ R{g_h̃_l} seeded with Rθ = v: the R-forward and the Rg_h half of the
          R-backward at every layer (the layer-0 Rg_h̃ too); Rg_W is not needed             first 3 | other 4
  mixed, L2: ⟨v_W, W⟩ and mixed_jvp, L2: u_l W_l — elementwise, no matmul                        0 | 0
  a tangent column with a noise seed (H y + ∂g/∂σ e_j in ONE R-sweep seeded with Rθ = y and Rσ = e_j):
          Rh̃_l = Rh_l + Rσ_l ε_l only changes the layer-0 products, where Rh̃_0 ≠ 0 adds
          Rh̃_0 W and Rh̃_0ᵀ g_a for the column of σ_0                                  first +2 | other 0

Elementwise work (activations, softmax, the SGD axpy, the clip, dot products) is not counted: the bound
is a lower bound on the time ratio only as far as matmuls dominate, which they do from size B up.
"""

from __future__ import annotations

METHODS = ("plain", "hvp", "greedy-l2", "greedy-l2-noise", "greedy-l2-noise-anti", "tangent-step", "clip-l2-noise",
           "ift-cg10")
CG_ITERS = 10  # the CG steps of ``ift-cg10``
PASSES = {"grad": (2, 3), "val": (2, 3), "hvp": (2, 6), "mixed-noise": (3, 4)}


def matmul_dims(sizes):
    """(m, k, o) per parametrized layer: its matmul-equivalent is (n·m × k) @ (k × o).

    ``sizes``: MLP widths (d_0, …, d_L) → (1, d_l, d_{l+1}); or a CNN ``"CxHxW:arch"`` (``cases.parse_size``)
    → (H'·W', C_in·k², C_out) per conv and (1, d_in, d_out) per dense layer."""
    if not isinstance(sizes, str):
        return [(1, a, b) for a, b in zip(sizes[:-1], sizes[1:])]
    from ..net import build_stack
    from ..nn.arch import parse_arch
    from ..nn.conv import Conv
    from ..nn.dense import Dense

    head, _, arch = sizes.partition(":")
    shape = tuple(int(s) for s in head.split("x"))
    dims = []
    for layer in build_stack(parse_arch(arch), "relu", False, shape):
        out = layer.out_shape(shape)
        if isinstance(layer, Conv):
            dims.append((out[1] * out[2], shape[0] * layer.kernel ** 2, out[0]))
        elif isinstance(layer, Dense):
            dims.append((1, shape[0], out[0]))
        shape = out
    return dims


def layer_flops(sizes, n):
    """f_l = 2 n m_l k_l o_l (``matmul_dims``): 2 n d_l d_{l+1} for dense, 2 n H'W' C_in k² C_out for conv."""
    return [2.0 * n * m * k * o for m, k, o in matmul_dims(sizes)]


def pass_flops(name, sizes, n):
    """F(pass) = first · f_0 + other · Σ_{l≥1} f_l for a pass in ``PASSES``."""
    first, other = PASSES[name]
    f = layer_flops(sizes, n)
    return first * f[0] + other * sum(f[1:])


def n_hypers(method, sizes):
    """Hyperparameters of the method's network: L2 per layer, plus noise per layer for ``*-noise``."""
    L = len(matmul_dims(sizes))
    return 2 * L if method in ("greedy-l2-noise", "greedy-l2-noise-anti", "clip-l2-noise") else L


def method_flops(method, sizes, n):
    """F(method): the matmul FLOPs of one training step with the method's hypergradient work.

    plain            grad (then the SGD axpy)
    hvp              grad (the sweep the R-pass reuses) + Hv
    greedy-l2        grad + val at θ' = θ − η g + mixed-L2 (free)
    greedy-l2-noise  grad + val + mixed-noise
    greedy-l2-noise-anti  the same + grad and mixed-noise at −ε (the antithetic pair, hyperreg's default)
    tangent-step     grad + K·Hv (K = L, one HVP per L2 hyperparameter; ∂g/∂λ is u_l W_l, free)
    clip-l2-noise    grad + K·Hv (K = 2L, noise seeds folded into the HVP sweeps: +2 f_0 for σ_0) + val
    ift-cg10         grad (the cache H needs) + val + 10·Hv (CG) + mixed-L2 (free)
    """
    P = {k: pass_flops(k, sizes, n) for k in PASSES}
    K = n_hypers(method, sizes)
    f0 = layer_flops(sizes, n)[0]
    flops = {
        "plain": lambda: P["grad"],
        "hvp": lambda: P["grad"] + P["hvp"],
        "greedy-l2": lambda: P["grad"] + P["val"],
        "greedy-l2-noise": lambda: P["grad"] + P["val"] + P["mixed-noise"],
        "greedy-l2-noise-anti": lambda: 2 * P["grad"] + P["val"] + 2 * P["mixed-noise"],
        "tangent-step": lambda: P["grad"] + K * P["hvp"],
        "clip-l2-noise": lambda: P["grad"] + K * P["hvp"] + 2 * f0 + P["val"],
        "ift-cg10": lambda: P["grad"] + P["val"] + CG_ITERS * P["hvp"],
    }
    if method not in flops:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    return flops[method]()
