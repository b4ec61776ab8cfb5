"""The online loop of Luketina et al. (2016) and ICLR-2018 Algorithm 1: θ and λ updated together.

At elementary step t (η_t the learning rate, φ the hyper-optimizer's parametrization of λ), for the
estimator ``m`` (``hypergrad.estimator``; a name goes through ``hypergrad.registry``) with state s:

    s ~ T1 (minibatch + noise);  point = L_T at (θ_t, λ_t, s)
    s = m.propagate(s, point, η_t, μ)                  forward methods: Y ← policy(Y − η_t (H Y + ∂g_T/∂λ))
    θ_{t+1} = optimizer(θ_t, g_T)
    every k steps after the warm-up w (t = w + k − 1, w + 2k − 1, …):
        h, s = m.hypergradient(s, Step(…))  on a T2 sample;   φ ← hyper_optimizer(φ, h · dλ/dφ)
    gradient-free estimators (schedules, feedback policies, Fixed): λ ← m.propose(tuner, state, point)

The tuner knows no formula: every estimator (Greedy, Unroll1GTGV, UnrollK, ClipR, Discounted, ExactKStep,
IFT, or one of your own: README "Your own estimator") is called through the same methods.

Host reads: none inside ``step``. Divergence is checked when a history record is due (every
``log_every`` steps, with the record's own host read): a NaN/Inf training loss, validation loss or λ
raises ``DivergenceError`` naming the step and λ.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from . import _checks as chk
from .hypergrad.estimator import Fixed, Step
from .hypergrad.forward import ClipR, Discounted, ExactKStep, UnrollK
from .hypergrad.greedy import Greedy, Unroll1GTGV
from .hypergrad.ift import IFT
from .hypergrad.registry import make_estimator, parse_method
from .optim import SGD, Adam, Momentum, Parametrization, as_schedule, clock, hyper_adam


@dataclass
class TunerState:
    """Everything a run needs to continue: checkpoint this to resume bit-identically."""

    step: int
    theta: object
    phi: object  # λ in the hyper-optimizer's unconstrained parametrization
    lam: object
    opt_state: tuple
    hyper_state: tuple
    hyper_steps: int = 0
    method_state: dict = field(default_factory=dict)  # the estimator's state: Y, V, IFT's q (name → array/None)
    history: list = field(default_factory=list)
    seconds: float = 0.0
    rng: object = None
    loss_sum: object = 0.0  # Σ minibatch L_T since the last record (stays on the device)
    loss_count: int = 0

    @property
    def tangent(self):
        """Y = dθ/dλ of a forward method (``method_state["tangent"]``), else None."""
        return self.method_state.get("tangent")


@dataclass
class TuneResult:
    theta: object
    lam: object
    history: list
    state: TunerState


class Tuner:
    """θ and λ trained together on a problem (``problems.MLPProblem`` or any ``problems.Problem``).

    Parameters
    ----------
    problem : Problem
    method : str or Estimator
        A registered name (``hypergrad.registry``: greedy, unroll5, clip5, ift, …), an ``Estimator``, or an
        object with ``propose(tuner, state, point)`` (a gradient-free rule).
    optimizer : SGD | Momentum | Adam
        For θ. Forward-mode tangents propagate exactly through SGD and momentum; with Adam only the
        methods without a tangent run (greedy: its η is the current learning rate, as in Luketina et al.).
    hyper_optimizer : SGD | Adam | PerKind
        For φ, the parametrization of λ (log for L2 and noise, logit for keep-probabilities, identity for
        other names). Default ``optim.hyper_adam(0.01)``: Adam with ε = 0, whose steps do not shrink with λ.
        A rate ``optim.Coupled(c, η)`` is indexed by the elementary step: Algorithm 1's λ ← λ − c·η_t·Yᵀg_V.
    hyper_param : "log" | "natural"
        "log": φ as above (hyperreg's default); "natural": φ = λ for every entry (the papers' hyper steps in
        natural units), clipped to the bounds.
    every : int or None
        Elementary steps per hyper step (None: the estimator's own — K for UnrollK, else 1).
    warmup : int or None
        Elementary steps before the first hyper step (None: the estimator's own, else 0). The first hyper
        step is at t = warmup + every − 1 (``hypergrad.estimator``).
    log_every : int
        Steps between history records (each evaluates L_V on T2: a host read, and the divergence check).
    bounds : dict, optional
        Natural-unit bounds per name or kind, e.g. {"l2": (1e-8, 1.0)}.
    callbacks : list of callables ``f(tuner, state, record)`` called after each history record.
    seed : int
        Seeds the backend RNG that draws minibatches and noise: equal seeds give identical runs.
    check_finite : bool
        Raise ``DivergenceError`` at a record when the training or validation loss or λ is not finite.
        False lets a batched run (the quadratic toys) carry a diverged problem's NaN in its own row.
    """

    def __init__(self, problem, method="greedy", optimizer=None, hyper_optimizer=None, every=None,
                 warmup=None, log_every=100, bounds=None, callbacks=(), seed=0, backend=None, check_finite=True,
                 hyper_param="log"):
        self.problem = problem
        self.method = make_estimator(method)
        self.optimizer = optimizer if optimizer is not None else SGD(0.1)
        self.hyper_optimizer = hyper_optimizer if hyper_optimizer is not None else hyper_adam(0.01)
        if self.method.tangent and isinstance(self.optimizer, Adam):
            raise ValueError(
                f"method {self.method} propagates dθ/dλ through SGD or momentum steps; "
                "use optimizer=SGD(...) or Momentum(...), or a greedy method with Adam")
        self.momentum = self.optimizer.mu if isinstance(self.optimizer, Momentum) else None
        self.every = chk.check_positive_int(self.method.every if every is None else every, "every")
        self.warmup = int(chk.check_scalar(self.method.warmup if warmup is None else warmup, "warmup", low=0))
        self.log_every = chk.check_positive_int(log_every, "log_every")
        if hyper_param not in ("log", "natural"):
            raise ValueError(f"hyper_param must be 'log' or 'natural', got {hyper_param!r}")
        self.param = _natural_or(Parametrization.for_names(problem.hyper_names, bounds, hyper_param == "natural"))
        self.hyper_clock = clock(self.hyper_optimizer)
        self.callbacks = list(callbacks)
        self.seed = seed
        self.check_finite = bool(check_finite)
        self.backend = backend or problem.backend
        self._buffers = (None, None)  # (θ_t this tuner wrote, a spare θ buffer): see ``_theta_out``

    # --- state ---------------------------------------------------------------------------------

    def init_state(self, theta, lam) -> TunerState:
        """The state at step 0 from θ₀ and λ₀ (natural units; validated here, at the boundary)."""
        self.problem.check_hypers(lam)
        phi = self.param.to_phi(lam)
        return TunerState(0, theta, phi, self.param.to_lam(phi), self.optimizer.init(theta),
                          self.hyper_optimizer.init(phi), rng=self.backend.rng(self.seed),
                          method_state=self.method.init_state(self.problem, theta, self.momentum))

    def run(self, theta, lam, steps, state=None, progress=False, stop_after=None, on_step=None) -> TuneResult:
        """Run ``steps`` elementary steps from (θ, λ), or continue ``state`` up to step ``steps``.

        ``stop_after``: return once that step is done (what an interruption leaves; resume with ``state``).
        ``on_step(state)``: called after every step and its history record (checkpointing hooks in here)."""
        st = self.init_state(theta, lam) if state is None else state
        end = steps if stop_after is None else min(steps, stop_after)
        bar = _progress(progress, steps, st.step)
        try:
            while st.step < end:
                t0 = time.perf_counter()
                self.step(st)
                st.seconds += time.perf_counter() - t0
                if bar is not None:
                    bar.update(1)
                if st.step % self.log_every == 0 or st.step == steps:
                    self.record(st)
                if on_step is not None:
                    on_step(st)
        finally:
            if bar is not None:
                bar.close()
        return TuneResult(st.theta, st.lam, st.history, st)

    # --- one elementary step -----------------------------------------------------------------------

    def step(self, st: TunerState) -> TunerState:
        """One elementary step, and a hyper step when one is due. Mutates and returns ``st`` (no host read)."""
        t, prob, m = st.step, self.problem, self.method
        lr = as_schedule(self.optimizer.lr)(t)
        sample = prob.sample(st.rng)
        point = prob.at(st.theta, st.lam, sample)
        st.method_state = m.propagate(st.method_state, point, lr, self.momentum)
        theta_next, st.opt_state = self.optimizer.step(st.theta, point.grad, st.opt_state, t,
                                                       out=self._theta_out(st.theta))
        st.loss_sum, st.loss_count = st.loss_sum + point.loss, st.loss_count + 1
        if m.gradient_free:
            lam = m.propose(self, st, point)
            if lam is not None:
                st.lam = self.param.clip(lam)
                st.phi = self.param.to_phi(st.lam)
        elif self.hyper_due(t):
            step = Step(prob, point, st.theta, theta_next, st.lam, sample, prob.val_sample(st.rng), lr)
            h, st.method_state = m.hypergradient(st.method_state, step)
            ht = t if self.hyper_clock == "elementary" else st.hyper_steps  # Coupled: c·η_t, t elementary
            st.phi, st.hyper_state = self.hyper_optimizer.step(st.phi, self.param.grad_phi(st.lam, h),
                                                               st.hyper_state, ht)
            st.lam = self.param.to_lam(st.phi)
            st.hyper_steps += 1
        self._buffers = (theta_next, st.theta if st.theta is self._buffers[0] else None)
        st.theta, st.step = theta_next, t + 1
        return st

    def _theta_out(self, theta):
        """Where θ_{t+1} goes: the buffer of θ_{t−1} once this tuner wrote θ_t itself (double buffering: θ_t
        is still read by the hyper step, θ_{t−1} by nobody), else None (a fresh array: θ₀ is the caller's).
        The optimizer then updates its state in place too, and a step allocates no θ-sized array for θ."""
        mine, spare = self._buffers
        return spare if theta is mine and spare is not None else None

    def hyper_due(self, t) -> bool:
        """Whether elementary step t ends with a hyper step: t = warmup + every − 1, then every ``every``."""
        return t >= self.warmup and (t + 1 - self.warmup) % self.every == 0

    # --- history ---------------------------------------------------------------------------------

    def _host(self, x):
        """A device value as a host float, or a list of floats for a batched problem's (B,) value."""
        a = self.backend.to_numpy(x)
        return float(a) if a.ndim == 0 else a.tolist()

    def record(self, st: TunerState) -> dict:
        """Append {step, lambda, val_loss, val_error, train_loss, seconds} to the history (a host read), and
        raise ``DivergenceError`` when the losses or λ are not finite (``check_finite``)."""
        prob = self.problem
        vs = prob.record_sample(st.rng)
        val_loss, err = prob.record(st.theta, vs, lam=st.lam)
        rec = {"step": st.step, "lambda": prob.hypers_dict(st.lam), "val_loss": self._host(val_loss),
               "seconds": st.seconds}
        if err is not None:
            rec["val_error"] = self._host(err)
        if st.loss_count:  # the mean minibatch L_T since the last record: no extra sweep
            total, n = self._host(st.loss_sum), st.loss_count
            rec["train_loss"] = [v / n for v in total] if isinstance(total, list) else total / n
            st.loss_sum, st.loss_count = 0.0, 0
        if self.check_finite:
            self._check_finite(st, rec)
        st.history.append(rec)
        for cb in self.callbacks:
            cb(self, st, rec)
        return rec

    def _check_finite(self, st, rec):
        values = [rec["val_loss"], rec.get("train_loss", 0.0), *rec["lambda"].values()]
        if all(math.isfinite(v) for x in values for v in (x if isinstance(x, list) else [x])):
            return
        raise chk.DivergenceError(
            f"diverged at step {st.step} (since the record before): training loss {rec.get('train_loss')}, "
            f"validation loss {rec['val_loss']} with λ = {rec['lambda']}; lower the learning rate or the "
            "hyper learning rate, or tighten the bounds", step=st.step, lam=rec["lambda"], history=st.history)


class _Natural:
    """φ = λ, unbounded: ``Parametrization``'s identity transform without its per-call masks (the quadratic
    toy's λ ∈ ℝ, whose every-step hyper steps would otherwise pay for them)."""

    def clip(self, lam):
        return lam

    def to_phi(self, lam):
        return lam

    def to_lam(self, phi):
        return phi

    def grad_phi(self, lam, grad_lam):
        return grad_lam


def _natural_or(param):
    """``_Natural()`` when every entry of ``param`` is an unbounded identity, else ``param``."""
    unbounded = all(lo == -math.inf for lo in param.lower) and all(hi == math.inf for hi in param.upper)
    return _Natural() if unbounded and set(param.kinds) <= {"identity"} else param


def _progress(progress, total, initial):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="step", leave=False, dynamic_ncols=True)


__all__ = ["Fixed", "Greedy", "IFT", "TuneResult", "Tuner", "TunerState", "Unroll1GTGV", "make_estimator",
           "parse_method", "ClipR", "Discounted", "ExactKStep", "UnrollK", "SGD", "Momentum", "Adam"]
