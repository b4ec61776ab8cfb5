"""The online loop of Luketina et al. (2016) and ICLR-2018 Algorithm 1: θ and λ updated together.

At elementary step t (η_t the learning rate, φ the hyper-optimizer's parametrization of λ):

    s ~ T1 (minibatch + noise);  point = L_T at (θ_t, λ_t, s)
    forward methods:  Y ← policy(Y − η_t (H Y + ∂g_T/∂λ))             (one HVP per hyperparameter)
    θ_{t+1} = optimizer(θ_t, g_T)
    every k steps after the warm-up:  h ≈ dL_V/dλ on a T2 sample, φ ← hyper_optimizer(φ, h · dλ/dφ)

Methods (small frozen dataclasses; the state lives here):
    Fixed          λ never moves (the baseline the overhead is measured against)
    Greedy         h = −η (∂g_T/∂λ)ᵀ ∇L_V(θ_{t+1})  (T1–T2, Luketina eq. 3; ``fast``: ∇L_V(θ_t))
    Unroll1GTGV    h = −(∂g_T/∂λ)ᵀ ∇L_V(θ_t)
                   both average ∂g_T/∂λ over the antithetic noise pair (ε, −ε) by default
                   (``hypergrad.greedy``: without it σ cannot climb from a small start)
    UnrollK, ClipR, Discounted, ExactKStep (``hypergrad.forward``)   h = c · Yᵀ ∇L_V(θ_{t+1})
    IFT            h = −(∂g_T/∂λ)ᵀ q with (H + δI) q = ∇L_V(θ_t) by a few warm-started CG (or Neumann)
                   iterations: the implicit hypergradient used online (Pedregosa 2016; Lorraine et al. 2020)
    any object with ``propose(tuner, state, point) -> λ or None``: a gradient-free rule (schedules,
    feedback policies) called every step; the λ it returns (natural units) is clipped to the bounds.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from array_api_compat import array_namespace

from . import _checks as chk
from .hypergrad.forward import (
    ClipR,
    Discounted,
    ExactKStep,
    UnrollK,
    _Policy,
    hypergradient,
    tangent_step,
    tangent_step_momentum,
    tangent_zeros,
)
from .hypergrad.greedy import mixed_pair
from .hypergrad.implicit import ift_hypergradient
from .optim import SGD, Adam, Momentum, Parametrization, as_schedule, hyper_adam


@dataclass(frozen=True)
class Fixed:
    """λ held fixed: plain training with the same loop, for baselines and overhead measurements."""


@dataclass(frozen=True)
class Greedy:
    """T1–T2 (Luketina et al. 2016, eq. 3): the exact derivative of L_V after one SGD step.

    ``antithetic``: ∂g_T/∂λ averaged over the noise sample and its partner −ε (one more sweep per hyper
    step, only when the network has additive noise); False is the paper's single-sample estimate."""

    fast: bool = False
    antithetic: bool = True


@dataclass(frozen=True)
class Unroll1GTGV:
    """ICLR-2018 §3.3 method (a): maximize ⟨g_T, g_V⟩ — the greedy direction without η.
    ``antithetic`` as for ``Greedy``."""

    antithetic: bool = True


@dataclass(frozen=True)
class IFT:
    """The implicit-function hypergradient at the current (θ_t, λ_t), its linear solve warm-started from
    the previous hyper step's q. Exact only at a stationary θ; online it is an approximation whose
    solve is deliberately short (``maxiter``), damped (δ) because the MLP's Hessian is indefinite."""

    solver: str = "cg"
    maxiter: int = 10
    tol: float = 0.1
    damping: float = 0.1  # measured on digits 64-50-10, every=10, 2000 steps: CG's median relative residual
    #                       after 10 iterations was 4e6 at δ=1e-3, 79 at 1e-2, 0.07 at 0.1, 7e-4 at 1.0


FORWARD = (_Policy,)


def parse_method(spec):
    """A method object from its name: fixed, greedy, greedy-fast, unroll1-gtgv, unrollK (e.g. unroll5),
    clipR (e.g. clip5 or clip2.5), exact, discounted0.9. Objects pass through unchanged."""
    if not isinstance(spec, str):
        return spec
    s = spec.strip().lower()
    simple = {"fixed": Fixed(), "greedy": Greedy(), "greedy-fast": Greedy(fast=True),
              "unroll1-gtgv": Unroll1GTGV(), "exact": ExactKStep(), "ift": IFT(),
              "ift-neumann": IFT(solver="neumann")}
    if s in simple:
        return simple[s]
    try:
        if s.startswith("unroll"):
            return UnrollK(int(s[len("unroll"):]))
        if s.startswith("clip"):
            return ClipR(float(s[len("clip"):]))
        if s.startswith("discounted"):
            return Discounted(float(s[len("discounted"):]))
    except ValueError:
        pass
    raise ValueError(
        f"method must be fixed, greedy, greedy-fast, unroll1-gtgv, unrollK (e.g. unroll5), clipR (e.g. clip5), "
        f"exact, discountedμ (e.g. discounted0.9), ift or ift-neumann, got {spec!r}")


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
    tangent: object = None  # Y = dθ/dλ (forward methods)
    tangent_v: object = None  # dv/dλ of the momentum buffer (forward methods with momentum)
    history: list = field(default_factory=list)
    seconds: float = 0.0
    rng: object = None
    loss_sum: object = 0.0  # Σ minibatch L_T since the last record (stays on the device)
    loss_count: int = 0
    ift_q: object = None  # the IFT method's last solution q, its next warm start


