"""``hyperreg compare``: every hypergradient estimator against the exact long-horizon one, along a training run.

A training run by SGD at fixed λ (or along a tuned run's λ path), θ_{t+1} = θ_t − η_t g_T(θ_t, λ_t; s_t), η_t
constant or (``anneal``) constant for half the run, then linearly down to η/10 (``hyperreg tune``'s schedule).
Every estimator (a ``hypergrad.registry`` name) follows it from step 0 as it would online: ``propagate``
every step, and ``hypergradient`` at its own hyper steps when it carries state (UnrollK's reset, IFT's warm
start). At each checkpoint c, over ``draws`` independent draws of T training samples s_0 … s_{T−1} and a
validation sample (the run's own stream is not touched):

    estimate    each estimator's h from its state at c, its step made on s_0 (the same minibatch and noise)
    reference   h_T = dL_V(θ_{c+T})/dλ through T SGD steps on s_0 … s_{T−1} from θ_c (``hypergrad.horizon``)

and per estimator (``agreement``): cosine(h, h_T) and ‖h − h_T‖/‖h_T‖ per draw (mean, std over draws), the
fraction of draws whose sign agrees with h_T per hyperparameter, the mean and std of h over draws, the paired
bias mean(h − h_T) and whether it exceeds 3 standard errors, and the seconds. ``exact`` among the estimators
is the ExactKStep tangent carried from step 0 (the whole past at fixed λ); the reference looks T steps ahead.
"""

from __future__ import annotations

import dataclasses
import math
import time
import warnings
from dataclasses import dataclass, field

import numpy as np

from .._checks import ConvergenceWarning
from ..hypergrad.estimator import Step
from ..hypergrad.horizon import horizon_forward, horizon_reverse
from ..hypergrad.registry import make_estimator
from ..optim import Annealed, as_schedule
from .compare_setup import PROBLEMS, build_setup

DEFAULT_ESTIMATORS = ("greedy", "greedy-fast", "unroll1-gtgv", "unroll5", "clip5", "discounted0.9", "exact", "ift")
MODES = ("forward", "reverse", "both")
Z_BIAS = 3.0  # a bias is reported when |mean(h − h_T)| exceeds this many standard errors
STREAMS = {"run": 0, "estimators": 1, "draws": 2}  # seed offsets: the run's stream never sees the draws
QUICK = dict(steps=40, checkpoints=2, horizon=10, draws=2, sizes=(16,), train_rows=300)


