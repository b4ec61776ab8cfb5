"""``hyperreg hoag``: HOAG (implicit hypergradients, inexact solves) vs grid search on a data set."""

from __future__ import annotations

import json
import os

from . import CLIError, nonneg_int, writable_dir, writable_file


def add_parser(sub):
    p = sub.add_parser("hoag", help="tune λ by HOAG (Pedregosa 2016) and compare with grid search",
                       description="HOAG vs grid search: validation loss against wall time. Multiclass data "
                                   "are one-vs-rest (one task and one λ per class; losses averaged).")
    p.add_argument("--data", default="breast_cancer", help="digits | breast_cancer | npz:PATH")
    p.add_argument("--model", default="logistic", help="ridge | logistic | kernel-ridge")
    p.add_argument("--split", default="0.5,0.25,0.25", help="train,val,test fractions")
    p.add_argument("--seed", type=nonneg_int, default=0)
    p.add_argument("--tol-schedule", default="quadratic", help="quadratic | cubic | exponential")
    p.add_argument("--grid", type=int, default=0, metavar="N", help="also run an N-point log-spaced grid")
    p.add_argument("--json", metavar="OUT", help="write the report as JSON")
    p.add_argument("--out", metavar="DIR", help="directory for the figure hoag_<data>_<model>.png (default: "
                                                "beside --json OUT when given, else hyperreg-hoag)")
    p.set_defaults(func=run)


def _split(text):
    bad = f"--split must be three positive fractions summing to 1 like 0.5,0.25,0.25, got {text!r}"
    try:
        parts = tuple(float(s) for s in text.split(","))
    except ValueError:
        raise CLIError(bad) from None
    if len(parts) != 3 or not all(0 < p < 1 for p in parts) or abs(sum(parts) - 1) > 1e-9:
        raise CLIError(bad)
    return parts


def run(args):
    from ..experiments import hoag as exp
    from ..hypergrad.hoag import SCHEDULES

    if args.model not in exp.MODELS:
        raise CLIError(f"--model must be one of {', '.join(exp.MODELS)}, got {args.model!r}")
    if args.tol_schedule not in SCHEDULES:
        raise CLIError(f"--tol-schedule must be one of {', '.join(SCHEDULES)}, got {args.tol_schedule!r}")
    split = _split(args.split)
    if args.grid < 0 or args.grid == 1:
        raise CLIError(f"--grid must be 0 (no grid) or at least 2 points, got {args.grid}")
    if not (args.data in ("digits", "breast_cancer") or args.data.startswith("npz:")):
        raise CLIError(f"--data must be digits, breast_cancer or npz:PATH, got {args.data!r}")
    if args.data.startswith("npz:") and not os.path.isfile(args.data[4:]):
        raise CLIError(f"--data: no such file {args.data[4:]!r}; give npz:PATH with PATH an .npz holding arrays "
                       "X and y")
    if args.json:
        writable_file(args.json, "--json")
    out = args.out or (os.path.dirname(os.path.abspath(args.json)) if args.json else "hyperreg-hoag")
    writable_dir(out, "--out")
    report = exp.run(args.data, args.model, split, args.seed, args.tol_schedule, args.grid)
    name = os.path.splitext(os.path.basename(args.data[4:]))[0] if args.data.startswith("npz:") else args.data
    figure = os.path.join(out, f"hoag_{name}_{args.model}.png")
    os.makedirs(out, exist_ok=True)
    exp.plot(report, figure)
    rows = [("HOAG", report)] + ([("grid", report["grid"])] if "grid" in report else [])
    print(f"{args.model} on {args.data}: {'method':6s} {'val_loss':>9s} {'test_loss':>9s} {'test_acc':>8s} "
          f"{'inner':>7s} {'seconds':>8s}")
    for label, r in rows:
        print(f"  {label:6s} {r['val_loss']:9.5f} {r['test_loss']:9.5f} {r['test_accuracy']:8.4f} "
              f"{r['inner_iterations']:7d} {r['seconds']:8.2f}   lam={json.dumps(r['lam'])[:80]}")
    print(f"  figure: {figure}")
    if args.json:
        report = {k: v for k, v in report.items() if k != "trace"} | {"trace": report["trace"]}
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(report, f, indent=1)
    return 0
