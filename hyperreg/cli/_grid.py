"""``hyperreg grid`` and ``hyperreg random``: full trainings at fixed λ, in parallel with joblib.

Each point is the ``hyperreg tune`` run of the same options with ``--method fixed`` and the point as λ.
``--jobs N`` runs N trainings at once on this machine. Past one machine, joblib's Dask backend runs the same
sweep on a cluster: ``--joblib-backend dask`` with ``DASK_SCHEDULER_ADDRESS=tcp://host:8786`` set (workers
need hyperreg installed), i.e. ``with joblib.parallel_config(backend="dask")`` around the sweep; Ray the same
way with ``--joblib-backend ray`` (``ray.util.joblib.register_ray()``).
"""

from __future__ import annotations

import contextlib
import json
import os
import time

from . import CLIError, positive_int, writable_dir
from ._tune import add_config_options, config_from_args

JOBLIB_BACKENDS = ("loky", "dask", "ray", "threading", "multiprocessing", "sequential")


def add_parser(sub):
    for kind, text in (("grid", "a grid (the Cartesian product of the axes)"),
                       ("random", "a random sample (log-uniform within each axis's range)")):
        p = sub.add_parser(kind, help=f"fixed-λ trainings over {text}, in parallel",
                           description=f"Full trainings at fixed λ over {text}; writes DIR/grid.json with each "
                                       "point's λ and validation/test loss and error, and the best point by "
                                       "validation loss. Axes: --axis NAME=lo:hi:n (log-spaced) or "
                                       "NAME=v1,v2,... with NAME a kind (l2, noise, dropout: every entry) or "
                                       "one hyperparameter (noise[0]).")
        add_config_options(p, method=False)
        p.add_argument("--axis", action="append", metavar="NAME=SPEC",
                       help="repeatable (default: l2=1e-6:1e-1:6 and noise=1e-3:1:4)")
        if kind == "random":
            p.add_argument("--n", type=positive_int, default=20, help="points drawn (default %(default)s)")
        p.add_argument("--jobs", type=int, default=1, help="parallel trainings (-1: all cores; default 1)")
        p.add_argument("--joblib-backend", default=None, help=" | ".join(JOBLIB_BACKENDS) + " (default loky)")
        p.add_argument("--out", default="hyperreg-grid", metavar="DIR", help="output directory")
        p.set_defaults(func=run, kind=kind)


def parse_axes(specs, reg):
    from ..experiments.baselines import parse_axis

    if not specs:
        defaults = {"l2": "1e-6:1e-1:6", "noise": "1e-3:1:4", "dropout": "0.5,0.7,0.9"}
        specs = [f"{k}={defaults[k]}" for k in reg]
    axes = {}
    for spec in specs:
        name, eq, values = spec.partition("=")
        if not eq or not name.strip():
            raise CLIError(f"--axis must be NAME=lo:hi:n or NAME=v1,v2,..., got {spec!r}")
        try:
            axes[name.strip()] = parse_axis(values)
        except ValueError as exc:
            raise CLIError(f"--axis {name}: {exc}") from None
    return axes


@contextlib.contextmanager
def _parallel(backend):
    """joblib's backend for the sweep; for dask a Client to $DASK_SCHEDULER_ADDRESS (unset: a local cluster),
    closed afterwards."""
    import joblib

    if backend in (None, "loky"):
        yield
        return
    with contextlib.ExitStack() as stack:
        if backend == "dask":
            from dask.distributed import Client

            stack.enter_context(Client(os.environ.get("DASK_SCHEDULER_ADDRESS")))
        elif backend == "ray":
            from ray.util.joblib import register_ray

            register_ray()
        with joblib.parallel_config(backend=backend):
            yield


def run(args):
    from ..experiments.baselines import grid_points, grid_report, random_points, sweep
    from ..experiments.tune import build

    config = config_from_args(args, method="fixed")
    axes = parse_axes(args.axis, config.reg)
    if args.jobs == 0 or args.jobs < -1:
        raise CLIError(f"--jobs must be ≥ 1 or -1 (all cores), got {args.jobs}")
    if args.joblib_backend not in (None, *JOBLIB_BACKENDS):
        raise CLIError(f"--joblib-backend must be one of {', '.join(JOBLIB_BACKENDS)}, "
                       f"got {args.joblib_backend!r}")
    names = build(config).net.hyper_names  # also checks the data and sizes here, not in every worker
    unknown = [a for a in axes if a not in ("l2", "noise", "dropout", *names)]
    if unknown:
        raise CLIError(f"--axis: unknown hyperparameter(s) {unknown}; use a kind (l2, noise, dropout) or one of "
                       f"{', '.join(names)}")
    writable_dir(args.out, "--out")
    if args.kind == "random":
        if args.n < 1:
            raise CLIError(f"--n must be ≥ 1, got {args.n}")
        points = random_points(axes, args.n, config.seed)
    else:
        points = grid_points(axes)
    t0 = time.perf_counter()
    with _parallel(args.joblib_backend):
        results = sweep(config, points, jobs=args.jobs)
    report = grid_report(config, results, args.kind, time.perf_counter() - t0, args.jobs)
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "grid.json")
    with open(path, "w") as f:
        json.dump(report, f, indent=1)
    print(f"hyperreg {args.kind}: {len(points)} fixed-λ trainings on {config.data}, {report['seconds']:.1f} s "
          f"wall ({report['cpu_seconds']:.1f} s of training) with --jobs {args.jobs}")
    print(f"  {'point':40s} {'val loss':>9s} {'val err':>8s} {'test loss':>9s} {'test err':>8s}")
    for r in sorted(results, key=lambda r: r["val_loss"])[:10]:
        pt = ", ".join(f"{k}={v:.3g}" for k, v in r["point"].items())
        print(f"  {pt:40s} {r['val_loss']:9.4f} {100 * r['val_error']:7.2f}% {r['test_loss']:9.4f} "
              f"{100 * r['test_error']:7.2f}%")
    b = report["best"]
    print(f"  best by validation loss: {', '.join(f'{k}={v:.3g}' for k, v in b['point'].items())}: "
          f"test error {100 * b['test_error']:.2f} %")
    print(f"  wrote {path}")
    return 0
