"""``MLP``: a softmax classifier with L2, ℓ1, ℓ½, additive-noise and dropout hyperparameters, and its exact
derivative primitives over flat θ and λ (DESIGN.md, "The math, exactly").

    L_T(θ, λ) = mean_B CE(f(x; θ, σ, ε, m), y) + Σ_l (λ_l / 2) ‖W_l‖² [+ Σ_l λ_l Σ ψ(W_l) for ℓ1, ℓ½]
    L_V(θ)    = mean CE(f(x; θ, 0), y)

All primitives are views of one sweep (``MLP.at``): ``train_grad`` is the plain sweep, ``train_hvp``
and ``train_mixed`` seed its R-pass in θ, ``train_mixed_jvp`` seeds it at the noise levels.
"""

from __future__ import annotations

from dataclasses import dataclass

from array_api_compat import array_namespace, device

from . import _checks as chk
from .backends import Backend, get_backend
from .nn import layers as nnl
from .nn.sweep import Sweep, backward, forward, rsweep
from .regularizers import (
    KINDS,
    MODES,
    PENALTY_EPS,
    PSI,
    SMOOTH_PENALTIES,
    dropout_scale,
    keep_shifts,
    l2_mixed,
    l2_penalty,
    make_block,
    smooth_penalty,
)


@dataclass
class Noise:
    """A noise sample for one minibatch: ε_l for the additive noise and U_l for the dropout masks.

    A plain list of ε arrays is accepted wherever a ``Noise`` is, when dropout is off.
    """

    eps: list | None = None
    uniform: list | None = None