@dataclass
class CompareConfig:
    """Every option of ``hyperreg compare`` (JSON's ``config``; 0 means "the problem's default")."""

    problem: str = "mlp"
    data: str = "digits"
    sizes: tuple = (50, 50)
    activation: str = "relu"
    reg: tuple = ("l2", "noise")
    tied: bool = False
    init: dict = field(default_factory=dict)
    estimators: tuple = DEFAULT_ESTIMATORS
    steps: int = 1000
    checkpoints: int = 6
    horizon: int = 200
    horizons: tuple = ()  # shorter horizons also reported (forward mode)
    draws: int = 4
    mode: str = "forward"
    lr: float = 0.0  # 0: 0.1 (MLP), 1e-3 (quadratic), 1/λ̂_max(H(θ₀)) (ridge, logistic)
    anneal: bool = False  # η_t as ``hyperreg tune --anneal``: constant for half the steps, then down to η/10
    batch: int = 100
    train_rows: int = 0  # 0: all of T1
    val_rows: int = 0  # 0: all of T2
    dim: int = 20  # the quadratic toy's d
    lambda_path: str = ""  # a tuned run's run.json: λ_t from its history instead of a fixed λ
    backend: str = "numpy"
    dtype: str = "float64"
    seed: int = 0

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        for key in ("sizes", "reg", "estimators", "horizons"):
            d[key] = list(d[key])
        return d

    def validate(self):
        """Raise ValueError naming the option, its allowed range and the value received."""
        if self.problem not in PROBLEMS:
            raise ValueError(f"--problem must be one of {', '.join(PROBLEMS)}, got {self.problem!r}")
        for name in ("steps", "checkpoints", "horizon", "draws", "batch", "dim"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValueError(f"--{name} must be a positive integer, got {v!r}")
        for name in ("train_rows", "val_rows"):
            if int(getattr(self, name)) < 0:
                raise ValueError(f"--{name.replace('_', '-')} must be ≥ 0 (0: all), got {getattr(self, name)!r}")
        if not (isinstance(self.lr, (int, float)) and math.isfinite(self.lr) and self.lr >= 0):
            raise ValueError(f"--lr must be a positive number (0: the problem's default), got {self.lr!r}")
        if self.mode not in MODES:
            raise ValueError(f"--mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        bad = [n for n in self.horizons if not 1 <= int(n) <= self.horizon]
        if bad:
            raise ValueError(f"--horizons must lie in 1…{self.horizon} (the --horizon), got {bad}")
        if not self.estimators:
            raise ValueError("--estimators is empty; give registered names, e.g. greedy,unroll5,clip5")
        for name in self.estimators:
            if make_estimator(name).gradient_free:
                raise ValueError(f"--estimators: {name!r} proposes λ itself (gradient-free) and has no "
                                 "hypergradient to compare; drop it")
        return self


# --- the metrics, on host arrays ------------------------------------------------------------------------


def agreement(est, ref, lam=None):
    """How draws ``est`` (D, k) of an estimator agree with the reference draws ``ref`` (D, k), paired by row.

    cosine_d = ⟨h_d, r_d⟩ / (‖h_d‖ ‖r_d‖),  rel_error_d = ‖h_d − r_d‖ / ‖r_d‖  (mean and std over d; NaN
    where a norm is 0), sign_agreement_j = mean_d 1[sign h_dj = sign r_dj], mean/std of h_d, the paired
    bias_j = mean_d (h_dj − r_dj) and biased_j = |bias_j| > Z_BIAS · std_d(h_dj − r_dj)/√D (beyond rounding).
    With ``lam`` (k,), all > 0: also cosine_log, the mean cosine of λ ⊙ h_d and λ ⊙ r_d, the gradients in
    log λ, the coordinates the tuner's hyper step takes (L2 and σ on one footing).
    """
    est, ref = np.asarray(est, dtype=float), np.asarray(ref, dtype=float)
    n_e, n_r = np.linalg.norm(est, axis=1), np.linalg.norm(ref, axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.sum(est * ref, axis=1) / (n_e * n_r)
        rel = np.linalg.norm(est - ref, axis=1) / n_r
    diff = est - ref
    D = est.shape[0]
    se = diff.std(axis=0, ddof=1 if D > 1 else 0) / math.sqrt(D)
    rounding = 1e-9 * (np.abs(est).max() + np.abs(ref).max())
    bias = diff.mean(axis=0)
    extra = {}
    if lam is not None and np.all(np.asarray(lam) > 0):
        extra["cosine_log"] = agreement(est * lam, ref * lam)["cosine"]
    return {**extra, "cosine": _f(np.mean(cos)), "cosine_std": _f(np.std(cos)), "rel_error": _f(np.mean(rel)),
            "rel_error_std": _f(np.std(rel)), "sign_agreement": _fl(np.mean(np.sign(est) == np.sign(ref), axis=0)),
            "mean": _fl(est.mean(axis=0)), "std": _fl(est.std(axis=0)), "bias": _fl(bias),
            "biased": [bool(abs(b) > Z_BIAS * s + rounding) for b, s in zip(bias, se)]}


def _f(x):
    """A host float, or None for NaN / Inf (JSON has neither)."""
    x = float(x)
    return x if math.isfinite(x) else None


def _fl(a):
    return [_f(v) for v in np.asarray(a).ravel()]


# --- the run ---------------------------------------------------------------------------------------------


def checkpoint_steps(steps, n, estimators):
    """n steps spread over [0, steps), each moved down to a hyper step of every estimator: (c + 1) % L = 0,
    L the least common multiple of their ``every`` (UnrollK's tangent then spans its full K steps)."""
    L = math.lcm(*(int(e.every) for e in estimators))
    raw = [round(i * (steps - 1) / max(1, n - 1)) for i in range(n)] if n > 1 else [steps - 1]
    return sorted(c for c in {max(L - 1, (c + 1) // L * L - 1) for c in raw} if c < steps)


def _timed(be, f, warned=None, name=None):
    """(f(), seconds with the device synchronized); ConvergenceWarnings (IFT's short CG) counted in ``warned``."""
    t0 = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        out = f()
    be.synchronize()
    seconds = time.perf_counter() - t0
    for w in caught:
        if issubclass(w.category, ConvergenceWarning) and warned is not None:
            warned[name] = warned.get(name, 0) + 1
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    return out, seconds


def _draws_at(setup, cfg, c, theta, lam, states, ests, rng, warned):
    """Every estimator's h and the reference h_T over ``cfg.draws`` draws at checkpoint c (host arrays)."""
    prob, be, eta = setup.problem, setup.problem.backend, _schedule(setup, cfg)
    lr, rates = eta(c), [eta(c + t) for t in range(cfg.horizon)]
    host = {name: [] for name in ests}
    secs = {name: 0.0 for name in ests}
    ref, ref_h, rev, ref_s = [], {}, [], 0.0
    for _ in range(cfg.draws):
        samples = [prob.sample(rng) for _ in range(cfg.horizon)]
        val_sample = prob.val_sample(rng)
        point = prob.at(theta, lam, samples[0])
        step = Step(prob, point, theta, theta - lr * point.grad, lam, samples[0], val_sample, lr)
        for name, est in ests.items():
            def estimate(est=est, name=name):
                return est.hypergradient(est.propagate(dict(states[name]), point, lr), step)[0]
            h, s = _timed(be, estimate, warned, name)
            host[name].append(be.to_numpy(h))
            secs[name] += s
        args = (prob, theta, lam, rates, samples, val_sample)
        if cfg.mode == "reverse":
            h_T, s = _timed(be, lambda: {cfg.horizon: horizon_reverse(*args)})
        else:
            h_T, s = _timed(be, lambda: horizon_forward(*args, cfg.horizons))
        ref_s += s
        ref.append(be.to_numpy(h_T[cfg.horizon]))
        for T, h in h_T.items():
            ref_h.setdefault(T, []).append(be.to_numpy(h))
        if cfg.mode == "both":
            rev.append(be.to_numpy(horizon_reverse(*args)))
    return host, secs, np.array(ref), {T: np.array(v) for T, v in ref_h.items()}, rev, ref_s / cfg.draws


def _checkpoint(setup, cfg, c, theta, lam, states, ests, rng, warned):
    """One checkpoint's JSON record."""
    prob = setup.problem
    host, secs, ref, ref_h, rev, ref_s = _draws_at(setup, cfg, c, theta, lam, states, ests, rng, warned)
    reference = {"horizon": cfg.horizon, "mode": cfg.mode, "mean": _fl(ref.mean(axis=0)),
                 "std": _fl(ref.std(axis=0)), "seconds": ref_s, "draws": ref.tolist(),
                 "horizons": {str(T): {"mean": _fl(v.mean(axis=0)), "std": _fl(v.std(axis=0))}
                              for T, v in sorted(ref_h.items())}}
    if rev:
        rev = np.array(rev)
        reference["reverse_rel_diff"] = _f(np.max(np.linalg.norm(rev - ref, axis=1)
                                                  / np.maximum(np.linalg.norm(ref, axis=1), 1e-300)))
    out, lam_host = {}, prob.backend.to_numpy(lam)
    for name, draws in host.items():
        est = np.array(draws)
        rec = {**agreement(est, ref, lam_host), "seconds": secs[name] / cfg.draws, "draws": est.tolist()}
        rec["by_horizon"] = {str(T): {k: agreement(est, v)[k] for k in ("cosine", "sign_agreement")}
                             for T, v in sorted(ref_h.items())}
        out[name] = rec
    val = prob.val_loss(theta, prob.val_sample(rng), lam=lam)
    return {"step": c, "lambda": prob.hypers_dict(lam), "val_loss": _f(prob.backend.to_numpy(val)),
            "reference": reference, "estimators": out}


def compare(cfg: CompareConfig, callback=None) -> dict:
    """The study of ``cfg``: the JSON document of ``hyperreg compare`` (module docstring).

    ``callback(record)`` is called after each checkpoint (the CLI prints a line).
    """
    cfg.validate()
    setup = build_setup(cfg)
    prob, be, eta = setup.problem, setup.problem.backend, _schedule(setup, cfg)
    ests = {name.strip().lower(): make_estimator(name) for name in cfg.estimators}
    cps = checkpoint_steps(cfg.steps, cfg.checkpoints, ests.values())
    if not cps:
        every = math.lcm(*(int(e.every) for e in ests.values()))
        raise ValueError(f"--steps must be ≥ {every} (a hyper step of every estimator: the least common multiple "
                         f"of their steps per hyper step), got {cfg.steps}")
    theta = setup.theta0
    states = {name: est.init_state(prob, theta) for name, est in ests.items()}
    stateful = {name for name, s in states.items() if s}
    rng_run, rng_est, rng_draw = (be.rng(cfg.seed + STREAMS[k]) for k in ("run", "estimators", "draws"))
    cost = {name: 0.0 for name in ests}
    plain, records, warned, t_start = 0.0, [], {}, time.perf_counter()
    for t in range(cfg.steps):
        lam, lr = setup.lam_at(t), eta(t)
        if t in cps:
            records.append(_checkpoint(setup, cfg, t, theta, lam, states, ests, rng_draw, warned))
            if callback is not None:
                callback(records[-1])
        sample = prob.sample(rng_run)
        (point, theta_next), s = _timed(be, lambda: _sgd_step(prob, theta, lam, sample, lr))
        plain += s
        for name, est in ests.items():
            def follow(est=est, name=name):
                st = est.propagate(states[name], point, lr)
                if name in stateful and (t + 1 - est.warmup) % est.every == 0 and t >= est.warmup:
                    st = est.hypergradient(st, Step(prob, point, theta, theta_next, lam, sample,
                                                    prob.val_sample(rng_est), lr))[1]
                return st
            states[name], s = _timed(be, follow, warned, name)
            cost[name] += s
        theta = theta_next
    plain /= cfg.steps
    costs = {}
    for name, est in ests.items():
        at_cp = [r["estimators"][name]["seconds"] for r in records]
        follow = cost[name] / cfg.steps
        online = follow if name in stateful else follow + float(np.mean(at_cp)) / est.every
        costs[name] = {"follow_seconds_per_step": follow, "seconds_per_estimate": float(np.mean(at_cp)),
                       "online_seconds_per_step": online, "online_vs_plain_step": online / plain,
                       "convergence_warnings": warned.get(name, 0)}
    return {"config": cfg.to_json(), "setup": setup.info | {"lr": setup.lr, "checkpoint_steps": cps,
                                                            "hyper_names": list(prob.hyper_names)},
            "checkpoints": records, "cost": costs, "plain_step_seconds": plain,
            "seconds": time.perf_counter() - t_start}


def _schedule(setup, cfg):
    """t → η_t: constant, or ``Annealed`` over the run (past its end: η/10)."""
    return Annealed(setup.lr, cfg.steps // 2, cfg.steps, 0.1) if cfg.anneal else as_schedule(setup.lr)


def _sgd_step(prob, theta, lam, sample, lr):
    point = prob.at(theta, lam, sample)
    return point, theta - lr * point.grad


__all__ = ["DEFAULT_ESTIMATORS", "MODES", "QUICK", "STREAMS", "CompareConfig", "agreement", "checkpoint_steps",
           "compare"]
