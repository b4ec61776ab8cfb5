"""``hyperreg tune``: train an MLP while tuning its L2 / noise / dropout hyperparameters online (T1–T2).

The run's options (``add_config_options``, ``config_from_args``) are shared by ``grid``, ``random`` and the
figure commands, so a baseline replays exactly the tuned run's setting.
"""

from __future__ import annotations

import json
import math
import os

import numpy as np

from . import CLIError, nonneg_int, writable_dir, writable_file

QUICK_EPOCHS = 15
METHODS = "fixed | greedy | greedy-fast | unroll1-gtgv | unrollK (e.g. unroll5) | clipR (e.g. clip5) | ift"


def add_config_options(p, method=True):
    from ..experiments.tune import TuneConfig

    d = TuneConfig()
    p.add_argument("--protocol", help="a paper's preset: luketina2016 | luketina2016-adam | iclr2018 | hyperreg "
                                      "(default hyperreg: its own defaults); options given beside it win; "
                                      "hyperreg/experiments/protocols.py says what each paper states and "
                                      "what the preset chose where it does not")
    p.add_argument("--data", help=f"digits | mnist | fashion-mnist | cifar10 | svhn | npz:PATH (default {d.data})")
    p.add_argument("--sizes", help=f"hidden widths, comma-separated (default {','.join(map(str, d.sizes))})")
    p.add_argument("--arch", help="a convolutional net instead of the MLP, layers joined by '-': "
                                  "c<channels>k<kernel>[s<stride>][v] (v: valid padding), mp<k> / ap<k> (max / "
                                  "average pool), d<width>; ending in d<classes>, e.g. c16k3-mp2-c32k3-mp2-d10 "
                                  "(image data: digits as 8×8, mnist, cifar10, svhn)")
    p.add_argument("--activation", help=f"relu | leaky_relu | tanh (default {d.activation})")
    p.add_argument("--batchnorm", action="store_true", default=None,
                   help="batch norm before each hidden activation")
    p.add_argument("--reg", help=f"which hyperparameters: a subset of l2,noise,dropout "
                                 f"(default {','.join(d.reg)})")
    p.add_argument("--tied", action="store_true", default=None,
                   help="one L2 for all layers; noise: one σ for the input, one for all hidden layers "
                        "(default: one per layer)")
    p.add_argument("--init", help="initial λ: kind=value or name=value, comma-separated, e.g. "
                                  "l2=1e-3,noise=0.3,noise[0]=0.05 (defaults l2=1e-3, noise=0.1, dropout=0.8)")
    p.add_argument("--freeze", help="names held at their initial value, e.g. noise[hidden]")
    if method:
        p.add_argument("--method", help=f"{METHODS} (default {d.method})")
        p.add_argument("--every", type=int, help=f"elementary steps per hyper step (default {d.every})")
        p.add_argument("--warmup", type=int, help="elementary steps before the first hyper step (default 0)")
        p.add_argument("--hyper-lr", help=f"hyper-optimizer step size: one number, or one per kind like "
                                          f"l2=1e-4,noise=1e-1 (default {d.hyper_lr})")
        p.add_argument("--hyper-optimizer", help=f"adam | sgd, on φ (default {d.hyper_optimizer})")
        p.add_argument("--hyper-param", help="log: φ = log λ (logit for dropout; default) | natural: φ = λ, "
                                             "hyper steps in natural units (the papers')")
        p.add_argument("--coupling", type=float,
                       help="c > 0: hyper step rate c·η_t (× --hyper-lr), following θ's learning-rate schedule: "
                            "ICLR-2018 Algorithm 1's λ ← λ − c·η_t·Yᵀg_V; needs --hyper-optimizer sgd "
                            "(default 0: off)")
        p.add_argument("--hyper-eps", type=float,
                       help="ε of the hyper-Adam (default 0: steps that do not shrink with λ; Adam's usual "
                            "is 1e-8)")
        p.add_argument("--antithetic", dest="antithetic", action="store_true", default=None,
                       help="greedy / unroll1-gtgv: the antithetic pair, also under a one-sample --protocol")
        p.add_argument("--no-antithetic", dest="antithetic", action="store_false", default=None,
                       help="greedy / unroll1-gtgv: one noise sample per hyper step, as in the papers (default: "
                            "∂g/∂λ averaged over ε and −ε, one more sweep, so σ can climb from near 0)")
    p.add_argument("--epochs", type=float, help=f"passes over T1 (default {d.epochs:g})")
    p.add_argument("--batch", type=int, help=f"minibatch size (default {d.batch})")
    p.add_argument("--lr", type=float, help=f"learning rate η of θ (default {d.lr:g})")
    p.add_argument("--no-anneal", dest="anneal", action="store_false", default=None,
                   help="keep η constant (default: constant for half the run, then linearly down to η/10)")
    p.add_argument("--optimizer", help=f"adam | sgd | momentum, for θ (default {d.optimizer}; the forward-mode "
                                       "methods unrollK and clipR need sgd or momentum)")
    p.add_argument("--backend", help="numpy | torch | cupy | array_api_strict (default numpy)")
    p.add_argument("--dtype", help="float64 | float32 (default float64)")
    p.add_argument("--seed", type=nonneg_int, help="seeds the split, θ₀, minibatches and noise (default 0)")
    p.add_argument("--log-every", type=int, help="steps between history records (default: ~60 records)")
    p.add_argument("--val-batch", type=int, help="T2 minibatch per hyper step (default 0: all of T2)")
    p.add_argument("--train-size", type=int, help="use only the first N rows of T1 (default 0: all of it)")
    p.add_argument("--record-rows", type=int, help="rows of T2, test and T1 each history record evaluates (a "
                   "fixed subset, forward pass only; default 1000; 0: all); the final metrics use the full sets")
    p.add_argument("--quick", action="store_true", help=f"a smoke run: {QUICK_EPOCHS} epochs unless --epochs")