class MLP:
    """A multilayer perceptron whose regularization strengths are differentiable hyperparameters.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths ``[d_in, h_1, …, n_classes]``; L = len(sizes) − 1 dense layers.
    activation : {"relu", "leaky_relu", "tanh"}
    batchnorm : bool
        Batch norm (batch statistics) before each hidden activation; γ, β follow the dense
        parameters in θ. ``update_running_stats`` keeps the averages that ``predict`` uses.
    l2, noise, dropout : {"per-layer", "tied", None}
        Which hyperparameters exist: one per dense layer, or tied (noise: input and hidden apart).
    l1, lhalf : {"per-layer", "tied", None}
        The smoothed ℓ1 and ℓ½ penalties λ Σ √(W² + ε²) and λ Σ (W² + ε²)^¼ on the weights W (Lu 2017, §6);
        their blocks follow the L2 block in ``hyper_names`` (names ``l1[0]``… or ``l1``, ``lhalf[0]``…).
    backend : str or Backend
    dtype : {"float64", "float32"}
    keep_delta : float
        δ of the coupled-mask central difference for keep-probabilities (an estimate, not exact).
    penalty_eps : float
        ε of the ℓ1/ℓ½ smoothing (``regularizers.PENALTY_EPS`` = 1e-3): ψ is |w| or |w|^½ up to O(ε) and has
        curvature 1/ε (ℓ1), ½ε^(−3/2) (ℓ½) at w = 0.
    validate : bool
        Check shapes, finiteness, label range and λ's range in every public call (each check is a
        host read; turn off in hot loops once the data have been checked).
    """

    def __init__(self, sizes, activation="relu", batchnorm=False, l2="per-layer", noise=None,
                 dropout=None, backend="numpy", dtype="float64", keep_delta=0.05, validate=True, l1=None,
                 lhalf=None, penalty_eps=PENALTY_EPS):
        sizes = [int(chk.check_positive_int(s, f"sizes[{i}]")) for i, s in enumerate(sizes)]
        if len(sizes) < 2:
            raise ValueError(f"sizes must list at least an input and an output width, got {sizes}")
        if activation not in nnl.ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(nnl.ACTIVATIONS)}, got {activation!r}")
        modes = {"l2": l2, "l1": l1, "lhalf": lhalf, "noise": noise, "keep": dropout}
        for name, mode in (("l2", l2), ("l1", l1), ("lhalf", lhalf), ("noise", noise), ("dropout", dropout)):
            if mode not in MODES:
                raise ValueError(f"{name} must be one of {MODES}, got {mode!r}")
        self.sizes, self.activation, self.batchnorm = tuple(sizes), activation, bool(batchnorm)
        self.n_layers = L = len(sizes) - 1
        self.backend: Backend = get_backend(backend)
        self.xp = self.backend.xp
        self.dtype_name = dtype
        self.dtype = self.backend.dtype(dtype)
        self.keep_delta = chk.check_scalar(keep_delta, "keep_delta", 0, 0.5, low_open=True)
        self.penalty_eps = chk.check_scalar(penalty_eps, "penalty_eps", 0, low_open=True)
        self.validate = bool(validate)
        self._layout()
        self.blocks, offset = {}, 0
        for kind, mode in ((k, modes[k]) for k in KINDS):
            block = make_block(kind, mode, L, offset)
            if block is not None:
                self.blocks[kind] = block
                offset += block.size
        self.n_hypers = offset
        self.hyper_names = tuple(n for b in self.blocks.values() for n in b.names)
        self.running_stats = None

    def _layout(self):
        shapes = []
        for l in range(self.n_layers):
            shapes += [(self.sizes[l], self.sizes[l + 1]), (self.sizes[l + 1],)]
        if self.batchnorm:
            for l in range(1, self.n_layers):
                shapes += [(self.sizes[l],), (self.sizes[l],)]
        self._shapes, self._offsets, n = shapes, [], 0
        for s in shapes:
            size = s[0] * (s[1] if len(s) > 1 else 1)
            self._offsets.append((n, n + size))
            n += size
        self.n_params = n

    def __repr__(self):
        regs = ", ".join(f"{k}={len(b.names)}" for k, b in self.blocks.items())
        return (f"MLP(sizes={list(self.sizes)}, activation={self.activation!r}, "
                f"batchnorm={self.batchnorm}, {regs or 'no hyperparameters'}, backend={self.backend.name!r})")

    # --- θ and λ ---------------------------------------------------------------------------------

    def unflatten(self, theta):
        """θ → [(W_0, b_0), …, (W_{L−1}, b_{L−1})] then [(γ_1, β_1), …] with batch norm (views)."""
        xp = array_namespace(theta)
        arrs = [xp.reshape(theta[a:b], s) for (a, b), s in zip(self._offsets, self._shapes)]
        return [(arrs[i], arrs[i + 1]) for i in range(0, len(arrs), 2)]

    def flatten(self, pairs):
        """The inverse of ``unflatten``: a list of pairs → flat θ."""
        xp = array_namespace(pairs[0][0])
        return xp.concat([xp.reshape(a, (-1,)) for pair in pairs for a in pair])

    def _split(self, theta):
        pairs = self.unflatten(theta)
        L = self.n_layers
        return pairs[:L], (pairs[L:] if self.batchnorm else None)

    def init_params(self, seed=0):
        """θ₀: W_l ~ N(0, gain/d_l) (gain 2 for ReLU-like, 1 for tanh), b = 0, γ = 1, β = 0.

        Drawn in float64 and cast, so a seed gives the same network in either dtype."""
        rng = self.backend.rng(seed)
        gain = 1.0 if self.activation == "tanh" else 2.0
        pairs = []
        for l in range(self.n_layers):
            d_in, d_out = self.sizes[l], self.sizes[l + 1]
            W = self.xp.astype(rng.normal((d_in, d_out)) * (gain / d_in) ** 0.5, self.dtype)
            pairs.append((W, self._zeros((d_out,))))
        if self.batchnorm:
            pairs += [(self._zeros((d,)) + 1.0, self._zeros((d,))) for d in self.sizes[1:-1]]
        return self.flatten(pairs)

    def _zeros(self, shape):
        return self.xp.zeros(shape, dtype=self.dtype, device=self.backend.device)

    def init_hypers(self, l2=1e-3, noise=0.1, keep=0.8, l1=1e-4, lhalf=1e-4):
        """λ in ``hyper_names`` order, natural units. Each argument: one value for all entries of its
        block, a sequence with one per entry, or a dict name → value."""
        values = []
        given_by_kind = {"l2": l2, "l1": l1, "lhalf": lhalf, "noise": noise, "keep": keep}
        for kind, given in ((k, given_by_kind[k]) for k in KINDS):
            block = self.blocks.get(kind)
            if block is None:
                continue
            if isinstance(given, dict):
                unknown = set(given) - set(block.names)
                if unknown:
                    raise ValueError(f"{kind}: unknown names {sorted(unknown)}; known: {list(block.names)}")
                vals = [given.get(n) for n in block.names]
                if None in vals:
                    raise ValueError(f"{kind}: give a value for each of {list(block.names)}")
            elif isinstance(given, (list, tuple)):
                if len(given) != block.size:
                    raise ValueError(f"{kind} needs {block.size} values {list(block.names)}, got {len(given)}")
                vals = list(given)
            else:
                vals = [given] * block.size
            values += [float(v) for v in vals]
        lam = self.backend.asarray(values, dtype=self.dtype_name) if values else self._zeros((0,))
        self.check_hypers(lam)
        return lam

    def hypers_dict(self, lam) -> dict:
        """λ as ``{name: float}`` (a host read)."""
        host = self.backend.to_numpy(lam)
        return {n: float(v) for n, v in zip(self.hyper_names, host)}

    def check_hypers(self, lam):
        """Raise unless λ has length n_hypers, is finite, L2, ℓ1, ℓ½ ≥ 0, σ ≥ 0 and keep ∈ (0, 1]."""
        chk.check_shape(lam, (self.n_hypers,), "lam")
        chk.check_float(lam, self.dtype, "lam")
        chk.check_finite(lam, "lam")
        host = self.backend.to_numpy(lam)
        for kind, block in self.blocks.items():
            for name, v in zip(block.names, host[block.slice]):
                if kind in ("l2", "l1", "lhalf", "noise") and v < 0:
                    what = {"l2": "L2 strength", "l1": "ℓ1 strength", "lhalf": "ℓ½ strength"}.get(
                        kind, "noise standard deviation σ")
                    raise ValueError(f"lam[{name!r}] is a {what} and must be ≥ 0, got {v}")
                if kind == "keep" and not 0 < v <= 1:
                    raise ValueError(f"lam[{name!r}] is a keep-probability and must be in (0, 1], got {v}")

    # --- noise -------------------------------------------------------------------------------------

    def sample_noise(self, n, rng):
        """One minibatch's noise: ε_l ~ N(0, I) of shape (n, sizes[l]) per dense layer (a list), and
        with dropout a ``Noise`` that also holds U_l ~ U[0, 1) for the masks. ``rng``: a BackendRNG or seed."""
        if not hasattr(rng, "normal"):
            rng = self.backend.rng(rng)
        eps = None
        if "noise" in self.blocks:
            eps = [rng.normal((n, d), self.dtype_name) for d in self.sizes[:-1]]
        if "keep" not in self.blocks:
            return eps
        return Noise(eps, [rng.uniform((n, d), self.dtype_name) for d in self.sizes[:-1]])

    def antithetic_noise(self, noise):
        """The antithetic partner of a noise sample: every ε_l negated, the dropout uniforms U_l kept.

        (−ε, U) has the law of (ε, U), so an estimate averaged over the pair keeps its mean; its part odd
        in ε cancels. None when the sample has no additive noise (the partner would be the sample itself)."""
        eps, uniform = (noise.eps, noise.uniform) if isinstance(noise, Noise) else (noise, None)
        if eps is None:
            return None
        neg = [-e for e in eps]
        return Noise(neg, uniform) if isinstance(noise, Noise) else neg

    def _noise_parts(self, noise, n, check):
        eps = uniform = None
        if isinstance(noise, Noise):
            eps, uniform = noise.eps, noise.uniform
        elif noise is not None:
            eps = noise
        for kind, arrs, what in (("noise", eps, "ε"), ("keep", uniform, "dropout uniforms")):
            if kind not in self.blocks:
                continue
            if arrs is None or len(arrs) != self.n_layers:
                raise ValueError(
                    f"noise must carry {self.n_layers} {what} arrays (one per dense layer) for this "
                    f"network's {kind!r} hyperparameters; draw them with net.sample_noise(n, rng)")
            if check:
                for l, a in enumerate(arrs):
                    chk.check_shape(a, (n, self.sizes[l]), f"noise[{l}] ({what})")
                    chk.check_float(a, self.dtype, f"noise[{l}] ({what})")
        return eps, uniform

    # --- the sweep ---------------------------------------------------------------------------------

    def _check_batch(self, theta, X, y):
        chk.check_shape(theta, (self.n_params,), "theta")
        chk.check_float(theta, self.dtype, "theta")
        chk.check_shape(X, (None, self.sizes[0]), "X")
        chk.check_float(X, self.dtype, "X")
        chk.check_finite(X, "X")
        if y is not None:
            chk.check_labels(y, X.shape[0], self.sizes[-1])

    def _onehot(self, xp, y, like):
        classes = xp.arange(self.sizes[-1], device=device(like))
        return xp.astype(y[:, None] == classes, like.dtype)

    def at(self, theta, lam, X, y, noise=None, check=None) -> "TrainPoint":
        """The training objective's sweep at (θ, λ) on one minibatch, for all primitives to share.

        ``check``: validate the inputs (default ``self.validate``); False where they were checked."""
        check = self.validate if check is None else check
        if check:
            self._check_batch(theta, X, y)
            self.check_hypers(lam)
        eps, uniform = self._noise_parts(noise, X.shape[0], check)
        return TrainPoint(self, theta, lam, X, y, eps, uniform, check)

    def _sweep(self, theta, X, y, sigma, eps, drop):
        xp = array_namespace(theta, X)
        params, bn = self._split(theta)
        layers, out = forward(xp, params, bn, self.activation, X, sigma, eps, drop)
        sw = Sweep(xp, layers, params, bn, self.activation)
        return backward(sw, out, self._onehot(xp, y, X))

    def _flat(self, xp, g_params, g_bn, like):
        """Flatten gradient pairs (None: zero) into the layout of θ ``like``."""
        if self.batchnorm and g_bn is None:
            g_bn = [(None, None)] * (self.n_layers - 1)
        pairs = [tuple(xp.zeros_like(w) if g is None else g for g, w in zip(gp, wp))
                 for gp, wp in zip(list(g_params) + list(g_bn or []), self.unflatten(like))]
        return self.flatten(pairs)

    # --- the public primitives (DESIGN.md names) ----------------------------------------------------

    def train_loss(self, theta, lam, X, y, noise=None):
        """L_T(θ, λ) = mean CE + Σ_l λ_l/2 ‖W_l‖² (+ ℓ1, ℓ½) on the minibatch with the given noise sample."""
        return self.at(theta, lam, X, y, noise).loss

    def train_grad(self, theta, lam, X, y, noise=None):
        """g_T = ∇_θ L_T(θ, λ), shape (n_params,)."""
        return self.at(theta, lam, X, y, noise).grad

    def train_hvp(self, theta, lam, X, y, noise=None, v=None):
        """H v = ∇²_θθ L_T · v by the R-operator (R-forward then R-backward), shape (n_params,)."""
        return self.at(theta, lam, X, y, noise).hvp(v)

    def train_mixed(self, theta, lam, X, y, noise=None, v=None):
        """(∂g_T/∂λ)ᵀ v = ∂/∂λ (vᵀ ∇_θ L_T), shape (n_hypers,)."""
        return self.at(theta, lam, X, y, noise).mixed(v)

    def train_mixed_jvp(self, theta, lam, X, y, noise=None, u=None):
        """(∂g_T/∂λ) u, shape (n_params,)."""
        return self.at(theta, lam, X, y, noise).mixed_jvp(u)

    def _val_sweep(self, theta, X, y, check=None):
        if self.validate if check is None else check:
            self._check_batch(theta, X, y)
        L = self.n_layers
        return self._sweep(theta, X, y, [None] * L, [None] * L, [None] * L)

    def val_loss(self, theta, X, y, check=None):
        """L_V(θ) = mean CE(f(x; θ, 0), y): no penalty, no noise, no dropout (batch-norm: batch stats)."""
        return self._val_sweep(theta, X, y, check).loss

    def val_grad(self, theta, X, y, check=None):
        """∇_θ L_V(θ), shape (n_params,)."""
        sw = self._val_sweep(theta, X, y, check)
        return self._flat(sw.xp, sw.g_params, sw.g_bn, theta)

    # --- prediction ------------------------------------------------------------------------------

    def logits(self, theta, X):
        """f(x; θ, 0); batch norm uses ``running_stats`` when set, else the batch's statistics."""
        if self.validate:
            self._check_batch(theta, X, None)
        xp = array_namespace(theta, X)
        params, bn = self._split(theta)
        L = self.n_layers
        if bn is not None and self.running_stats is not None:
            h = X
            for l, (W, b) in enumerate(params):
                a = nnl.dense_forward(xp, h, W, b)
                if l == L - 1:
                    return a
                mean, var = self.running_stats[l]
                (gamma, beta) = bn[l]
                h = nnl.act_forward(xp, self.activation, gamma * (a - mean) / xp.sqrt(var + nnl.BN_EPS) + beta)[0]
        return forward(xp, params, bn, self.activation, X, [None] * L, [None] * L, [None] * L)[1]

    def predict_proba(self, theta, X):
        xp = array_namespace(theta, X)
        o = self.logits(theta, X)
        e = xp.exp(o - xp.max(o, axis=1, keepdims=True))
        return e / xp.sum(e, axis=1, keepdims=True)

    def predict(self, theta, X):
        """Predicted class labels (argmax of the logits)."""
        return self.xp.argmax(self.logits(theta, X), axis=1)

    def update_running_stats(self, theta, X, momentum=0.1):
        """Move the batch-norm running mean/variance towards the batch statistics of X (no noise)."""
        if not self.batchnorm:
            return
        xp = array_namespace(theta, X)
        params, bn = self._split(theta)
        L = self.n_layers
        layers, _ = forward(xp, params, bn, self.activation, X, [None] * L, [None] * L, [None] * L)
        stats = [(xp.mean(c.a, axis=0), xp.var(c.a, axis=0)) for c in layers[:-1]]
        if self.running_stats is None:
            self.running_stats = stats
        else:
            self.running_stats = [((1 - momentum) * m0 + momentum * m, (1 - momentum) * v0 + momentum * v)
                                   for (m0, v0), (m, v) in zip(self.running_stats, stats)]


