"""``hyperreg schedules``: Lu (2017) Figures 1–3 — pull-down / pull-up schedules and the gap policy against the
best constant λ, with the gradient tuners (greedy, clip) from the same initial λ; PNG + JSON under ``--out``."""

from __future__ import annotations

import json
import math
import os
import sys
import time

from . import CLIError, check_data, nonneg_int, positive_float, positive_int, writable_dir

QUICK = dict(hidden=(8, 16), steps_per_value=(10, 20), eval_size=50, gap_every=10)


def add_parser(sub):
    p = sub.add_parser("schedules", help="reproduce Lu (2017) Figs. 1–3: regularization schedules and the gap "
                                         "policy vs the best constant λ, beside greedy and clip",
                       description="Every method trains n·S SGD steps for n values and S steps per value; the "
                                   "best constant is chosen on validation, accuracies are on the test split.")
    p.add_argument("--data", default="digits",
                   help="digits (bundled), mnist[:DIR], fashion-mnist[:DIR] or npz:PATH (default %(default)s)")
    p.add_argument("--hidden", default=None, help="hidden widths, comma-separated (default 32,128,512)")
    p.add_argument("--steps", default=None, help="steps per value S, comma-separated; Fig. 2, 3 and the table "
                                                 "use the last (default 250,1000)")
    p.add_argument("--values", default="0.01,0.003,0.001,0",
                   help="the regularization strengths (default %(default)s)")
    p.add_argument("--penalty", default="l2", help="l2, l1 or lhalf (one tied strength; default %(default)s)")
    p.add_argument("--seed", type=nonneg_int, default=0, help="first seed (splits, weights, minibatches)")
    p.add_argument("--seeds", type=positive_int, default=1, help="number of seeds: seed, seed+1, … (default 1)")
    p.add_argument("--lr", type=positive_float, default=0.1, help="SGD learning rate (default %(default)s)")
    p.add_argument("--hyper-lr", type=positive_float, default=0.02, help="Adam on log λ for greedy and clip")
    from hyperreg.schedules import GapPolicy as g

    p.add_argument("--gap", default=f"{g.every},{g.up},{g.down},{g.high},{g.low}",
                   help="gap policy every,up,down,high,low (default %(default)s; see schedules.GapPolicy)")
    p.add_argument("--threads", type=positive_int, default=1,
                   help="BLAS threads (default 1: small matrices, shared CPUs)")
    p.add_argument("--out", metavar="DIR", default="schedules-out", help="where schedules.json and .png go")
    p.add_argument("--quick", action="store_true", help=f"a smoke run: {QUICK}")
    p.add_argument("--merge", nargs="+", metavar="JSON",
                   help="no training: combine schedules.json files of the same settings run with different seeds")
    p.set_defaults(func=run)


def _numbers(text, name, kind):
    try:
        vals = tuple(kind(v) for v in text.split(","))
    except ValueError:
        raise CLIError(f"--{name} must be comma-separated numbers, got {text!r}") from None
    if not all(math.isfinite(v) for v in vals):
        raise CLIError(f"--{name} must be comma-separated finite numbers, got {text!r}")
    return vals


def settings(args):
    from ..experiments.schedules import Settings

    check_data(args.data)
    if args.seeds < 1:
        raise CLIError(f"--seeds must be ≥ 1, got {args.seeds}")
    gap = _numbers(args.gap, "gap", float)
    if len(gap) != 5 or not all(math.isfinite(v) for v in gap) or gap[0] != int(gap[0]) or gap[0] < 1:
        raise CLIError(f"--gap must be five finite numbers every,up,down,high,low (every an integer ≥ 1), "
                       f"got {args.gap!r}")
    kw = dict(data=args.data, values=_numbers(args.values, "values", float), penalty=args.penalty,
              seeds=tuple(range(args.seed, args.seed + args.seeds)), lr=args.lr, hyper_lr=args.hyper_lr,
              gap_every=int(gap[0]), gap_up=gap[1], gap_down=gap[2], gap_high=gap[3], gap_low=gap[4])
    if args.quick:
        kw.update(QUICK)
    if args.hidden:
        kw["hidden"] = _numbers(args.hidden, "hidden", int)
    if args.steps:
        kw["steps_per_value"] = _numbers(args.steps, "steps", int)
    try:
        return Settings(**kw).validate()
    except ValueError as exc:
        raise CLIError(str(exc)) from None


def run(args):
    from ..experiments.schedules import run as run_all

    writable_dir(args.out, "--out")
    if args.merge:
        return _merge(args)
    s = settings(args)
    if args.threads < 1:
        raise CLIError(f"--threads must be ≥ 1, got {args.threads}")
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        threadpool_limits = None
    start = time.perf_counter()
    if threadpool_limits is not None:
        with threadpool_limits(args.threads):
            doc = run_all(s, progress=_progress if not args.quick else None)
    else:  # pragma: no cover
        doc = run_all(s, progress=_progress if not args.quick else None)
    doc["seconds"] = time.perf_counter() - start
    _write(doc, args.out)
    return 0


def _merge(args):
    from ..experiments.schedules import merge

    docs = []
    for path in args.merge:
        if not os.path.isfile(path):
            raise CLIError(f"--merge: no such file {path!r}")
        with open(path) as f:
            docs.append(json.load(f))
    _write(merge(docs), args.out)
    return 0


def _write(doc, out):
    from ..experiments.schedules import format_table, plot

    os.makedirs(out, exist_ok=True)
    path_json, path_png = os.path.join(out, "schedules.json"), os.path.join(out, "schedules.png")
    with open(path_json, "w") as f:
        json.dump(doc, f, indent=1)
    plot(doc, path_png)
    print(format_table(doc))
    print(f"{len(doc['runs'])} runs in {doc['seconds']:.0f} s; json: {path_json}; figure: {path_png}")


def _progress(r):
    print(f"  seed {r['seed']} h={r['hidden']} S={r['steps_per_value']} {r['method']:>16}: test "
          f"{100 * r['test_acc']:.2f} % (λ_end {r['lam_final']:.3g}, {r['seconds']:.1f} s)", file=sys.stderr)
