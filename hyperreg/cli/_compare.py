"""``hyperreg compare``: the estimator microscope — every estimator against the exact long-horizon
hypergradient at checkpoints along a training run (``experiments.compare``)."""

from __future__ import annotations

import json
import os

from . import CLIError, check_backend, check_data, writable_dir, writable_file


def add_parser(sub):
    from ..experiments.compare import DEFAULT_ESTIMATORS, MODES, QUICK, CompareConfig
    from ..experiments.compare_setup import PROBLEMS

    d = CompareConfig()
    p = sub.add_parser(
        "compare", help="every hypergradient estimator against the exact long-horizon one, along a run",
        description="Train by SGD at fixed λ (or along a tuned run's λ path); at checkpoints, from the same "
                    "state and the same minibatch and noise draws, compare every estimator's hypergradient "
                    "with the exact dL_V(θ_{t+T})/dλ after T further steps: cosine, relative error, sign "
                    "agreement per hyperparameter, mean and std over draws, bias, seconds.")
    p.add_argument("--problem", default=d.problem, help=f"{' | '.join(PROBLEMS)} (default %(default)s)")
    p.add_argument("--data", help="as for tune (mlp: digits | fashion-mnist | mnist | …; ridge / logistic: "
                                  f"digits | breast_cancer | npz:PATH) (default {d.data})")
    p.add_argument("--sizes", help=f"mlp hidden widths, comma-separated (default {','.join(map(str, d.sizes))})")
    p.add_argument("--activation", help=f"mlp: relu | leaky_relu | tanh (default {d.activation})")
    p.add_argument("--reg", help=f"mlp: a subset of l2,noise,dropout (default {','.join(d.reg)})")
    p.add_argument("--tied", action="store_true", default=None, help="mlp: one L2, one σ input, one σ hidden")
    p.add_argument("--init", help="λ held fixed: as for tune (mlp, e.g. l2=1e-3,noise=0.1); lam=V otherwise")
    p.add_argument("--lambda-path", metavar="RUN.json", help="λ_t along a tuned run's history instead")
    p.add_argument("--estimators",
                   help=f"registered names, comma-separated (default {','.join(DEFAULT_ESTIMATORS)})")
    p.add_argument("--steps", type=int, help=f"elementary SGD steps of the run (default {d.steps})")
    p.add_argument("--checkpoints", type=int, help=f"checkpoints along the run (default {d.checkpoints})")
    p.add_argument("--horizon", type=int, help=f"T: the reference is dL_V(θ_{{t+T}})/dλ (default {d.horizon})")
    p.add_argument("--horizons", help="shorter horizons also reported, comma-separated, e.g. 1,10,50")
    p.add_argument("--draws", type=int, help=f"independent draws of the T samples (default {d.draws})")
    p.add_argument("--mode", help=f"the reference by {' | '.join(MODES)} mode (both: cross-checked) "
                                  f"(default {d.mode})")
    p.add_argument("--lr", type=float, help="η of SGD (default: 0.1 mlp, 1e-3 quadratic, 1/λ̂_max ridge/logistic)")
    p.add_argument("--anneal", action="store_true", default=None,
                   help="η constant for half the steps, then linearly down to η/10 (as tune; default constant)")
    p.add_argument("--batch", type=int, help=f"mlp minibatch (default {d.batch})")
    p.add_argument("--train-rows", type=int, help="use the first N rows of T1 (default all)")
    p.add_argument("--val-rows", type=int, help="use the first N rows of T2 (default all)")
    p.add_argument("--dim", type=int, help=f"the quadratic toy's dimension (default {d.dim})")
    p.add_argument("--backend", help="numpy | torch | cupy | array_api_strict (default numpy)")
    p.add_argument("--dtype", help="float64 | float32 (default float64)")
    p.add_argument("--seed", type=int, help="seeds the split, θ₀, the run and the draws (default 0)")
    p.add_argument("--json", metavar="OUT", help="write the study here")
    p.add_argument("--out", metavar="DIR", help="write the figures into DIR (agreement.png, signs.png)")
    p.add_argument("--quick", action="store_true", help=f"a smoke run: {QUICK} unless given")
    p.set_defaults(func=run)


def config_from_args(args):
    from ..experiments.compare import QUICK, CompareConfig
    from ._tune import _csv, _parse_init

    kw = {}
    for name in ("problem", "data", "activation", "tied", "anneal", "steps", "checkpoints", "horizon", "draws",
                 "mode", "lr", "batch", "train_rows", "val_rows", "dim", "backend", "dtype", "seed",
                 "lambda_path"):
        v = getattr(args, name, None)
        if v is not None:
            kw[name] = v
    for name, cast in (("sizes", int), ("reg", str), ("estimators", str), ("horizons", int)):
        text = getattr(args, name, None)
        if text is not None:
            kw[name] = _csv(text, cast, name)
    kw["init"] = _parse_init(args.init)
    if args.quick:
        for key, value in QUICK.items():
            if getattr(args, key, None) is None and (kw.get("problem", "mlp") == "mlp" or key in
                                                     ("steps", "checkpoints", "horizon", "draws")):
                kw[key] = value
    try:
        return CompareConfig(**kw).validate()
    except ValueError as exc:
        raise CLIError(str(exc)) from None


def _table(doc):
    """One line per checkpoint and estimator: cosine, relative error, sign agreement per hyperparameter."""
    names = doc["setup"]["hyper_names"]
    lines = [f"{'step':>6} {'estimator':<16} {'cosine':>7} {'rel.err':>9} {'seconds':>9}  sign agreement "
             f"({', '.join(names)})"]
    for rec in doc["checkpoints"]:
        for name, e in rec["estimators"].items():
            cos = "—" if e["cosine"] is None else f"{e['cosine']:+.3f}"
            rel = "—" if e["rel_error"] is None else f"{e['rel_error']:.3g}"
            signs = " ".join(f"{v:.2f}" for v in e["sign_agreement"])
            lines.append(f"{rec['step']:>6} {name:<16} {cos:>7} {rel:>9} {e['seconds']:>9.2e}  {signs}")
    return "\n".join(lines)


def run(args):
    from .. import plots
    from ..experiments.compare import compare

    cfg = config_from_args(args)
    check_backend(cfg.backend)
    if cfg.problem == "mlp":
        check_data(cfg.data)
    if args.lambda_path and not os.path.isfile(args.lambda_path):
        raise CLIError(f"--lambda-path: no such run.json {args.lambda_path!r}")
    if args.json:
        writable_file(args.json, "--json")
    if args.out:
        writable_dir(args.out, "--out")
    doc = compare(cfg)
    s = doc["setup"]
    print(f"hyperreg compare: {cfg.problem} ({cfg.data if cfg.problem != 'quadratic' else f'd = {cfg.dim}'}), "
          f"{cfg.steps} SGD steps at η = {s['lr']:.3g}, horizon T = {cfg.horizon} ({cfg.mode}), "
          f"{cfg.draws} draws, {doc['seconds']:.1f} s")
    print(_table(doc))
    print("cost per elementary step (online), × a plain step: " + ", ".join(
        f"{n} {c['online_vs_plain_step']:.2f}" for n, c in doc["cost"].items()))
    if args.json:
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
        print(f"json: {args.json}")
    if args.out:
        figs = [plots.plot_estimator_agreement(doc, os.path.join(args.out, "agreement.png")),
                plots.plot_sign_maps(doc, os.path.join(args.out, "signs.png"))]
        print(f"figures: {', '.join(figs)}")
    return 0
