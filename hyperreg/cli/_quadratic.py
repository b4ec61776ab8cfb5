"""``hyperreg quadratic``: ICLR-2018 Table 1 — online tuning of λ on 50 quadratic toys, every method."""

from __future__ import annotations

import json
import math
import os
import time

from . import (
    CLIError,
    check_backend,
    finite_float,
    nonneg_int,
    positive_float,
    positive_int,
    writable_dir,
    writable_file,
)

FULL = dict(n_problems=50, steps=(20_000, 20_000))
QUICK = dict(n_problems=4, steps=(500, 500))


def add_parser(sub):
    from ..experiments.quadratic import ALL_METHODS, DEFAULT_METHODS

    p = sub.add_parser("quadratic", help="reproduce Table 1 of the ICLR-2018 paper on the quadratic toy",
                       description=f"Methods: any name of hypergrad.registry (unroll<K>, clip<r>, exact, "
                                   f"discounted[<μ>] (μ = 0.9 bare), greedy, greedy-fast, gtgv, …), or 'all' "
                                   f"({','.join(ALL_METHODS)}).")
    p.add_argument("--methods", default=",".join(DEFAULT_METHODS), help="comma-separated (default: %(default)s)")
    p.add_argument("--n-problems", type=positive_int, default=None, help="sampled problems (default 50)")
    p.add_argument("--dim", type=positive_int, default=20)
    p.add_argument("--steps", default=None, help="steps per phase: N (both) or N1,N2 (default 20000,20000)")
    p.add_argument("--lr", default="1e-3,1e-4", help="η of phase 1 and phase 2")
    p.add_argument("--hyper-lr-scale", type=positive_float, default=0.1, help="c in the hyper step λ ← λ − c·η·ĥ")
    p.add_argument("--lam0", type=finite_float, default=0.0, help="initial λ (θ₀ = 0)")
    p.add_argument("--problems", metavar="FILE.npz", help="arrays h, theta_bar, theta_hat, each (n, d)")
    p.add_argument("--seed", type=nonneg_int, default=0, help="seed of the sampled problems")
    p.add_argument("--backend", default="numpy")
    p.add_argument("--out", metavar="DIR", help="write the figure of λ_t − λ* as DIR/quadratic_lambda.png")
    p.add_argument("--json", metavar="OUT", help="write λ and ΔL_V per problem after each phase")
    p.add_argument("--quick", action="store_true", help=f"a smoke run: defaults {QUICK}")
    p.set_defaults(func=run)


def _pair(text, name, kind):
    try:
        vals = [kind(v) for v in text.split(",")]
    except ValueError:
        raise CLIError(f"--{name} must be one or two comma-separated numbers, got {text!r}") from None
    if len(vals) not in (1, 2) or not all(math.isfinite(v) and v > 0 for v in vals):
        raise CLIError(f"--{name} must be one or two comma-separated positive numbers, got {text!r}")
    return tuple(vals * 2)[:2] if len(vals) == 1 else tuple(vals)


def _methods(text, c):
    from ..experiments.quadratic import ALL_METHODS
    from ..hypergrad.registry import make_estimator

    names = list(ALL_METHODS) if text.strip() == "all" else [m for m in text.split(",") if m.strip()]
    if not names:
        raise CLIError("--methods is empty; give e.g. unroll1,clip5 or 'all'")
    try:
        return [m.strip().lower() for m in names if make_estimator(m) is not None]
    except ValueError as exc:
        raise CLIError(f"--methods: {exc}") from None


def _problem(args):
    from ..experiments.quadratic import load_problems
    from ..problems.quadratic import Quadratic

    if args.problems:
        if not os.path.isfile(args.problems):
            raise CLIError(f"--problems: no such file {args.problems!r}")
        return load_problems(args.problems, backend=args.backend)
    if args.n_problems < 1 or args.dim < 1:
        raise CLIError(f"--n-problems and --dim must be ≥ 1, got {args.n_problems} and {args.dim}")
    return Quadratic.sample_problems(args.n_problems, args.dim, args.seed, backend=args.backend)


def _json_list(x):
    """Floats, with null where a problem diverged (JSON has no NaN)."""
    return [float(v) if math.isfinite(v) else None for v in x.tolist()]


def run(args):
    from ..experiments.quadratic import format_table, plot_lambda, run_table1

    defaults = QUICK if args.quick else FULL
    if args.n_problems is None:
        args.n_problems = defaults["n_problems"]
    if args.steps is None:
        args.steps = ",".join(map(str, defaults["steps"]))
    steps, lrs = _pair(args.steps, "steps", int), _pair(args.lr, "lr", float)
    if args.hyper_lr_scale <= 0:
        raise CLIError(f"--hyper-lr-scale must be > 0, got {args.hyper_lr_scale}")
    methods = _methods(args.methods, args.hyper_lr_scale)
    check_backend(args.backend)
    if args.out:
        writable_dir(args.out, "--out")
    if args.json:
        writable_file(args.json, "--json")
    problem = _problem(args)
    record_every = max(1, sum(steps) // 400)
    start = time.perf_counter()
    result = run_table1(problem, methods, lrs, steps, args.hyper_lr_scale, args.lam0,
                        record_every=record_every)
    n, d = problem.h.shape[0], problem.n_params
    print(f"quadratic toy: {n} problems, d = {d}, {steps[0]} steps at η = {lrs[0]:g} then {steps[1]} at "
          f"η = {lrs[1]:g}, hyper lr {args.hyper_lr_scale:g}·η, θ₀ = 0, λ₀ = {args.lam0:g} "
          f"({time.perf_counter() - start:.1f} s)")
    print(format_table(result))
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        path = os.path.join(args.out, "quadratic_lambda.png")
        plot_lambda(result, steps, record_every, path)
        print(f"figure: {path}")
    if args.json:
        keys = ("lam_phase1", "lam_phase2", "dLV_phase1", "dLV_phase2")
        doc = {"lam_star": result["lam_star"].tolist(),
               "methods": {m: {k: _json_list(r[k]) for k in keys} for m, r in result["methods"].items()},
               "settings": {"steps": list(steps), "lr": list(lrs), "hyper_lr_scale": args.hyper_lr_scale,
                            "lam0": args.lam0, "theta0": "zero", "seed": args.seed, "problems": args.problems}}
        os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
        print(f"json: {args.json}")
    return 0
