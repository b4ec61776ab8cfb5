"""``hyperreg tune``: train an MLP on T1 while tuning its regularization λ on T2, in one run (Luketina et al.).

``TuneConfig`` (``experiments.config``) holds every option (JSON-serializable: it is ``run.json``'s ``config``
and what ``rerun`` and ``grid`` replay); ``build`` turns it into a problem and a ``Tuner``; ``train`` runs the
tuner's loop with checkpoints; ``tune`` does all of it and returns ``run.json``'s document.

The defaults below are hyperreg's own; the papers' protocols (natural-unit SGD with per-kind rates,
Algorithm 1's c·η_t coupling, their batch sizes) are presets over the same fields in ``experiments.protocols``
(``hyperreg tune --protocol luketina2016|iclr2018``).

Defaults, chosen by measurement (digits, 64-100-100-10 ReLU, per-layer L2 and noise, Adam(1e-3) on θ
annealed over the second half, batch 100, 150 epochs = 1725 steps, greedy; numbers: final validation
cross-entropy on T2, see docs/README.md):

- hyper-optimizer **Adam on φ = log λ, with ε = 0** (``optim.hyper_adam``). The hypergradient w.r.t. φ is
  λ·∂L_V/∂λ, so plain SGD's steps shrink with λ: SGD(0.1) started at l2 = 0.1, σ = 1 left λ exactly there
  (val 2.305, chance level), while Adam — which divides by the gradient's running RMS, so φ moves ≈
  hyper-lr per step at any scale — brought l2 from 0.1 to 1e-3 and σ from 1 to 0.12–0.9. Adam's usual
  ε = 1e-8 undoes that below: greedy's h carries η as well, ~1e-10 at l2 = 1e-7, so ε divides instead of
  the RMS and l2 stayed at 9.9e-8; with ε = 0 it moves (down: greedy lowers L2 where L_V is flat).
- **antithetic noise pairs** in the greedy hypergradient (``hypergrad.greedy``): σ = 0 is a stationary
  point of the expected greedy hypergradient, and one noise sample's ∂g_T/∂σ has O(1) spread around an
  O(σ) mean, so its signal-to-noise ratio vanishes with σ: from σ = 1e-4 no σ moved. Over (ε, −ε) the
  odd part cancels. Measured at a mid-training θ (step 600 of the default run, 200 draws), |mean|/std of
  the noise rows' estimate, input / hidden 1 / hidden 2: at σ = 1e-4, 0.14 / 0.09 / 0.03 with one sample
  (means within 2 standard errors of 0) and 0.18 / 0.14 / 0.20 with the pair (means > 0); at σ = 0.1,
  0.25 / 0.09 / 0.06 and 0.55 / 0.30 / 0.17. Cost: one more sweep at −ε per hyper step
  (``--no-antithetic`` is the papers' single-sample estimate).
- **hyper-lr 0.02**, one hyper step per elementary step. Mean final validation CE over seeds 0–2 from the
  (below, default, above) starts of ``hyperreg figure recovery``: 0.052 / 0.056 / 0.117 at 0.02;
  0.051 / 0.059 / 0.120 at 0.05; a 5× boost decaying over the first 20 % of the run 0.081 / 0.060 / 0.169;
  0.1 (seed 0 only) 0.158 / 0.108 / 0.186 against 0.058 / 0.071 / 0.158 at 0.02.
- what the defaults recover from (``hyperreg figure recovery``: λ₀ three decades below and above the
  default start, 3 seeds; docs/README.md): from above, λ comes back to the region of the default
  start's final λ (within a decade), but the run has spent its first few hundred steps over-regularized
  and ends with about twice the validation cost; from below, the hidden σ climbs one to two decades and L2 falls
  further (greedy's short-horizon preference), at a validation cost equal to the default start's. Start σ
  at 0.1 (the default) and let it move.
- method **greedy** (T1–T2, eq. 3): works with Adam on θ (forward-mode methods need SGD or momentum) and
  costs two sweeps at ±ε, their R-sweeps and a validation gradient per step.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass

import numpy as np

from .config import (  # noqa: F401 - the public names stay importable from here
    DEFAULT_INIT,
    HYPER_OPTIMIZER_NAMES,
    OPTIMIZER_NAMES,
    RECORD_ROWS,
    REG_KINDS,
    TuneConfig,
)


@dataclass
class Run:
    """A built run: the data on the backend, the network, the problem, the tuner, θ₀ and λ₀."""

    config: TuneConfig
    dataset: object
    net: object
    problem: object
    tuner: object
    theta0: object
    lam0: object
    steps: int
    test: tuple  # (X_test, y_test) on the backend


def load_data(config: TuneConfig):
    """The dataset of ``config.data`` (split from ``config.seed``), cached per process; with
    ``config.train_size`` = n > 0, T1 is cut to its first n rows (already in the seed's random order; the
    preprocessing statistics stay those of the whole T1)."""
    key = (config.data, config.seed)
    if key not in _DATA_CACHE:
        from ..data import load_dataset

        _DATA_CACHE[key] = load_dataset(config.data, seed=config.seed)
    ds, n = _DATA_CACHE[key], int(config.train_size)
    if n and n < len(ds.y_train):
        idx = {k: (v[:n] if k == "train" else v) for k, v in ds.indices.items()}
        ds = dataclasses.replace(ds, X_train=ds.X_train[:n], y_train=ds.y_train[:n], indices=idx)
    elif n > len(ds.y_train):
        raise ValueError(f"--train-size must be at most T1's {len(ds.y_train)} rows of {config.data}, got {n}")
    return ds


_DATA_CACHE: dict = {}


def _init_lambda(net, config: TuneConfig):
    """λ₀ from ``config.init``: keys are kinds (l2, noise, dropout → keep) or single names (``noise[0]``)."""
    per_kind = {"l2": DEFAULT_INIT["l2"], "noise": DEFAULT_INIT["noise"], "keep": DEFAULT_INIT["dropout"]}
    named = {}
    for key, value in config.init.items():
        kind = "keep" if key == "dropout" else key
        if kind in per_kind:
            per_kind[kind] = float(value)
        elif key in net.hyper_names:
            named[key] = float(value)
        else:
            raise ValueError(f"--init: unknown hyperparameter {key!r}; use a kind (l2, noise, dropout) or one "
                             f"of {', '.join(net.hyper_names)}")
    lam = net.hypers_dict(net.init_hypers(per_kind["l2"], per_kind["noise"], per_kind["keep"]))
    lam.update(named)
    return net.init_hypers(*(_block_values(net, kind, lam) for kind in ("l2", "noise", "keep")))


def _block_values(net, kind, lam):
    block = net.blocks.get(kind)
    return [lam[n] for n in block.names] if block is not None else 0.0


def _freeze_bounds(net, lam0, names):
    """Bounds [v, v(1 + 1e-12)] hold each named λ at its initial v (the tuner clips λ to its bounds)."""
    lam = net.hypers_dict(lam0)
    unknown = [n for n in names if n not in lam]
    if unknown:
        raise ValueError(f"--freeze: unknown hyperparameters {unknown}; known: {', '.join(lam)}")
    return {n: (lam[n], lam[n] * (1 + 1e-12) + 1e-300) for n in names}


def make_optimizers(config: TuneConfig, steps: int, names=None):
    """θ's optimizer and the hyper-optimizer of ``config``. One ``hyper_lr`` without coupling: SGD or the
    ε-free Adam at that rate (hyperreg's defaults); per-kind rates or a coupling c: ``optim.PerKind`` over a
    unit-rate (or ``Coupled(c, η_t)``) SGD / Adam, with r_i the rate of name i's kind (``names``)."""
    from ..optim import SGD, Annealed, Coupled, PerKind, hyper_adam, make_optimizer

    lr = Annealed(config.lr, steps // 2, steps, 0.1) if config.anneal else config.lr
    opt = make_optimizer(config.optimizer, lr)
    rate = config.hyper_lr
    if not isinstance(rate, dict) and not config.coupling:
        return opt, (hyper_adam(rate, eps=config.hyper_eps) if config.hyper_optimizer == "adam" else SGD(rate))
    base = Coupled(config.coupling, lr) if config.coupling else 1.0
    inner = hyper_adam(base, eps=config.hyper_eps) if config.hyper_optimizer == "adam" else SGD(base)
    return opt, PerKind(inner, tuple(_rate_of(rate, n) for n in names))


def _rate_of(rate, name):
    """The hyper rate of hyperparameter ``name`` (``l2[0]`` → kind l2; ``keep[…]`` → kind dropout)."""
    if not isinstance(rate, dict):
        return float(rate)
    kind = name.split("[")[0]
    return float(rate["dropout" if kind == "keep" else kind])


def build(config: TuneConfig, callbacks=()) -> Run:
    """The data, MLP, problem and tuner of ``config``; θ₀ from ``config.seed``."""
    from ..backends import get_backend
    from ..mlp import MLP
    from ..problems.classification import MLPProblem
    from ..tuner import Tuner, parse_method
    from .guards import check_sizes

    config.validate()
    ds = load_data(config)
    be = get_backend(config.backend)
    mode = "tied" if config.tied else "per-layer"
    regs = dict(l2=mode if "l2" in config.reg else None, noise=mode if "noise" in config.reg else None,
                dropout=mode if "dropout" in config.reg else None)
    if config.arch:
        net = arch_net(config, ds, be, regs)
    else:
        sizes = [ds.n_features, *map(int, config.sizes), ds.n_classes]
        net = MLP(sizes, config.activation, config.batchnorm, **regs, backend=be, dtype=config.dtype,
                  validate=False)

    def put(X, y):  # one example per row, shaped as the net's input ((d,) for an MLP, (C, H, W) for a CNN)
        X = np.reshape(X, (-1, *net.input_shape))
        return be.asarray(X, dtype=config.dtype), be.asarray(np.asarray(y, dtype=np.int64))

    Xt, yt = put(ds.X_train, ds.y_train)
    Xv, yv = put(ds.X_val, ds.y_val)
    check_sizes(config, ds, net, be)  # before θ or any state is allocated
    problem = MLPProblem(net, Xt, yt, Xv, yv, batch_size=config.batch,
                         val_batch_size=config.val_batch or None, record_rows=config.record_rows or None)
    steps = max(1, round(config.epochs * len(ds.y_train) / config.batch))
    log_every = config.log_every or max(5, steps // 60)
    opt, hyper = make_optimizers(config, steps, net.hyper_names)
    run = Run(config, ds, net, problem, None, net.init_params(config.seed), _init_lambda(net, config), steps,
              put(ds.X_test, ds.y_test))
    method = parse_method(config.method)
    if hasattr(method, "antithetic"):
        method = dataclasses.replace(method, antithetic=config.antithetic)
    run.tuner = Tuner(problem, method, opt, hyper, every=config.every or None, warmup=config.warmup,
                      log_every=log_every, bounds=_freeze_bounds(net, run.lam0, config.freeze),
                      callbacks=[Metrics(run), *callbacks], seed=config.seed, backend=be,
                      hyper_param=config.hyper_param)
    return run


def arch_net(config: TuneConfig, ds, be, regs):
    """The ``Net`` of ``config.arch`` on ``ds``'s examples (images as (C, H, W)); its last layer must give
    the data's classes."""
    from ..net import Net
    from ..nn.arch import arch_input_shape, parse_arch

    layers = parse_arch(config.arch)
    if layers[-1].out != ds.n_classes:
        raise ValueError(f"--arch must end in d{ds.n_classes} for the {ds.n_classes} classes of {ds.name}, got "
                         f"{config.arch!r}")
    return Net(arch_input_shape(layers, ds.feature_shape), layers, config.activation, config.batchnorm, **regs,
               backend=be, dtype=config.dtype, validate=False)


class Metrics:
    """Tuner callback: adds the test cost and error, and the clean train cost and error, to each history record
    — Luketina Fig. 2's curves — on fixed subsets (``record_rows`` rows of the test set and of T1). Reads no
    RNG, so it never changes the run."""

    def __init__(self, run: Run):
        self.run = run
        rows = run.config.record_rows or None
        first = run.problem.subset("train", rows)
        X_test, y_test = run.test
        n = X_test.shape[0] if rows is None else min(rows, X_test.shape[0])
        self.sets = (("test", (X_test[:n, ...], y_test[:n])), ("train", (first.X, first.y)))

    def __call__(self, tuner, state, record):
        for prefix, (X, y) in self.sets:
            loss, err = evaluate(self.run.net, state.theta, X, y)
            record[f"{prefix}_error"] = err
            record[f"{prefix}_" + ("loss" if prefix == "test" else "ce")] = loss


def evaluate(net, theta, X, y):
    """(mean cross-entropy, error rate) of the clean network on (X, y): host floats, one forward pass."""
    loss, err = net.loss_and_error(theta, X, y, check=False, error=True)
    return float(loss), float(err)


# --- the loop, with checkpoints --------------------------------------------------------------------------


def train(run: Run, state=None, checkpoint=None, checkpoint_every=0, stop_after=None, progress=False):
    """``Tuner.run`` with a checkpoint saved every ``checkpoint_every`` steps (through its ``on_step`` hook).
    ``stop_after``: return after that step (what an interruption leaves; the tests resume from it).
    Returns the final ``TunerState``."""
    from ..checkpoint import save_checkpoint
    from .guards import check_state_finite

    tuner, steps = run.tuner, run.steps
    if checkpoint_every < 0:  # "about ten per run"
        checkpoint_every = max(1, steps // 10)

    def save_when_due(st):
        if st.step % checkpoint_every == 0 or st.step == steps:
            check_state_finite(tuner, st)  # never overwrite the last good checkpoint with a diverged state
            save_checkpoint(checkpoint, st, run.config.to_json(), tuner.backend)

    res = tuner.run(run.theta0, run.lam0, steps, state=state, progress=progress, stop_after=stop_after,
                    on_step=save_when_due if checkpoint and checkpoint_every else None)
    return res.state


def plain_step_seconds(config: TuneConfig, steps=60, warm=10) -> float:
    """Seconds per elementary step of plain training (method fixed, same network and batch): the
    denominator of the overhead. Median of the per-step times after ``warm`` untimed steps."""
    run = build(config.replace(method="fixed", log_every=10**9))
    st = run.tuner.init_state(run.theta0, run.lam0)
    times = []
    for i in range(warm + steps):
        t0 = time.perf_counter()
        run.tuner.step(st)
        if i >= warm:
            times.append(time.perf_counter() - t0)
    return float(np.median(times))


def final_metrics(run: Run, theta) -> dict:
    """Validation (all of T2) and test cost and error of θ."""
    val = run.problem.subset("val")
    val_loss, val_error = evaluate(run.net, theta, val.X, val.y)
    test_loss, test_error = evaluate(run.net, theta, *run.test)
    return {"val_loss": val_loss, "val_error": val_error, "test_loss": test_loss, "test_error": test_error}


def tune(config: TuneConfig, progress=False, checkpoint=None, checkpoint_every=0, resume=None,
         stop_after=None) -> dict:
    """One run of ``config`` (or the continuation of checkpoint ``resume``): ``run.json``'s document."""
    state = None
    if resume is not None:
        from ..checkpoint import load_checkpoint

        saved = load_checkpoint(resume)
        config = TuneConfig.from_json(saved["config"])
    run = build(config)
    if resume is not None:
        from ..checkpoint import restore_state

        state = restore_state(saved, run.tuner)
    t0 = time.perf_counter()
    st = train(run, state, checkpoint, checkpoint_every, stop_after, progress)
    final = final_metrics(run, st.theta)
    return {"config": config.to_json(), "history": st.history, "lambda_init": run.net.hypers_dict(run.lam0),
            "lambda": run.net.hypers_dict(st.lam), **final, "seconds": st.seconds,
            "wall_seconds": time.perf_counter() - t0, "steps": st.step, "total_steps": run.steps}


RUN_KEYS = ("config", "history", "lambda_init", "lambda", "val_loss", "val_error", "test_loss", "test_error",
            "seconds", "wall_seconds")


def run_json(doc: dict) -> dict:
    """Exactly ``run.json``'s keys (``tune`` also returns the step counts)."""
    return {k: doc[k] for k in RUN_KEYS}
