"""Optimizers on flat arrays, learning-rate schedules, and hyperparameter parametrizations.

Optimizers are frozen dataclasses of settings with a functional state:
``state = opt.init(x)``; ``x, state = opt.step(x, grad, state, t)`` (t counts from 0). On the hot path,
``opt.step(x, grad, state, t, out=buf)`` writes x' into ``buf`` (x itself for a true in-place step) and
updates the state in place: no array of θ's size is allocated where the backend has ``out=``.
The same classes serve θ and the hyperparameters (in their unconstrained parametrization φ).

Parametrizations keep λ valid while the hyper-optimizer moves φ freely:
    log     λ = exp(φ)               dλ/dφ = λ              (L2 strength, noise std)
    logit   λ = 1 / (1 + exp(−φ))    dλ/dφ = λ (1 − λ)      (keep-probability)
so ∂L_V/∂φ = ∂L_V/∂λ · dλ/dφ, and bounds on λ become bounds on φ (a projection by clipping).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from array_api_compat import array_namespace, device

from . import _checks as chk
from .backends.inplace import ops
from .regularizers import REGULARIZERS

# --- learning-rate schedules: η_t ---------------------------------------------------------------


@dataclass(frozen=True)
class Constant:
    """η_t = lr."""

    lr: float

    def __call__(self, t: int) -> float:
        return self.lr


@dataclass(frozen=True)
class StepDecay:
    """η_t = lr · factor^⌊t / every⌋."""

    lr: float
    every: int
    factor: float = 0.1

    def __call__(self, t: int) -> float:
        return self.lr * self.factor ** (t // self.every)


@dataclass(frozen=True)
class Exponential:
    """η_t = lr · gamma^t."""

    lr: float
    gamma: float

    def __call__(self, t: int) -> float:
        return self.lr * self.gamma**t


@dataclass(frozen=True)
class Annealed:
    """η_t = lr for t < start, then decays linearly to lr · final at ``end`` and stays there.

    Luketina et al. (2016, §4) train with "an annealed ADAM learning rate schedule" without its
    formula; this is the linear annealing of their code's era, with start/end in steps."""

    lr: float
    start: int
    end: int
    final: float = 0.0

    def __call__(self, t: int) -> float:
        if t < self.start:
            return self.lr
        frac = min(1.0, (t - self.start) / max(1, self.end - self.start))
        return self.lr * (1 - frac * (1 - self.final))


@dataclass(frozen=True)
class Coupled:
    """η_λ(t) = c · η_t, t the *elementary* step: ICLR-2018 Algorithm 1's hyper step λ ← λ − c·η_t·Yᵀg_V,
    which follows the elementary learning rate's schedule (``Tuner`` passes the elementary step to a hyper
    optimizer whose rate has ``clock == "elementary"``)."""

    c: float
    schedule: object
    clock = "elementary"

    def __call__(self, t: int) -> float:
        return self.c * as_schedule(self.schedule)(t)


def clock(opt) -> str:
    """``"elementary"`` when ``opt``'s rate is indexed by the elementary step (``Coupled``), else ``"hyper"``
    (the hyper-step count: Adam's bias correction and a schedule of the hyper steps)."""
    return getattr(getattr(opt, "lr", None), "clock", "hyper")


def as_schedule(lr):
    """A float becomes ``Constant(lr)``; a callable t → η is used as is."""
    if callable(lr):
        return lr
    return Constant(chk.check_scalar(lr, "lr", low=0))  # 0 freezes: a legitimate control


# --- optimizers ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SGD:
    """x ← x − η_t g."""

    lr: object = 0.1

    def init(self, x):
        return ()

    def step(self, x, g, state, t, out=None):
        """x' = x − η_t g; ``out``: a buffer (x itself when x is no longer needed) to write x' into."""
        return ops(array_namespace(x)).step(out, x, -as_schedule(self.lr)(t), g), state


