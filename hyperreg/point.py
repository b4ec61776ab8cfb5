"""``TrainPoint``: L_T at one (θ, λ, minibatch, noise sample), the plain sweep done once; every primitive
reuses it (DESIGN.md "The primitives").

    grad        g_T = ∇_θ L_T                                  (the plain sweep + the penalties' λ ψ′(W))
    jvp(v, u)   H v + (∂g_T/∂λ) u = d/ds g_T(θ + s v, λ + s u)  (one R-sweep seeded in θ and at σ)
    hvp(v)      jvp(v, None)          mixed_jvp(u)   jvp(None, u)
    mixed(v)    (∂g_T/∂λ)ᵀ v, each regularizer's rows from its own terms

The regularizers own their terms (``regularizers``); this object holds the sweep they read.
"""

from __future__ import annotations

from array_api_compat import array_namespace, device

from . import _checks as chk
from .backends.inplace import ops
from .nn.sweep import Hook, rsweep
from .regularizers import WeightPenalty, dropout_scale, keep_shifts


class TrainPoint:
    """L_T at one (θ, λ, batch, noise): ``loss`` and ``grad`` are computed on construction (one forward +
    one backward); ``hvp``, ``mixed``, ``mixed_jvp`` and ``jvp`` reuse that sweep."""

    def __init__(self, net, theta, lam, X, y, eps, uniform, check=True):
        self.net, self.theta, self.lam, self.X, self.y = net, theta, lam, X, y
        self.check = check
        self.xp = array_namespace(theta, X)
        self.eps, self.uniform = eps, uniform
        self.lams = {block.kind: block.per_layer(lam) for block in net.blocks.values()}
        self.penalties = [(reg, block) for reg, block in net.space.present if isinstance(reg, WeightPenalty)]
        self._cache, self._loss, self._keep_cols = {}, None, None
        hooks = self.hooks(self.lams.get("keep"))
        flat, self.sweep = net._flat_grad(lambda out: net._sweep(theta, X, y, hooks, out), theta)
        self.Ws = [self.sweep.P[pos][0] for pos in net.hooked]
        g_Ws = [self.sweep.g_P[pos][0] for pos in net.hooked]
        for reg, block in self.penalties:  # in place into the buffer's weight slots where ``flat`` exists
            g_Ws = reg.add_grad(self, g_Ws, self.lams[block.kind])
        self.grad = net.layout.collect(flat, self._with_weights(self.sweep.g_P, g_Ws), theta)

    def hooks(self, keep):
        """Each hooked layer's input transform: σ_l ε_l (noise) and d_l = m_l/p_l (dropout at ``keep``)."""
        L, sigma = self.net.n_layers, self.lams.get("noise")
        return [Hook(drop=None if keep is None else dropout_scale(self.xp, self.uniform[i], keep[i]),
                     sigma=None if sigma is None else sigma[i],
                     eps=None if self.eps is None else self.eps[i]) for i in range(L)]

    def cached(self, kind, name, f):
        """[f(xp, W_l, ε) per hooked layer], computed once per point (ψ′, ψ″ of a penalty)."""
        key = (kind, name)
        if key not in self._cache:
            self._cache[key] = [f(self.xp, W, self.net.penalty_eps) for W in self.Ws]
        return self._cache[key]

    def _with_weights(self, per_layer, Ws):
        """``per_layer`` (per position) with each hooked layer's first entry replaced by ``Ws``."""
        out = list(per_layer)
        for pos, W in zip(self.net.hooked, Ws):
            out[pos] = (W, *out[pos][1:])
        return out

    @property
    def loss(self):
        """L_T = CE + Σ_k Σ_l λ_kl penalty_k(W_l) (the penalties are summed only when the loss is read)."""
        if self._loss is None:
            loss = self.sweep.loss
            for reg, block in self.penalties:
                loss = loss + reg.penalty(self.xp, self.Ws, self.lams[block.kind], self.net.penalty_eps)
            self._loss = loss
        return self._loss

    def hvp(self, v):
        """H v: R-forward + R-backward seeded with Rθ = v, plus the penalties' λ_l ψ″(W_l) ⊙ RW_l."""
        return self.jvp(v, None)

    def mixed_jvp(self, u):
        """(∂g_T/∂λ) u, shape (n_params,)."""
        return self.jvp(None, u)

    def mixed(self, v):
        """(∂g_T/∂λ)ᵀ v, shape (n_hypers,): each regularizer's rows (``regularizers``) in λ's order."""
        net, xp = self.net, self.xp
        if self.check:
            chk.check_shape(v, (net.n_params,), "v")
        parts = []
        for reg, block in net.space.present:
            parts.append(reg.mixed(self, block, v, self.weights_of(v)))
        return xp.concat(parts) if parts else xp.zeros((0,), dtype=v.dtype, device=device(v))

    def weights_of(self, v):
        """The hooked layers' W-parts of a θ-shaped vector (views)."""
        P = self.net.layout.views(v)
        return [P[pos][0] for pos in self.net.hooked]

    def input_rgrads(self, v):
        """R{g_h̃_l} for every hooked layer, seeded with Rθ = v (only the input R-gradients: no Rg_W)."""
        _, Rg_in = rsweep(self.sweep, RP=self.net.layout.views(v), need_input_grad=range(self.net.n_layers),
                          need_param_grads=False)
        return Rg_in

    def jvp(self, v, u, out=None):
        """H v + (∂g_T/∂λ) u = d/ds g_T(θ + s v, λ + s u), shape (n_params,): the one R-sweep behind ``hvp``
        (u = None) and ``mixed_jvp`` (v = None), seeded in θ with v and at the noise levels with T u, so a
        forward-mode tangent column costs one sweep, not two.

        ``u`` is a direction of shape (n_hypers,), None, or an int j standing for the unit vector e_j:
        then only the seeds e_j touches are set (an L2 column seeds no noise level, no extra matmul).
        ``out``: a θ-shaped buffer to write the result into (reused across tangent columns) where the backend
        can; it must not be ``v``."""
        net, xp = self.net, self.xp
        if self.check:
            if v is not None:
                chk.check_shape(v, (net.n_params,), "v")
            if u is not None and not isinstance(u, int):
                chk.check_shape(u, (net.n_hypers,), "u")
        RP = net.layout.views(v) if v is not None else None
        seeds = {kind: block.seeds(xp, u, self.theta) for kind, block in net.blocks.items()}
        flat, views = net.layout.buffer(self.theta) if out is None else (out, net.layout.views(out))
        if not ops(xp).native:
            flat, views = None, None
        Rg_P, _ = rsweep(self.sweep, RP=RP, Rsigma=seeds.get("noise"), out=views)
        Rg_Ws = [Rg_P[pos][0] for pos in net.hooked]
        # the penalties' terms go into the weight R-gradients before the one flatten (no extra pass over θ):
        # first (∂g_W_l/∂λ_l) u_l, then R{λ_l ψ′(W_l)} = λ_l ψ″(W_l) ⊙ RW_l
        for reg, block in self.penalties:
            if seeds[block.kind] is not None:
                Rg_Ws = reg.add_seed(self, Rg_Ws, seeds[block.kind])
        if RP is not None:
            RWs = [RP[pos][0] for pos in net.hooked]
            for reg, block in self.penalties:
                Rg_Ws = reg.add_curv(self, Rg_Ws, RWs, self.lams[block.kind])
        res = net.layout.collect(flat, self._with_weights(Rg_P, Rg_Ws), self.theta)
        if seeds.get("keep") is not None:  # the coupled-mask estimate J u
            for ul, col in zip(net.blocks["keep"].entries(u), self.keep_columns()):
                res = res if ul is None else res + ul * col
        return res

    def keep_columns(self):
        """J_j = (g_T(p₊) − g_T(p₋)) / (p₊ − p₋) per keep entry j, masks from the same uniforms U.

        Cached: each column costs two plain sweeps."""
        if self._keep_cols is None:
            net, xp, block = self.net, self.xp, self.net.blocks["keep"]
            keep, cols = self.lams["keep"], []
            for j in range(block.size):
                p_plus, p_minus = keep_shifts(xp, self.lam[block.offset + j], net.keep_delta)
                grads = []
                for shifted in (p_plus, p_minus):
                    ks = [shifted if jj == j else k for jj, k in zip(block.layer_index, keep)]
                    flat, sw = net._flat_grad(lambda out, ks=ks: net._sweep(
                        self.theta, self.X, self.y, self.hooks(ks), out), self.theta)
                    grads.append(net.layout.collect(flat, sw.g_P, self.theta))
                cols.append((grads[0] - grads[1]) / (p_plus - p_minus))  # the penalty terms cancel
            self._keep_cols = cols
        return self._keep_cols
