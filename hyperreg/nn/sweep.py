"""One driver for the MLP: a forward/backward sweep that, given R-seeds, runs the R-lines beside it.

The network (DESIGN.md): for dense layer l = 0 … L−1 with input h_l (h_0 = x)

    h̃_l = d_l ⊙ h_l + σ_l ε_l          (d_l = m_l / p_l, the inverted-dropout mask; σ_l ε_l additive noise)
    a_l = h̃_l W_l + b_l
    h_{l+1} = φ(BN(a_l))               (hidden layers; BN only with batch norm)
    o = a_{L−1},  L = CE(o, y)

Seeded with a direction (RW, Rb, Rγ, Rβ) in θ and Rσ in the noise levels, ``rsweep`` returns the
directional derivative R{·} of every gradient: R{g_θ} = H v + (∂g_θ/∂σ) u and
R{g_σ} = (∂g_σ/∂θ) v + (∂g_σ/∂σ) u, where g_σ,l = ∂L/∂σ_l = Σ g_h̃_l ⊙ ε_l.
The plain sweep is what ``train_grad`` pays; the R-sweep reuses its cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .layers import (
    _mul,
    _sum,
    act_backward,
    act_forward,
    act_rbackward,
    act_rforward,
    bn_backward,
    bn_forward,
    bn_rbackward,
    bn_rforward,
    ce_backward,
    ce_forward,
    ce_rbackward,
    dense_backward,
    dense_forward,
    dense_rbackward,
    dense_rforward,
)


@dataclass
class LayerCache:
    """What the forward pass keeps for layer l (the three later passes read it)."""

    h: object  # h̃_l, the dense layer's input after dropout and noise
    drop: object  # d_l = m_l / p_l, or None
    sigma: object  # σ_l (0-d array), or None
    eps: object  # ε_l, or None
    a: object = None  # pre-activation (hidden layers only)
    bn: tuple | None = None  # batch-norm cache (c, s, â)
    d1: object = None  # φ′
    d2: object = None  # φ″ (None where ≡ 0)


@dataclass
class Sweep:
    """The forward cache and the plain gradients of one minibatch (one ``forward`` + ``backward``)."""

    xp: object
    layers: list
    params: list  # [(W_l, b_l)]
    bn_params: list | None  # [(γ_l, β_l)] for hidden layers, or None
    activation: str
    loss: object = None  # cross-entropy (no penalty)
    probs: object = None
    onehot: object = None
    g_params: list = field(default_factory=list)  # [(g_W, g_b)]
    g_bn: list = field(default_factory=list)  # [(g_γ, g_β)]
    g_in: list = field(default_factory=list)  # [g_h̃_l] (None where not asked for)
    g_hidden: list = field(default_factory=list)  # [g_z_l] of each hidden activation output
    g_dense: list = field(default_factory=list)  # [g_a_l] of each dense output
    g_act: list = field(default_factory=list)  # [φ′·g_z_l], the gradient at each activation input


def _layer_input(h, drop, sigma, eps):
    """h̃ = d ⊙ h + σ ε (each term only when present)."""
    if drop is not None:
        h = h * drop
    if sigma is not None:
        h = h + sigma * eps
    return h


def forward(xp, params, bn_params, activation, X, sigma, eps, drop):
    """Forward pass; ``sigma``/``eps``/``drop`` are per-layer lists whose entries may be None."""
    layers = []
    h = X
    L = len(params)
    for l, (W, b) in enumerate(params):
        c = LayerCache(_layer_input(h, drop[l], sigma[l], eps[l]), drop[l], sigma[l], eps[l])
        a = dense_forward(xp, c.h, W, b)
        if l < L - 1:
            c.a = a
            if bn_params is not None:
                a, c.bn = bn_forward(xp, a, *bn_params[l])
            h, c.d1, c.d2 = act_forward(xp, activation, a)
        else:
            out = a
        layers.append(c)
    return layers, out


def backward(sw: Sweep, out, onehot, need_input_grad=()):
    """Plain backward pass; fills the gradients of ``sw``. g_h̃_l is kept for l in ``need_input_grad``."""
    xp = sw.xp
    sw.loss, sw.probs = ce_forward(xp, out, onehot)
    sw.onehot = onehot
    L = len(sw.params)
    g_a = ce_backward(sw.probs, onehot)
    g_params, g_bn, g_in = [None] * L, [None] * (L - 1), [None] * L
    g_hidden, g_dense, g_act = [None] * (L - 1), [None] * L, [None] * (L - 1)
    for l in range(L - 1, -1, -1):
        c, (W, _) = sw.layers[l], sw.params[l]
        g_dense[l] = g_a
        need = l > 0 or l in need_input_grad
        g_W, g_b, g_h = dense_backward(xp, c.h, W, g_a, need_g_h=need)
        g_params[l] = (g_W, g_b)
        g_in[l] = g_h if l in need_input_grad else None
        if l == 0:
            break
        below = sw.layers[l - 1]
        g_z = g_h if c.drop is None else g_h * c.drop  # ∂h̃/∂h = d (noise is additive)
        g_hidden[l - 1] = g_z
        g_a = g_act[l - 1] = act_backward(below.d1, g_z)
        if sw.bn_params is not None:
            g_gamma, g_beta, g_a = bn_backward(xp, below.bn, sw.bn_params[l - 1][0], g_a)
            g_bn[l - 1] = (g_gamma, g_beta)
    sw.g_params, sw.g_in = g_params, g_in
    sw.g_bn = g_bn if sw.bn_params is not None else None
    sw.g_hidden, sw.g_dense, sw.g_act = g_hidden, g_dense, g_act
    return sw


def rsweep(sw: Sweep, Rparams=None, Rbn=None, Rsigma=None, need_input_grad=(), need_param_grads=True):
    """R-forward then R-backward along the seeds, reusing the plain sweep's cache.

    Parameters
    ----------
    Rparams : list of (RW_l, Rb_l) or None
        Direction v in the dense parameters (None: zero).
    Rbn : list of (Rγ_l, Rβ_l) or None
        Direction in the batch-norm parameters.
    Rsigma : list of 0-d arrays / None, or None
        Direction u in the per-layer noise levels σ_l.
    need_input_grad : iterable of int
        Layers whose Rg_h̃_l to return (needed for R{g_σ}).
    need_param_grads : bool
        False skips R{g_W}, R{g_b}, R{g_γ}, R{g_β} (two matmuls per layer) when only R{g_h̃} is read.

    Returns
    -------
    (R{g_params}, R{g_bn}, R{g_h̃}) as lists mirroring the plain gradients, None where zero.
    """
    xp = sw.xp
    L = len(sw.params)
    RP = Rparams or [(None, None)] * L
    RB = Rbn or [(None, None)] * (L - 1)
    RS = Rsigma or [None] * L
    # R-forward: Rh̃_l = d_l ⊙ Rh_l + Rσ_l ε_l (d and ε are constants of θ and σ)
    Rh, Rh_in, Ra_hidden, Rbn_cache = None, [None] * L, [None] * L, [None] * L
    for l in range(L):
        c, (W, _), (RW, Rb) = sw.layers[l], sw.params[l], RP[l]
        Rh_in[l] = _sum(_mul(Rh, c.drop) if c.drop is not None else Rh, _mul(RS[l], c.eps))
        Ra = dense_rforward(xp, c.h, W, Rh_in[l], RW, Rb)
        if l < L - 1:
            if sw.bn_params is not None:
                Ra, Rbn_cache[l] = bn_rforward(xp, c.bn, sw.bn_params[l][0], Ra, *RB[l])
            Ra_hidden[l] = Ra
            Rh = act_rforward(c.d1, Ra)
        else:
            Rout = Ra
    # R-backward
    Rg_a = None if Rout is None else ce_rbackward(xp, sw.probs, Rout)
    Rg_params, Rg_bn, Rg_in = [None] * L, [None] * (L - 1), [None] * L
    for l in range(L - 1, -1, -1):
        c, (W, _), (RW, _) = sw.layers[l], sw.params[l], RP[l]
        need = l > 0 or l in need_input_grad
        Rg_W, Rg_b, Rg_h = dense_rbackward(
            xp, c.h, W, sw.g_dense[l], Rh_in[l], RW, Rg_a, need_g_h=need, need_g_params=need_param_grads
        )
        Rg_params[l] = (Rg_W, Rg_b)
        Rg_in[l] = Rg_h if l in need_input_grad else None
        if l == 0:
            break
        below = sw.layers[l - 1]
        Rg_z = _mul(Rg_h, c.drop) if c.drop is not None else Rg_h
        Rg_a = act_rbackward(below.d1, below.d2, sw.g_hidden[l - 1], Ra_hidden[l - 1], Rg_z)
        if sw.bn_params is not None:
            Rg_gamma, Rg_beta, Rg_a = bn_rbackward(
                xp, below.bn, sw.bn_params[l - 1][0], sw.g_act[l - 1], Rbn_cache[l - 1],
                RB[l - 1][0], Rg_a,
            )
            Rg_bn[l - 1] = (Rg_gamma, Rg_beta)
    return Rg_params, (Rg_bn if sw.bn_params is not None else None), Rg_in