@dataclass(frozen=True)
class Momentum:
    """v ← μ v + g,  x ← x − η_t v  (heavy ball; the form whose tangent ``hypergrad.forward`` propagates)."""

    lr: object = 0.1
    mu: float = 0.9

    def init(self, x):
        return (array_namespace(x).zeros_like(x),)

    def step(self, x, g, state, t, out=None):
        """``out`` as for SGD; with it the velocity v is updated in place as well."""
        (v,) = state
        if out is None:
            v = self.mu * v + g
        else:
            v *= self.mu
            v += g
        return ops(array_namespace(x)).step(out, x, -as_schedule(self.lr)(t), v), (v,)


@dataclass(frozen=True)
class Adam:
    """Kingma & Ba (2015): m ← β₁m + (1−β₁)g, s ← β₂s + (1−β₂)g², x ← x − η_t m̂ / (√ŝ + ε).

    ε = 0 makes the step scale-free (a coordinate whose gradients have all been 0 does not move): what
    the hyperparameters need, see ``hyper_adam``.
    """

    lr: object = 1e-3
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8

    def init(self, x):
        xp = array_namespace(x)
        return (xp.zeros_like(x), xp.zeros_like(x))

    def step(self, x, g, state, t, out=None):
        """``out`` as for SGD; with it the moments m and s are updated in place as well."""
        xp = array_namespace(x)
        m, s = state
        if out is None:
            m = self.beta1 * m + (1 - self.beta1) * g
            s = self.beta2 * s + (1 - self.beta2) * (g * g)
        else:
            m *= self.beta1  # in place, rounded as the functional line above (a resumed run matches)
            m += (1 - self.beta1) * g
            s *= self.beta2
            s += (1 - self.beta2) * (g * g)
        mhat = m / (1 - self.beta1 ** (t + 1))
        shat = s / (1 - self.beta2 ** (t + 1))
        denom = xp.sqrt(shat) + self.eps
        if self.eps == 0:  # ŝ = 0 only where every g so far was 0, and there m̂ = 0 too: no step
            denom = xp.where(denom > 0, denom, xp.ones_like(denom))
        lr = as_schedule(self.lr)(t)
        if out is None:
            return x - lr * mhat / denom, (m, s)
        return ops(xp).step(out, x, -1.0, lr * mhat / denom), (m, s)  # x − (η m̂)/d, rounded as above


def hyper_adam(lr=0.02, **kw) -> Adam:
    """Adam for φ = log λ (or logit): ε = 0, so each coordinate of φ moves ≈ η per step at any scale.

    The hypergradient w.r.t. φ = log λ is λ·∂L_V/∂λ, and a greedy one carries the learning rate too
    (h = −η (∂g_T/∂λ)ᵀ∇L_V): at l2 = 1e-7 it is ~1e-10, at σ = 1e-4 ~1e-11 — far below Adam's usual
    ε = 1e-8, which then divides instead of √ŝ and turns Adam back into an SGD with steps ∝ λ.
    Measured on digits (``hyperreg tune --init l2=1e-7``, seed 0): with ε = 1e-8 l2 ended at 9.9e-8,
    with ε = 0 it moved a decade (to 1.5e-8: greedy lowers L2 where the validation loss is flat).
    """
    return Adam(lr, eps=kw.pop("eps", 0.0), **kw)


@dataclass(frozen=True)
class PerKind:
    """x_i ← x_i + r_i · (u_i − x_i), u = ``inner``'s step: one rate per entry on top of the inner rate.

    With ``inner = SGD(1.0)`` this is λ_i ← λ_i − r_i h_i, Luketina et al.'s (2016, §3) per-kind hyper
    learning rates (plain SGD: 1e-1 for noise, 1e-4 for L2; Adam on larger nets: 1e-3 and 1e-6). Both SGD's
    and Adam's steps are linear in their rate, so scaling the inner step by r_i is the step at rate r_i·η.
    """

    inner: object
    rates: tuple

    @property
    def lr(self):
        return self.inner.lr

    def init(self, x):
        return self.inner.init(x)

    def step(self, x, g, state, t, out=None):
        xp = array_namespace(x)
        u, state = self.inner.step(x, g, state, t)
        r = xp.asarray(self.rates, dtype=x.dtype, device=device(x))
        x_new = x + r * (u - x)
        if out is None:
            return x_new, state
        out[...] = x_new
        return out, state


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "adam": Adam}