def add_parser(sub):
    p = sub.add_parser("tune", help="train an MLP and tune its regularization online (the main job)",
                       description="Train an MLP on T1 while tuning L2 / noise / dropout on T2's cost by "
                                   "hypergradient, in one run; print a summary, write DIR/run.json and figures. "
                                   "With no options: digits, 64-100-100-10, per-layer L2 and noise, "
                                   "under a minute.")
    add_config_options(p)
    p.add_argument("--out", default="hyperreg-run", metavar="DIR", help="output directory (default %(default)s)")
    p.add_argument("--checkpoint", metavar="PATH", help="save the full state here (atomically)")
    p.add_argument("--checkpoint-every", type=int, default=0, metavar="N",
                   help="steps between checkpoints (default: ~10 per run when --checkpoint is given)")
    p.add_argument("--resume", metavar="PATH", help="continue the run saved in this checkpoint (its options win)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=run)


def _parse_init(text):
    if not text:
        return {}
    out = {}
    for item in text.split(","):
        key, eq, value = item.partition("=")
        try:
            v = float(value)
        except ValueError:
            v = math.nan
        if not eq or not key.strip() or not math.isfinite(v) or v < 0:
            raise CLIError(f"--init must be name=value pairs with values ≥ 0, like l2=1e-3,noise=0.3; "
                           f"got {item!r}")
        out[key.strip()] = v
    return out


def _parse_hyper_lr(text):
    """``0.02`` → 0.02; ``l2=1e-4,noise=1e-1`` → {"l2": 1e-4, "noise": 0.1} (checked by TuneConfig.validate)."""
    try:
        if "=" not in text:
            return float(text)
        return {k.strip(): float(v) for k, _, v in (item.partition("=") for item in text.split(","))}
    except ValueError:
        raise CLIError(f"--hyper-lr must be a number or kind=rate pairs like l2=1e-4,noise=1e-1; got {text!r}") \
            from None


def _csv(text, cast, name):
    try:
        values = tuple(cast(v.strip()) for v in text.split(",") if v.strip())
    except ValueError:
        raise CLIError(f"--{name}: expected comma-separated values, got {text!r}") from None
    if not values:
        raise CLIError(f"--{name} is empty; give comma-separated values, or leave the option out for the default")
    return values


def config_from_args(args, **overrides):
    """A validated ``TuneConfig`` from the parsed options (None: the default)."""
    from ..experiments.tune import TuneConfig

    kw = {}
    if getattr(args, "protocol", None):
        from ..experiments.protocols import protocol_options

        try:
            kw.update(protocol_options(args.protocol))
        except ValueError as exc:
            raise CLIError(str(exc)) from None
    for name in ("data", "activation", "batchnorm", "tied", "method", "every", "warmup", "hyper_optimizer",
                 "hyper_eps", "hyper_param", "coupling", "antithetic", "epochs", "batch", "lr", "anneal",
                 "optimizer", "backend", "dtype", "seed", "log_every", "val_batch", "record_rows", "train_size"):
        v = getattr(args, name, None)
        if v is not None:
            kw[name] = v
    if getattr(args, "sizes", None) is not None:
        kw["sizes"] = _csv(args.sizes, int, "sizes")
    if getattr(args, "arch", None):
        if getattr(args, "sizes", None):
            raise CLIError("give --sizes (an MLP's hidden widths) or --arch (a conv net), not both")
        kw["arch"] = args.arch
    if getattr(args, "reg", None) is not None:
        kw["reg"] = _csv(args.reg, str, "reg")
    if getattr(args, "freeze", None) is not None:
        kw["freeze"] = _csv(args.freeze, str, "freeze")
    if getattr(args, "hyper_lr", None):
        kw["hyper_lr"] = _parse_hyper_lr(args.hyper_lr)
    kw["init"] = _parse_init(getattr(args, "init", None))
    if getattr(args, "quick", False) and getattr(args, "epochs", None) is None:
        kw["epochs"] = QUICK_EPOCHS
    kw.update(overrides)
    config = TuneConfig(**kw)
    if config.data.startswith("npz:") and not os.path.isfile(config.data[4:]):
        raise CLIError(f"--data: no such file {config.data[4:]!r}; give npz:PATH with PATH an .npz holding "
                       "arrays X and y")
    try:
        return config.validate()
    except ValueError as exc:
        raise CLIError(str(exc)) from None


def _overhead_note(config):
    """What the overhead pays for, and the options that cut it (measured: docs/fashion-mnist/README)."""
    from ..tuner import parse_method

    method = parse_method(config.method)
    if method.gradient_free:
        return "(no hypergradient: λ is set by a rule)"
    every = config.every or method.every
    rows = f"a T2 minibatch of {config.val_batch}" if config.val_batch else "all of T2"
    pair = " over the antithetic noise pair" if getattr(method, "antithetic", False) and config.antithetic else ""
    hint = "" if every >= 10 and config.val_batch else (
        "\n  (--every 10 --val-batch 100: +33 % on Fashion-MNIST at the same test error, docs/fashion-mnist)")
    return (f"(paid for: a {config.method} hyper step every {every} step{'s' if every > 1 else ''}, its ∂g_T/∂λ "
            f"sweeps{pair} and a validation gradient on {rows}){hint}")


def _fmt(lam):
    return ", ".join(f"{k}={v:.3g}" for k, v in lam.items())


def _resumed_config(path):
    from ..checkpoint import load_checkpoint

    try:
        return load_checkpoint(path)["config"]
    except (ValueError, OSError) as exc:
        raise CLIError(f"--resume: {exc}") from None


def run(args):
    from .. import plots
    from .._checks import DivergenceError
    from ..experiments.tune import TuneConfig, plain_step_seconds, run_json, tune

    if args.resume:
        if not os.path.isfile(args.resume):
            raise CLIError(f"--resume: no such checkpoint {args.resume!r}; give a file written by --checkpoint")
        config = None
        config_json = _resumed_config(args.resume)  # a damaged checkpoint is refused before any work
    else:
        config = config_from_args(args)
        config_json = config.to_json()
    if args.checkpoint_every < 0:
        raise CLIError(f"--checkpoint-every must be ≥ 0, got {args.checkpoint_every}")
    writable_dir(args.out, "--out")
    if args.checkpoint:
        writable_file(args.checkpoint, "--checkpoint")
    every = args.checkpoint_every
    if args.checkpoint and not every:
        every = -1  # ~10 checkpoints, once the step count is known
    path = os.path.join(args.out, "run.json")
    try:
        # NumPy's overflow warnings would only precede the DivergenceError that names the step and λ
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            doc = tune(config or TuneConfig(), progress=not args.no_progress, checkpoint=args.checkpoint,
                       checkpoint_every=every, resume=args.resume)
    except DivergenceError as exc:
        _write_diverged(path, config_json, exc, args.checkpoint)
        kept = f"; the last good checkpoint is {args.checkpoint}" if args.checkpoint else ""
        raise CLIError(f"{exc}{kept}; wrote {path}") from None
    config = TuneConfig.from_json(doc["config"])
    per_step = doc["seconds"] / max(1, doc["steps"])
    plain = plain_step_seconds(config)
    os.makedirs(args.out, exist_ok=True)
    with open(path, "w") as f:
        json.dump(run_json(doc), f, indent=1)
    figs = [plots.plot_lambda(doc["history"], os.path.join(args.out, "lambda.png"),
                              f"λ during training ({config.method}, {config.data})"),
            plots.plot_curves(doc["history"], os.path.join(args.out, "curves.png"),
                              f"cost and error during training ({config.method}, {config.data})")]
    net = f"CNN {config.arch}" if config.arch else f"MLP {','.join(map(str, config.sizes))}"
    print(f"hyperreg tune: {config.data}, {net}, {config.method}, "
          f"{doc['steps']} steps")
    print(f"  λ initial: {_fmt(doc['lambda_init'])}")
    print(f"  λ final:   {_fmt(doc['lambda'])}")
    print(f"  validation: loss {doc['val_loss']:.4f}  error {100 * doc['val_error']:.2f} %")
    print(f"  test:       loss {doc['test_loss']:.4f}  error {100 * doc['test_error']:.2f} %")
    print(f"  {doc['wall_seconds']:.1f} s wall, of which {doc['seconds']:.1f} s training steps (the rest: history "
          f"records on {config.record_rows or 'all'} rows, data, final metrics)")
    print(f"  {1e3 * per_step:.2f} ms/step vs {1e3 * plain:.2f} ms for a plain fixed-λ step: overhead "
          f"{100 * (per_step / plain - 1):+.0f} %")
    print(f"  {_overhead_note(config)}")
    print(f"  wrote {path}, {', '.join(figs)}")
    return 0


def _write_diverged(path, config_json, exc, checkpoint):
    """run.json of a diverged run: the config, the history up to the divergence, where and with which λ."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    doc = {"config": config_json, "diverged": {"step": exc.step, "lambda": exc.lam, "message": str(exc),
                                               "checkpoint": checkpoint},
           "history": exc.history or []}
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