class TrainPoint:
    """L_T at one (θ, λ, batch, noise): the plain sweep done once; HVP and mixed terms reuse it.

    Attributes ``loss`` and ``grad`` are computed on construction (one forward + one backward).
    """

    def __init__(self, net: MLP, theta, lam, X, y, eps, uniform, check=True):
        self.net, self.theta, self.lam, self.X, self.y = net, theta, lam, X, y
        self.check = check
        self.xp = array_namespace(theta, X)
        self.eps, self.uniform = eps, uniform
        L, blocks = net.n_layers, net.blocks
        self.l2 = blocks["l2"].per_layer(lam) if "l2" in blocks else None
        # ℓ1/ℓ½: kind → per-layer λ; empty when absent, so the L2-only path does no extra work
        self.smooth = {k: blocks[k].per_layer(lam) for k in SMOOTH_PENALTIES if k in blocks}
        self._dpsi = self._curv = None  # ψ′(W_l), Σ_k λ_k ψ_k″(W_l) per layer: computed once, on demand
        self.sigma = blocks["noise"].per_layer(lam) if "noise" in blocks else [None] * L
        self.keep = blocks["keep"].per_layer(lam) if "keep" in blocks else None
        drop = self._drop(self.keep)
        self.sweep = net._sweep(theta, X, y, self.sigma, eps or [None] * L, drop)
        self.Ws = [W for W, _ in self.sweep.params]
        self._loss = None
        self.grad = self._flat_with_l2(self.sweep, self.Ws)

    @property
    def loss(self):
        """L_T = CE + Σ λ_l/2 ‖W_l‖² + Σ λ_l Σ ψ(W_l) (the penalties are summed only when the loss is read)."""
        if self._loss is None:
            xp, eps = self.xp, self.net.penalty_eps
            penalty = l2_penalty(xp, self.Ws, self.l2) if self.l2 is not None else 0.0
            for kind, lams in self.smooth.items():
                penalty = penalty + smooth_penalty(xp, kind, self.Ws, lams, eps)
            self._loss = self.sweep.loss + penalty
        return self._loss

    def _drop(self, keep):
        if keep is None:
            return [None] * self.net.n_layers
        return [dropout_scale(self.xp, U, p) for U, p in zip(self.uniform, keep)]

    def _flat_with_l2(self, sw, Ws, g_params=None, g_bn=None, rsweep=False):
        """Flatten gradients adding the penalties' terms: λ_l W_l (L2) and λ_l ψ′(W_l) (ℓ1, ℓ½) with Ws the
        W; or, for an R-sweep (``rsweep``, Ws the RW), their R-terms λ_l RW_l and λ_l ψ″(W_l) ⊙ RW_l.

        The gradient arrays are fresh products of this point's sweeps, so the terms are added in place."""
        g_params = sw.g_params if g_params is None else g_params
        g_bn = sw.g_bn if g_bn is None else g_bn
        if self.l2 is not None and Ws is not None:
            g_params = [(_add_scaled(gW, lam, W), gb) for (gW, gb), W, lam in zip(g_params, Ws, self.l2)]
        if self.smooth and Ws is not None:
            if rsweep:  # R{λ ψ′(W)} = λ ψ″(W) ⊙ RW: a diagonal, summed over the kinds once
                terms = [D * RW for D, RW in zip(self.curvature(), Ws)]
            else:
                terms = [sum(lams[l] * self.dpsi()[kind][l] for kind, lams in self.smooth.items())
                         for l in range(self.net.n_layers)]
            g_params = [(t if gW is None else _add_in_place(gW, t), gb) for (gW, gb), t in zip(g_params, terms)]
        return self.net._flat(self.xp, g_params, g_bn, self.theta)

    def dpsi(self):
        """{kind: [ψ′(W_l) per layer]} for the ℓ1/ℓ½ penalties present (cached: ∂g_W_l/∂λ_l = ψ′(W_l))."""
        if self._dpsi is None:
            xp, eps = self.xp, self.net.penalty_eps
            self._dpsi = {k: [PSI[k][1](xp, W, eps) for W in self.Ws] for k in self.smooth}
        return self._dpsi

    def curvature(self):
        """Per layer D_l = Σ_k λ_k,l ψ_k″(W_l): the ℓ1/ℓ½ part of H, a diagonal (cached)."""
        if self._curv is None:
            xp, eps = self.xp, self.net.penalty_eps
            self._curv = [sum(lams[l] * PSI[k][2](xp, W, eps) for k, lams in self.smooth.items())
                          for l, W in enumerate(self.Ws)]
        return self._curv

    def hvp(self, v):
        """H v: R-forward + R-backward seeded with Rθ = v, plus the penalties' λ_l RW_l and λ_l ψ″(W_l) ⊙ RW_l."""
        return self.jvp(v, None)

    def mixed(self, v):
        """(∂g_T/∂λ)ᵀ v, shape (n_hypers,): L2 ⟨v_W, W⟩; ℓ1, ℓ½ ⟨v_W, ψ′(W)⟩; noise Σ R{g_h̃} ⊙ ε seeded
        with Rθ = v; keep by the coupled-mask central difference."""
        net, xp = self.net, self.xp
        if self.check:
            chk.check_shape(v, (net.n_params,), "v")
        parts = []
        vW = [vW for vW, _ in net._split(v)[0]]
        if "l2" in net.blocks:
            parts.append(net.blocks["l2"].gather(xp, l2_mixed(xp, self.Ws, vW), v))
        for kind in self.smooth:  # ⟨v_W_l, ψ′(W_l)⟩: l2_mixed with ψ′(W) in place of W
            parts.append(net.blocks[kind].gather(xp, l2_mixed(xp, self.dpsi()[kind], vW), v))
        if "noise" in net.blocks:
            Rp, Rbn = net._split(v)
            _, _, Rg_in = rsweep(self.sweep, Rparams=Rp, Rbn=Rbn, need_input_grad=range(net.n_layers),
                                 need_param_grads=False)  # only R{g_h̃} is read: skip Rg_W, Rg_b
            per_layer = [xp.sum(Rg * e) for Rg, e in zip(Rg_in, self.eps)]
            parts.append(net.blocks["noise"].gather(xp, per_layer, v))
        if "keep" in net.blocks:
            cols = self._keep_columns()
            parts.append(xp.stack([xp.sum(c * v) for c in cols]))
        return xp.concat(parts) if parts else xp.zeros((0,), dtype=v.dtype, device=device(v))

    def mixed_jvp(self, u):
        """(∂g_T/∂λ) u, shape (n_params,): L2 u_l W_l; ℓ1, ℓ½ u_l ψ′(W_l); noise by the R-sweep seeded with
        Rσ = T u; keep by the coupled-mask central difference."""
        return self.jvp(None, u)

    def jvp(self, v, u):
        """H v + (∂g_T/∂λ) u = d/dε g_T(θ + εv, λ + εu), shape (n_params,): the one R-sweep behind ``hvp``
        (u = None) and ``mixed_jvp`` (v = None), seeded in θ with v and at the noise levels with T u, so a
        forward-mode tangent column costs one sweep, not two.

        ``u`` is a direction of shape (n_hypers,), None, or an int j standing for the unit vector e_j:
        then only the seeds e_j touches are set (an L2 column seeds no noise level, no extra matmul)."""
        net, xp = self.net, self.xp
        if self.check:
            if v is not None:
                chk.check_shape(v, (net.n_params,), "v")
            if u is not None and not isinstance(u, int):
                chk.check_shape(u, (net.n_hypers,), "u")
        Rp, Rbn = net._split(v) if v is not None else (None, None)
        seeds = {kind: _seeds(block, u, xp, self.theta) for kind, block in net.blocks.items()}
        Rg_params, Rg_bn, _ = rsweep(self.sweep, Rparams=Rp, Rbn=Rbn, Rsigma=seeds.get("noise"))
        # the penalties' λ-terms go into the weight R-gradients before the one flatten (no extra pass over θ):
        # (∂g_W_l/∂λ_l) u_l = u_l W_l (L2), u_l ψ′(W_l) (ℓ1, ℓ½)
        dW = {"l2": self.Ws} | ({k: self.dpsi()[k] for k in self.smooth if seeds[k] is not None})
        for kind, D in dW.items():
            if seeds.get(kind) is not None:
                Rg_params = [(_add_scaled(gW, ul, d) if ul is not None else gW, gb)
                             for (gW, gb), ul, d in zip(Rg_params, seeds[kind], D)]
        out = self._flat_with_l2(self.sweep, None if Rp is None else [RW for RW, _ in Rp], Rg_params, Rg_bn,
                                 rsweep=True)
        if seeds.get("keep") is not None:  # the coupled-mask estimate J u
            for ul, col in zip(_block_entries(net.blocks["keep"], u), self._keep_columns()):
                out = out if ul is None else out + ul * col
        return out

    def _keep_columns(self):
        """J_j = (g_T(p₊) − g_T(p₋)) / (p₊ − p₋) per keep entry j, masks from the same uniforms U.

        Cached: each column costs two plain sweeps."""
        if getattr(self, "_keep_cols", None) is None:
            net, xp, block = self.net, self.xp, self.net.blocks["keep"]
            cols = []
            for j in range(block.size):
                p = self.lam[block.offset + j]
                p_plus, p_minus = keep_shifts(xp, p, net.keep_delta)
                grads = []
                for shifted in (p_plus, p_minus):
                    keep = [shifted if jj == j else k for jj, k in zip(block.layer_index, self.keep)]
                    sw = net._sweep(self.theta, self.X, self.y, self.sigma, self.eps or [None] * net.n_layers,
                                    self._drop(keep))
                    grads.append(net._flat(xp, sw.g_params, sw.g_bn, self.theta))
                cols.append((grads[0] - grads[1]) / (p_plus - p_minus))  # the L2 term cancels
            self._keep_cols = cols
        return self._keep_cols


def _block_entries(block, u):
    """The block's entries of u (0-d arrays), None where zero; u: an array, None, or an int j for e_j."""
    if u is None:
        return [None] * block.size
    if isinstance(u, int):
        return [1.0 if block.offset + j == u else None for j in range(block.size)]
    return [u[block.offset + j] for j in range(block.size)]


def _seeds(block, u, xp, like):
    """T u restricted to ``block``: per-layer seeds (0-d arrays), None where zero — structurally, with no
    host read: u = None seeds nothing, an int u = j seeds 1 only where a layer reads entry j."""
    if u is None or (isinstance(u, int) and not block.offset <= u < block.offset + block.size):
        return None
    if not isinstance(u, int):
        return block.per_layer(u)
    one = xp.ones((), dtype=like.dtype, device=device(like))
    return [one if block.offset + j == u else None for j in block.layer_index]


def _add_scaled(g, lam, W):
    """g + λ W, in place into g (a fresh gradient array owned by the caller); None stands for zero."""
    if W is None:
        return g
    if g is None:
        return lam * W
    g += lam * W
    return g


def _add_in_place(g, t):
    """g + t, in place into g (a fresh gradient array owned by the caller)."""
    g += t
    return g