def make_optimizer(name: str, lr, **kw):
    """``make_optimizer("adam", 1e-3)``; names: sgd, momentum, adam."""
    if name not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, got {name!r}")
    return OPTIMIZERS[name](lr=lr, **kw)


# --- hyperparameter parametrizations ------------------------------------------------------------------


@dataclass(frozen=True)
class Parametrization:
    """Per-entry transforms λ ↔ φ (``"log"``, ``"logit"`` or ``"identity"``) and natural-unit bounds.

    Built for a model with ``Parametrization.for_names(hyper_names)``: each name's regularizer states its
    transform and default bounds (``l2*``, ``l1*``, ``lhalf*``, ``noise*`` log, ``keep*`` logit); a name of no
    registered kind is identity. ``natural=True`` makes every entry identity (φ = λ, the papers' natural-unit
    hyper steps), keeping the bounds, so λ stays in range by projection.
    """

    kinds: tuple
    lower: tuple
    upper: tuple
    names: tuple = field(default=())

    @classmethod
    def for_names(cls, names, bounds=None, natural=False):
        bounds = {**{kind: reg.bounds for kind, reg in REGULARIZERS.items()}, **(bounds or {})}
        kinds, lower, upper = [], [], []
        for n in names:
            base = n.split("[")[0]
            kinds.append(REGULARIZERS[base].transform if base in REGULARIZERS and not natural else "identity")
            lo, hi = bounds.get(n, bounds.get(base, (-math.inf, math.inf)))
            if not lo < hi:
                raise ValueError(f"bounds for {n!r} must satisfy lower < upper, got ({lo}, {hi})")
            lower.append(float(lo))
            upper.append(float(hi))
        return cls(tuple(kinds), tuple(lower), tuple(upper), tuple(names))

    def _masks(self, like):
        xp = array_namespace(like)

        def mask(kind):
            return xp.asarray([k == kind for k in self.kinds], dtype=like.dtype, device=device(like))

        return xp, mask("log"), mask("logit")

    def clip(self, lam):
        """Project λ onto its bounds."""
        xp = array_namespace(lam)
        lo = xp.asarray(self.lower, dtype=lam.dtype, device=device(lam))
        hi = xp.asarray(self.upper, dtype=lam.dtype, device=device(lam))
        return xp.minimum(xp.maximum(lam, lo), hi)

    def to_phi(self, lam):
        """φ = log λ, logit λ or λ, after clipping λ to its bounds (so φ is finite)."""
        xp, is_log, is_logit = self._masks(lam)
        lam = self.clip(lam)
        safe = xp.where(is_log + is_logit > 0, lam, xp.ones_like(lam))
        safe_q = xp.where(is_logit > 0, 1 - lam, xp.ones_like(lam))
        return is_log * xp.log(safe) + is_logit * (xp.log(safe) - xp.log(safe_q)) + (1 - is_log - is_logit) * lam

    def to_lam(self, phi):
        """λ(φ), clipped to the bounds."""
        xp, is_log, is_logit = self._masks(phi)
        lam = is_log * xp.exp(phi) + is_logit / (1 + xp.exp(-phi)) + (1 - is_log - is_logit) * phi
        return self.clip(lam)

    def grad_phi(self, lam, grad_lam):
        """∂/∂φ = ∂/∂λ · dλ/dφ with dλ/dφ = λ (log), λ(1−λ) (logit), 1 (identity)."""
        xp, is_log, is_logit = self._masks(lam)
        return grad_lam * (is_log * lam + is_logit * lam * (1 - lam) + (1 - is_log - is_logit))