@dataclass
class TuneResult:
    theta: object
    lam: object
    history: list
    state: TunerState


class Tuner:
    """θ and λ trained together on a problem (``problems.MLPProblem`` or any protocol object).

    Parameters
    ----------
    problem : Problem
    method : str or method object
        See ``parse_method``.
    optimizer : SGD | Momentum | Adam
        For θ. Forward-mode tangents propagate exactly through SGD and momentum; with Adam only the
        greedy methods run (their η is the current learning rate, as in Luketina et al.).
    hyper_optimizer : SGD | Adam
        For φ, the parametrization of λ (log for L2 and noise, logit for keep-probabilities). Default
        ``optim.hyper_adam(0.01)``: Adam with ε = 0, whose steps do not shrink with λ.
    every : int or None
        Elementary steps per hyper step (None: the method's own — K for UnrollK, else 1).
    warmup : int or None
        Elementary steps before the first hyper step (None: the method's own, else 0).
    log_every : int
        Steps between history records (each evaluates L_V on T2: a host read).
    bounds : dict, optional
        Natural-unit bounds per name or kind, e.g. {"l2": (1e-8, 1.0)}.
    callbacks : list of callables ``f(tuner, state, record)`` called after each history record.
    seed : int
        Seeds the backend RNG that draws minibatches and noise: equal seeds give identical runs.
    """

    def __init__(self, problem, method="greedy", optimizer=None, hyper_optimizer=None, every=None,
                 warmup=None, log_every=100, bounds=None, callbacks=(), seed=0, backend=None):
        self.problem = problem
        self.method = parse_method(method)
        self.optimizer = optimizer if optimizer is not None else SGD(0.1)
        self.hyper_optimizer = hyper_optimizer if hyper_optimizer is not None else hyper_adam(0.01)
        self.forward = isinstance(self.method, FORWARD)
        if self.forward and isinstance(self.optimizer, Adam):
            raise ValueError(
                f"method {self.method} propagates dθ/dλ through SGD or momentum steps; "
                "use optimizer=SGD(...) or Momentum(...), or a greedy method with Adam")
        own_every = getattr(self.method, "every", 1) if self.forward else 1
        self.every = chk.check_positive_int(own_every if every is None else every, "every")
        own_warmup = getattr(self.method, "warmup", 0) if self.forward else 0
        self.warmup = int(chk.check_scalar(own_warmup if warmup is None else warmup, "warmup", low=0))
        self.log_every = chk.check_positive_int(log_every, "log_every")
        self.param = Parametrization.for_names(problem.hyper_names, bounds)
        self.callbacks = list(callbacks)
        self.seed = seed
        self.backend = backend or getattr(problem, "backend", None) or problem.net.backend

    # --- state ---------------------------------------------------------------------------------

    def init_state(self, theta, lam) -> TunerState:
        """The state at step 0 from θ₀ and λ₀ (natural units; validated here, at the boundary)."""
        if hasattr(self.problem, "net"):
            self.problem.net.check_hypers(lam)
        phi = self.param.to_phi(lam)
        st = TunerState(0, theta, phi, self.param.to_lam(phi), self.optimizer.init(theta),
                        self.hyper_optimizer.init(phi), rng=self.backend.rng(self.seed))
        if self.forward:
            st.tangent = tangent_zeros(theta, self.problem.n_hypers)
            if isinstance(self.optimizer, Momentum):
                st.tangent_v = tangent_zeros(theta, self.problem.n_hypers)
        return st

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
        """One elementary step, and a hyper step when one is due. Mutates and returns ``st``."""
        t, prob = st.step, self.problem
        lr = as_schedule(self.optimizer.lr)(t)
        sample = prob.sample(st.rng)
        point = prob.at(st.theta, st.lam, sample)
        if self.forward:
            self._propagate_tangent(st, point, lr)
        theta_next, st.opt_state = self.optimizer.step(st.theta, point.grad, st.opt_state, t)
        st.loss_sum, st.loss_count = st.loss_sum + point.loss, st.loss_count + 1
        if hasattr(self.method, "propose"):  # gradient-free methods (schedules, feedback policies)
            lam = self.method.propose(self, st, point)
            if lam is not None:
                st.lam = self.param.clip(lam)
                st.phi = self.param.to_phi(st.lam)
        elif self._hyper_due(t) and not isinstance(self.method, Fixed):
            h = self._hypergradient(st, point, lr, theta_next, sample)
            self._check_finite(st, point.loss, h)
            st.phi, st.hyper_state = self.hyper_optimizer.step(
                st.phi, self.param.grad_phi(st.lam, h), st.hyper_state, st.hyper_steps)
            st.lam = self.param.to_lam(st.phi)
            st.hyper_steps += 1
        st.theta, st.step = theta_next, t + 1
        return st

    def _hyper_due(self, t):
        return t >= self.warmup and (t + 1 - self.warmup) % self.every == 0

    def _propagate_tangent(self, st, point, lr):
        policy = self.method
        if st.tangent_v is None:
            st.tangent = tangent_step(point, st.tangent, lr, policy)
        else:
            st.tangent, st.tangent_v = tangent_step_momentum(
                point, st.tangent, st.tangent_v, lr, self.optimizer.mu, policy)

    def _hypergradient(self, st, point, lr, theta_next, sample):
        prob, m = self.problem, self.method
        vs = prob.val_sample(st.rng)
        if isinstance(m, IFT):
            res = ift_hypergradient(prob, st.theta, st.lam, sample, vs, solver=m.solver, tol=m.tol,
                                    maxiter=m.maxiter, damping=m.damping, q0=st.ift_q)
            st.ift_q = res.q
            return res.h
        if isinstance(m, Greedy):
            v = prob.val_grad(st.theta if m.fast else theta_next, vs)
            return -lr * mixed_pair(prob, point, st.theta, st.lam, sample, v, m.antithetic)
        if isinstance(m, Unroll1GTGV):
            return -mixed_pair(prob, point, st.theta, st.lam, sample, prob.val_grad(st.theta, vs), m.antithetic)
        h = m.c * hypergradient(st.tangent, prob.val_grad(theta_next, vs))
        if m.reset:
            st.tangent = tangent_zeros(st.theta, prob.n_hypers)
            if st.tangent_v is not None:
                st.tangent_v = tangent_zeros(st.theta, prob.n_hypers)
        return h

    def _check_finite(self, st, loss, h):
        xp = array_namespace(h)
        if not (bool(xp.all(xp.isfinite(h))) and bool(xp.isfinite(loss))):  # host read, once per hyper step
            lam = self._lam_dict(st.lam)
            raise chk.DivergenceError(
                f"diverged at step {st.step}: training loss {float(loss)!r}, hypergradient "
                f"{[float(v) for v in self.backend.to_numpy(h)]} with λ = {lam}; lower the learning rate "
                "or the hyper learning rate, or tighten the bounds", step=st.step, lam=lam, history=st.history)

    # --- history ---------------------------------------------------------------------------------

    def _lam_dict(self, lam):
        return {n: float(v) for n, v in zip(self.problem.hyper_names, self.backend.to_numpy(lam))}

    def record(self, st: TunerState) -> dict:
        """Append {step, lambda, val_loss, val_error, seconds} to the history (a host read)."""
        prob = self.problem
        vs = prob.val_sample(st.rng if getattr(prob, "val_batch_size", None) else None)
        val_loss = float(prob.val_loss(st.theta, vs))
        rec = {"step": st.step, "lambda": self._lam_dict(st.lam), "val_loss": val_loss,
               "seconds": st.seconds}
        if hasattr(prob, "val_error"):
            rec["val_error"] = float(prob.val_error(st.theta, vs))
        if st.loss_count:  # the mean minibatch L_T since the last record: no extra sweep
            rec["train_loss"] = float(st.loss_sum) / st.loss_count
            st.loss_sum, st.loss_count = 0.0, 0
        if not (math.isfinite(val_loss) and math.isfinite(rec.get("train_loss", 0.0))):
            raise chk.DivergenceError(
                f"diverged at step {st.step}: validation loss {val_loss}, training loss "
                f"{rec.get('train_loss')} with λ = {rec['lambda']}; lower the learning rate",
                step=st.step, lam=rec["lambda"], history=st.history)
        st.history.append(rec)
        for cb in self.callbacks:
            cb(self, st, rec)
        return rec


def _progress(progress, total, initial):
    if not progress:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, unit="step", leave=False, dynamic_ncols=True)


__all__ = ["Fixed", "Greedy", "IFT", "TuneResult", "Tuner", "TunerState", "Unroll1GTGV", "parse_method",
           "ClipR", "Discounted", "ExactKStep", "UnrollK", "SGD", "Momentum", "Adam"]
