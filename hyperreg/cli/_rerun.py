"""``hyperreg rerun DIR/run.json``: retrain from scratch with the tuned run's final λ held fixed.

Same config otherwise (data split, θ₀, optimizer, epochs, minibatch and noise stream), so the difference
to the tuned run is the λ history alone — Luketina et al.'s hysteresis test (their Fig. 5).
"""

from __future__ import annotations

import json
import os

from . import CLIError, writable_file


def add_parser(sub):
    p = sub.add_parser("rerun", help="retrain with a tuned run's final λ held fixed and compare",
                       description="Retrain from scratch with the final λ of RUN.json held fixed; print it "
                                   "beside the tuned run and write rerun.json next to RUN.json (or --out).")
    p.add_argument("run_json", metavar="RUN.json", help="a run.json written by hyperreg tune")
    p.add_argument("--out", metavar="FILE", help="where to write the report (default: rerun.json beside RUN.json)")
    p.set_defaults(func=run)


def load_run(path):
    return load_json(path, ("config", "lambda", "test_error"), "the run.json written by hyperreg tune --out DIR")


def load_json(path, keys, what):
    """The JSON document at ``path``, which must hold ``keys``; else a one-line ``CLIError`` naming ``what``."""
    if not os.path.isfile(path):
        raise CLIError(f"no such file {path!r}; give {what}")
    try:
        with open(path) as f:
            doc = json.load(f)
    except (OSError, json.JSONDecodeError) as exc:
        raise CLIError(f"{path!r} is not JSON ({exc}); give {what}") from None
    if isinstance(doc, dict) and "diverged" in doc:
        raise CLIError(f"{path!r} is the run.json of a run that diverged at step {doc['diverged'].get('step')}; "
                       "rerun needs a finished run: tune again with a lower learning rate")
    missing = [k for k in keys if not isinstance(doc, dict) or k not in doc]
    if missing:
        raise CLIError(f"{path!r} lacks {missing}; give {what}")
    return doc


def run(args):
    from ..experiments.baselines import rerun

    doc = load_run(args.run_json)
    out = args.out or os.path.join(os.path.dirname(os.path.abspath(args.run_json)), "rerun.json")
    writable_file(out, "--out")
    r = rerun(doc)
    r.pop("history")
    report = {"run": args.run_json, "lambda": doc["lambda"],
              "tuned": {k: doc[k] for k in ("val_loss", "val_error", "test_loss", "test_error", "seconds")},
              "rerun": r}
    os.makedirs(os.path.dirname(os.path.abspath(out)), exist_ok=True)
    with open(out, "w") as f:
        json.dump(report, f, indent=1)
    print(f"hyperreg rerun: λ fixed at {', '.join(f'{k}={v:.3g}' for k, v in doc['lambda'].items())}")
    print(f"  {'':8s} {'val loss':>9s} {'val err':>8s} {'test loss':>9s} {'test err':>8s} {'seconds':>8s}")
    for name, m in (("tuned", report["tuned"]), ("rerun", r)):
        print(f"  {name:8s} {m['val_loss']:9.4f} {100 * m['val_error']:7.2f}% {m['test_loss']:9.4f} "
              f"{100 * m['test_error']:7.2f}% {m['seconds']:8.1f}")
    print(f"  wrote {out}")
    return 0
