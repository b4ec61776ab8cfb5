"""One driver for every network: a forward/backward sweep over a stack of layers that, given R-seeds,
runs the R-lines beside it.

For hooked (parametrized) layer i with input h_i (h_0 = x), the hyperparameters act on the input:

    h̃_i = d_i ⊙ h_i + σ_i ε_i          (d_i = m_i / p_i, the inverted-dropout mask; σ_i ε_i additive noise)

and every layer maps its input to its output by its own four passes (``Layer``); the last output o
enters L = CE(o, y). Seeded with a direction RP in θ and Rσ in the noise levels, ``rsweep`` returns the
directional derivative R{·} of every gradient: R{g_θ} = H v + (∂g_θ/∂σ) u, and R{g_h̃_i}, from which
R{g_σ_i} = Σ R{g_h̃_i} ⊙ ε_i. The plain sweep is what ``train_grad`` pays; the R-sweep reuses its cache.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._rvalues import _mul, _sum
from .loss import ce_backward, ce_forward, ce_rbackward


@dataclass
class Hook:
    """What acts on a hooked layer's input: d (dropout scale), σ (0-d array) and ε; None where absent."""

    drop: object = None
    sigma: object = None
    eps: object = None


@dataclass
class Sweep:
    """The forward cache and the plain gradients of one minibatch (one ``forward`` + ``backward``)."""

    xp: object
    layers: list  # the Layer objects
    hook_of: list  # per position: the hooked-layer index i, or None
    hooks: list  # per hooked layer: Hook
    P: list  # per position: the parameter arrays (views of θ)
    caches: list = field(default_factory=list)
    inputs: list = field(default_factory=list)  # per position: the layer's input (references, no copies)
    out: object = None
    loss: object = None  # cross-entropy (no penalty)
    probs: object = None
    onehot: object = None
    g_P: list = field(default_factory=list)  # per position: the parameter gradients
    g_out: list = field(default_factory=list)  # per position: the gradient at the layer's output
    g_in: list = field(default_factory=list)  # per hooked layer: g_h̃_i (None where not asked for)


def layer_input(h, hook: Hook):
    """h̃ = d ⊙ h + σ ε (each term only when present)."""
    if hook.drop is not None:
        h = h * hook.drop
    if hook.sigma is not None:
        h = h + hook.sigma * hook.eps
    return h


def forward(xp, layers, hook_of, hooks, P, X) -> Sweep:
    """Forward pass; ``hooks[i]`` acts on the input of hooked layer i."""
    sw = Sweep(xp, layers, hook_of, hooks, P)
    h = X
    for pos, layer in enumerate(layers):
        if hook_of[pos] is not None:
            h = layer_input(h, hooks[hook_of[pos]])
        sw.inputs.append(h)
        h, cache = layer.forward(xp, h, P[pos])
        sw.caches.append(cache)
    sw.out = h
    return sw


def store(g_P, dest):
    """The gradients ``g_P`` of one layer in their slots ``dest`` (views of a flat buffer): layers that wrote
    there already return the views; others' arrays are copied in, and a None (zero) slot is zeroed."""
    if dest is None:
        return g_P
    for g, d in zip(g_P, dest):
        if g is None:
            d[...] = 0
        elif g is not d:
            d[...] = g
    return dest


def backward(sw: Sweep, onehot, need_input_grad=(), out=None) -> Sweep:
    """Plain backward pass; fills the gradients of ``sw``. g_h̃_i is kept for i in ``need_input_grad``.

    ``out``: per position the views of a flat buffer the parameter gradients are written into (in-place
    backends), or None: the gradients are fresh arrays."""
    xp, n = sw.xp, len(sw.layers)
    sw.loss, sw.probs = ce_forward(xp, sw.out, onehot)
    sw.onehot = onehot
    g = ce_backward(sw.probs, onehot)
    sw.g_P, sw.g_out, sw.g_in = [()] * n, [None] * n, [None] * len(sw.hooks)
    for pos in range(n - 1, -1, -1):
        i = sw.hook_of[pos]
        sw.g_out[pos] = g
        need = pos > 0 or i in need_input_grad
        layer = sw.layers[pos]
        extra = {"out": out[pos]} if out is not None and layer.writes_out else {}
        g_P, g = layer.backward(xp, sw.caches[pos], sw.P[pos], g, need, **extra)
        sw.g_P[pos] = g_P if out is None else store(g_P, out[pos])
        if pos == 0:
            break
        if i is not None:
            if i in need_input_grad:
                sw.g_in[i] = g
            if sw.hooks[i].drop is not None:
                g = g * sw.hooks[i].drop  # ∂h̃/∂h = d (noise is additive)
    if sw.hook_of[0] is not None and 0 in need_input_grad:
        sw.g_in[sw.hook_of[0]] = g
    return sw


def rsweep(sw: Sweep, RP=None, Rsigma=None, need_input_grad=(), need_param_grads=True, out=None):
    """R-forward then R-backward along the seeds, reusing the plain sweep's cache.

    Parameters
    ----------
    RP : list (per position) of tuples of R-parameters (None entries: zero), or None
        Direction v in θ.
    Rsigma : list (per hooked layer) of 0-d arrays / None, or None
        Direction u in the per-layer noise levels σ_i.
    need_input_grad : iterable of int
        Hooked layers whose R{g_h̃_i} to return (needed for R{g_σ}).
    need_param_grads : bool
        False skips the parameter R-gradients (two matmuls per dense layer) when only R{g_h̃} is read.
    out : list (per position) of tuples of views of a flat buffer, or None
        Where the parameter R-gradients are written (as in ``backward``).

    Returns
    -------
    (R{g_P} per position, R{g_h̃} per hooked layer), None where zero.
    """
    xp, n, m = sw.xp, len(sw.layers), len(sw.hooks)
    RP = RP or [None] * n
    RS = Rsigma or [None] * m
    # R-forward: Rh̃_i = d_i ⊙ Rh_i + Rσ_i ε_i (d and ε are constants of θ and σ)
    Rh, Rin, Rcaches = None, [None] * n, [None] * n
    for pos, layer in enumerate(sw.layers):
        i = sw.hook_of[pos]
        if i is not None:
            hook = sw.hooks[i]
            Rh = _sum(_mul(Rh, hook.drop) if hook.drop is not None else Rh, _mul(RS[i], hook.eps))
        Rin[pos] = Rh
        Rh, Rcaches[pos] = layer.rforward(xp, sw.caches[pos], sw.P[pos], Rh, RP[pos] or _none(sw.P[pos]))
    # R-backward
    Rg = None if Rh is None else ce_rbackward(xp, sw.probs, Rh)
    Rg_P, Rg_in = [()] * n, [None] * m
    for pos in range(n - 1, -1, -1):
        i = sw.hook_of[pos]
        need = pos > 0 or i in need_input_grad
        layer = sw.layers[pos]
        extra = {"out": out[pos]} if out is not None and layer.writes_out else {}
        Rg_P[pos], Rg = layer.rbackward(xp, sw.caches[pos], sw.P[pos], sw.g_out[pos], Rcaches[pos], Rin[pos],
                                        RP[pos] or _none(sw.P[pos]), Rg, need, need_param_grads, **extra)
        if out is not None:
            Rg_P[pos] = store(Rg_P[pos], out[pos])
        if i is not None:
            if i in need_input_grad:
                Rg_in[i] = Rg
            if pos > 0 and sw.hooks[i].drop is not None:
                Rg = _mul(Rg, sw.hooks[i].drop)
    return Rg_P, Rg_in


def _none(P):
    return (None,) * len(P)
