"""``Net``: a softmax classifier built from a stack of layer objects, whose regularization strengths are
differentiable hyperparameters, and its exact derivative primitives over flat θ and λ (DESIGN.md).

    L_T(θ, λ) = mean_B CE(f(x; θ, σ, ε, m), y) + Σ_l (λ_l / 2) ‖W_l‖² [+ Σ_l λ_l Σ ψ(W_l) for ℓ1, ℓ½]
    L_V(θ)    = mean CE(f(x; θ, 0), y)

All primitives are views of one sweep (``Net.at`` → ``TrainPoint``).
"""

from __future__ import annotations

import math

from array_api_compat import array_namespace, device

from . import _checks as chk
from .backends import Backend, get_backend
from .evaluation import Evaluation
from .nn.activation import ACTIVATIONS, Activation
from .nn.batchnorm import BatchNorm
from .nn.dense import Dense
from .nn.params import ParamLayout
from .nn.pool import Flatten
from .nn.sweep import Hook, backward, forward
from .point import TrainPoint
from .regularizers import PENALTY_EPS, REGULARIZERS
from .regularizers.space import HyperSpace
from .sample import Noise, noise_parts


def build_stack(layers, activation, batchnorm, input_shape=None):
    """The internal stack: every hooked layer but the last followed by [batch norm,] the activation, and
    (given ``input_shape``) a ``Flatten`` before each Dense layer whose input is spatial (C, H, W)."""
    hooked = [i for i, layer in enumerate(layers) if layer.hooked]
    if not hooked or hooked[-1] != len(layers) - 1:
        raise ValueError(f"layers must end in a parametrized layer (Dense) that gives the logits, got {layers}")
    stack = []
    for i, layer in enumerate(layers):
        stack.append(layer)
        if layer.hooked and i != hooked[-1]:
            stack += ([BatchNorm()] if batchnorm else []) + [Activation(activation)]
    if input_shape is None:
        return stack
    out, shape = [], tuple(input_shape)
    for layer in stack:
        if isinstance(layer, Dense) and len(shape) > 1:
            out.append(Flatten())
            shape = out[-1].out_shape(shape)
        out.append(layer)
        shape = layer.out_shape(shape)
    if len(shape) != 1:
        raise ValueError(f"layers must end in a Dense layer that gives the logits (n, classes), got {layers} "
                         f"whose output is (n, {', '.join(map(str, shape))}); add a Dense(classes) at the end")
    return out


