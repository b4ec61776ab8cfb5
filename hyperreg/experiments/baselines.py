"""The expensive alternative: full trainings at fixed λ over a grid or a random sample, and the rerun.

Each point is one ``hyperreg tune`` run with ``method="fixed"`` and the point as its initial λ, so the
network, data split, θ₀, optimizer, epochs and minibatch stream are those of the tuned run it is compared
with. Points run in parallel with joblib::

    sweep(config, points, jobs=4)

joblib takes the same sweep past one machine without a code change: start a Dask cluster (or Ray) and run
the command inside its backend, e.g. in Python ::

    from dask.distributed import Client
    import joblib
    client = Client("tcp://scheduler:8786")           # workers: pip install hyperreg
    with joblib.parallel_config(backend="dask"):
        report = sweep(config, points, jobs=-1)

(``ray.util.joblib.register_ray()`` then ``backend="ray"`` for Ray). ``hyperreg grid --joblib-backend dask``
does the same from the command line when a ``DASK_SCHEDULER_ADDRESS`` is set.
"""

from __future__ import annotations

import itertools
import math
import time

import numpy as np

from .tune import TuneConfig, build, final_metrics, train


def parse_axis(text: str):
    """One grid axis: ``lo:hi:n`` (n log-spaced values, ends included) or comma-separated values."""
    try:
        if ":" in text:
            lo, hi, n = text.split(":")
            lo, hi, n = float(lo), float(hi), int(n)
            if not (0 < lo and 0 < hi and n >= 1):
                raise ValueError
            return [float(v) for v in np.geomspace(lo, hi, n)] if n > 1 else [lo]
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise ValueError(f"an axis must be lo:hi:n (positive lo, hi; n ≥ 1) or comma-separated values, "
                         f"got {text!r}") from None
    if not values or min(values) < 0 or not all(math.isfinite(v) for v in values):
        raise ValueError(f"axis values must be finite and ≥ 0, got {text!r}")
    return values


def grid_points(axes: dict) -> list:
    """The Cartesian product of ``{name: values}``: a list of {name: value}."""
    names = list(axes)
    return [dict(zip(names, combo)) for combo in itertools.product(*(axes[n] for n in names))]


def random_points(axes: dict, n: int, seed: int) -> list:
    """n points drawn log-uniformly between each axis's smallest and largest value."""
    rng = np.random.default_rng(seed)
    pts = []
    for _ in range(n):
        pts.append({name: float(np.exp(rng.uniform(np.log(min(v)), np.log(max(v))))) if min(v) > 0
                    else float(rng.uniform(min(v), max(v))) for name, v in axes.items()})
    return pts


def fixed_run(config_json: dict, point: dict) -> dict:
    """One full training at λ fixed to ``point`` (merged over the config's init): its λ and metrics."""
    config = TuneConfig.from_json(config_json)
    config = config.replace(method="fixed", init={**config.init, **point})
    t0 = time.perf_counter()
    run = build(config)
    st = train(run)
    return {"point": point, "lambda": run.net.hypers_dict(st.lam), **final_metrics(run, st.theta),
            "seconds": st.seconds, "wall_seconds": time.perf_counter() - t0, "history": st.history}


def sweep(config: TuneConfig, points: list, jobs: int = 1, keep_history=False) -> list:
    """``fixed_run`` at each point, in parallel over ``jobs`` joblib workers (-1: all cores)."""
    from joblib import Parallel, delayed

    config.validate()
    results = Parallel(n_jobs=jobs)(delayed(fixed_run)(config.to_json(), p) for p in points)
    if not keep_history:
        for r in results:
            r.pop("history")
    return results


def best(results: list, key="val_loss") -> dict:
    """The point a grid search would pick: lowest validation loss."""
    return min(results, key=lambda r: r[key])


def grid_report(config: TuneConfig, results: list, kind: str, seconds: float, jobs: int) -> dict:
    """``grid.json``: the config, each point's λ and val/test loss and error, the best point, timings."""
    return {"kind": kind, "config": config.to_json(), "points": results, "best": best(results),
            "seconds": seconds, "cpu_seconds": sum(r["seconds"] for r in results), "jobs": jobs}


def rerun(run_doc: dict) -> dict:
    """Retrain from scratch with the tuned run's final λ held fixed, all else as in its config."""
    config = TuneConfig.from_json(run_doc["config"])
    r = fixed_run(config.to_json(), dict(run_doc["lambda"]))
    r.pop("point")
    return r