class Net(Evaluation):
    """A network of layer objects with L2, ℓ1, ℓ½, additive-noise and dropout hyperparameters.

    Parameters
    ----------
    input_shape : tuple of int
        One example's shape: ``(d,)`` for an MLP, ``(C, H, W)`` for images (X is (n, *input_shape)).
    layers : list of Layer
        E.g. ``[Dense(100), Dense(10)]`` or ``[Conv(16, 3), MaxPool(2), Conv(32, 3), MaxPool(2), Dense(10)]``
        (``hyperreg.nn``); the activation follows every parametrized layer (Conv, Dense) but the last, and a
        spatial input is flattened in (C, H, W) order before the first Dense. Hyperparameter i (``l2[i]``,
        ``noise[i]``, ``keep[i]``) belongs to parametrized layer i and acts on its input (``noise[0]``: the
        input noise).
    activation : {"relu", "leaky_relu", "tanh"}
    batchnorm : bool
        Batch norm (batch statistics; per channel over (n, H, W) after a Conv) before each hidden
        activation; γ, β follow the other parameters in θ. ``update_running_stats`` keeps the averages
        that ``predict`` uses.
    l2, l1, lhalf, noise, dropout : {"per-layer", "tied", None}
        Which hyperparameters exist: one per parametrized layer, or tied (noise: input and hidden apart).
        Any other kind registered in ``regularizers.REGULARIZERS`` is given the same way, by its name.
    backend : str or Backend
    dtype : {"float64", "float32"}
    keep_delta : float
        δ of the coupled-mask central difference for keep-probabilities (an estimate, not exact).
    penalty_eps : float
        ε of the ℓ1/ℓ½ smoothing (``regularizers.PENALTY_EPS``).
    validate : bool
        Check shapes, finiteness, label range and λ's range in every public call (each check is a host read).
    """

    def __init__(self, input_shape, layers, activation="relu", batchnorm=False, l2="per-layer",
                 noise="per-layer", dropout=None, backend="numpy", dtype="float64", keep_delta=0.05,
                 validate=True, l1=None, lhalf=None, penalty_eps=PENALTY_EPS, **more):
        self.input_shape = tuple(int(chk.check_positive_int(s, f"input_shape[{i}]"))
                                 for i, s in enumerate(input_shape))
        if activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
        self.activation, self.batchnorm = activation, bool(batchnorm)
        self.backend: Backend = get_backend(backend)
        self.xp = self.backend.xp
        self.dtype_name, self.dtype = dtype, self.backend.dtype(dtype)
        self.keep_delta = chk.check_scalar(keep_delta, "keep_delta", 0, 0.5, low_open=True)
        self.penalty_eps = chk.check_scalar(penalty_eps, "penalty_eps", 0, low_open=True)
        self.validate = bool(validate)
        self.layers = build_stack(list(layers), activation, self.batchnorm, self.input_shape)
        # positions of the parametrized layers in the stack, and each position's hooked-layer index
        self.hooked = [p for p, layer in enumerate(self.layers) if layer.hooked]
        self.hook_of = [self.hooked.index(p) if p in self.hooked else None for p in range(len(self.layers))]
        self.n_layers = len(self.hooked)
        shape, shapes, self.in_shapes = self.input_shape, [], []
        for layer in self.layers:
            self.in_shapes.append(shape)
            shapes.append(layer.param_shapes(shape))
            shape = layer.out_shape(shape)
        self.n_classes = math.prod(shape)
        self.layout = ParamLayout(self.layers, shapes)
        self.n_params = self.layout.size
        unknown = sorted(set(more) - set(REGULARIZERS))
        if unknown:
            raise ValueError(f"unknown regularizer {unknown[0]!r}; the registered kinds are "
                             f"{sorted(REGULARIZERS)} (add one to regularizers.REGULARIZERS)")
        modes = {"l2": l2, "l1": l1, "lhalf": lhalf, "noise": noise, "keep": dropout, **more}
        self.space = HyperSpace(REGULARIZERS, modes, self.n_layers, self.backend, dtype)
        self.blocks, self.n_hypers = self.space.blocks, self.space.n_hypers
        self.hyper_names = self.space.hyper_names
        self.running_stats = None

    def __repr__(self):
        regs = ", ".join(f"{k}={len(b.names)}" for k, b in self.blocks.items())
        return (f"{type(self).__name__}(input_shape={self.input_shape}, layers={self.layers}, "
                f"{regs or 'no hyperparameters'}, backend={self.backend.name!r})")

    # --- θ and λ ---------------------------------------------------------------------------------

    def unflatten(self, theta):
        """θ → [(W_0, b_0), …] per parametrized layer, then [(γ_1, β_1), …] with batch norm (views)."""
        return self.layout.groups(theta)

    def flatten(self, pairs):
        """The inverse of ``unflatten``: a list of tuples in θ's order → flat θ."""
        xp = array_namespace(pairs[0][0])
        return xp.concat([xp.reshape(a, (-1,)) for pair in pairs for a in pair])

    def init_params(self, seed=0):
        """θ₀: each layer's ``init`` (dense W ~ N(0, gain/d_in), gain 2 for ReLU-like, 1 for tanh; b = 0;
        γ = 1, β = 0), drawn in float64 and cast, so a seed gives the same network in either dtype."""
        rng = self.backend.rng(seed)
        gain = 1.0 if self.activation == "tanh" else 2.0
        per_layer = [tuple(layer.init(rng, s, self.dtype_name, gain))
                     for layer, s in zip(self.layers, self.in_shapes)]
        like = self.xp.zeros((1,), dtype=self.dtype, device=self.backend.device)
        return self.layout.flatten(per_layer, like)

    def init_hypers(self, l2=None, noise=None, keep=None, l1=None, lhalf=None, **more):
        """λ in ``hyper_names`` order, natural units (None: each regularizer's default). Each argument (a kind
        of ``regularizers.REGULARIZERS``): one value for all entries of its block, a sequence with one per
        entry, or a dict name → value."""
        return self.space.init({"l2": l2, "noise": noise, "keep": keep, "l1": l1, "lhalf": lhalf, **more})

    def hypers_dict(self, lam) -> dict:
        """λ as ``{name: float}`` (a host read)."""
        return self.space.as_dict(lam)

    def check_hypers(self, lam):
        """Raise unless λ has length n_hypers, is finite and each entry is in its regularizer's range."""
        self.space.check(lam)

    # --- noise -------------------------------------------------------------------------------------

    def sample_noise(self, n, rng):
        """One minibatch's noise: ε_l ~ N(0, I) shaped as each parametrized layer's input (a list), and with
        dropout a ``Noise`` that also holds U_l ~ U[0, 1) for the masks. ``rng``: a BackendRNG or seed."""
        if not hasattr(rng, "normal"):
            rng = self.backend.rng(rng)
        shapes = [(n, *self.in_shapes[p]) for p in self.hooked]
        eps = [rng.normal(s, self.dtype_name) for s in shapes] if "noise" in self.blocks else None
        if "keep" not in self.blocks:
            return eps
        return Noise(eps, [rng.uniform(s, self.dtype_name) for s in shapes])

    def antithetic_noise(self, noise):
        """The antithetic partner of a noise sample: every ε_l negated, the dropout uniforms U_l kept.

        (−ε, U) has the law of (ε, U), so an estimate averaged over the pair keeps its mean; its part odd
        in ε cancels. None when the sample has no additive noise (the partner would be the sample itself)."""
        eps, uniform = (noise.eps, noise.uniform) if isinstance(noise, Noise) else (noise, None)
        if eps is None:
            return None
        neg = [-e for e in eps]
        return Noise(neg, uniform) if isinstance(noise, Noise) else neg

    # --- the sweep ---------------------------------------------------------------------------------

    def _check_batch(self, theta, X, y):
        chk.check_shape(theta, (self.n_params,), "theta")
        chk.check_float(theta, self.dtype, "theta")
        chk.check_shape(X, (None, *self.input_shape), "X")
        chk.check_float(X, self.dtype, "X")
        chk.check_finite(X, "X")
        if y is not None:
            chk.check_labels(y, X.shape[0], self.n_classes)

    def _onehot(self, xp, y, like):
        classes = xp.arange(self.n_classes, device=device(like))
        return xp.astype(y[:, None] == classes, like.dtype)

    def at(self, theta, lam, X, y, noise=None, check=None) -> TrainPoint:
        """The training objective's sweep at (θ, λ) on one minibatch, for all primitives to share.

        ``check``: validate the inputs (default ``self.validate``); False where they were checked."""
        check = self.validate if check is None else check
        if check:
            self._check_batch(theta, X, y)
            self.check_hypers(lam)
        shapes = [(X.shape[0], *self.in_shapes[p]) for p in self.hooked]
        eps, uniform = noise_parts(noise, self.blocks, shapes, self.dtype, check)
        return TrainPoint(self, theta, lam, X, y, eps, uniform, check)

    def _sweep(self, theta, X, y, hooks, out=None):
        """Forward + backward; ``out``: per-layer views of a flat buffer for the parameter gradients."""
        xp = array_namespace(theta, X)
        sw = forward(xp, self.layers, self.hook_of, hooks, self.layout.views(theta), X)
        return backward(sw, self._onehot(xp, y, X), out=out)

    def _flat_grad(self, sweep_fn, like):
        """``sweep_fn(out)`` run with its parameter gradients written into a fresh flat buffer's views where
        the backend can (no copy): returns (the buffer or None, the sweep)."""
        flat, views = self.layout.buffer(like)
        return flat, sweep_fn(views)

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

    def _val_sweep(self, theta, X, y, check=None, out=None):
        if self.validate if check is None else check:
            self._check_batch(theta, X, y)
        return self._sweep(theta, X, y, [Hook() for _ in range(self.n_layers)], out=out)

    def val_loss(self, theta, X, y, check=None):
        """L_V(θ) = mean CE(f(x; θ, 0), y): no penalty, no noise, no dropout (batch-norm: batch stats).
        The forward pass only."""
        return self.loss_and_error(theta, X, y, check)[0]

    def val_grad(self, theta, X, y, check=None):
        """∇_θ L_V(θ), shape (n_params,)."""
        flat, sw = self._flat_grad(lambda out: self._val_sweep(theta, X, y, check, out), theta)
        return self.layout.collect(flat, sw.g_P, theta)
