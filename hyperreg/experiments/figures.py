"""The papers' figures on digits (or any ``--data``), each one function writing PNG + JSON under ``out``.

- ``fig1``   Luketina Fig. 1: λ trajectories from several inits over the grid-search test cost of the same
             two hyperparameters: (noise[input], l2) — tied L2, hidden noise held off — and
             (noise[input], noise[hidden]) — tied noise, no L2.
- ``fig4``   Luketina Fig. 4: test error at the fixed initial λ vs at the fixed final λ, over random inits.
- ``fig5``   Luketina Fig. 5: test error of the tuned run vs its rerun with the final λ fixed.
- ``fig6``   Luketina Fig. 6: validation vs test error at the end of tuning.
- ``fig456`` Figs. 4, 5 and 6 from one set of runs.
- ``fig7``   Luketina Fig. 7: a grid's test cross-entropy beside its test error (from a grid.json).
- ``table2`` ICLR-2018 Table 2: a 4×100 MLP with one L2; the best fixed λ of a grid vs Unroll1-gTgV, Unroll1,
             Unroll5, Unroll10, Clip5, Clip10, Clip20 from 6 inits log-spaced in 1e-6…1e-1 (SGD with a
             decaying η, as the paper); validation cross-entropy with early stopping (the best record) and
             without (the last), and the stability gap (without − with) / with.

- ``recovery`` The defaults from λ₀ three decades below and above the default start (and mixed), against
             Adam's usual ε = 1e-8 with the single-sample estimate: λ paths, final λ and costs over seeds.

``quick=True`` shrinks every sweep to a smoke test (the test suite's mode).
"""

from __future__ import annotations

import json
import math
import os
import time

import numpy as np
from joblib import Parallel, delayed

from .. import plots
from .baselines import grid_points, sweep
from .tune import TuneConfig, tune

TABLE2_METHODS = ("unroll1-gtgv", "unroll1", "unroll5", "unroll10", "clip5", "clip10", "clip20")
PAPER_TABLE2 = {  # method: (val CE ×10³ with early stopping, without, stability %)
    "fixed": (71.6, 73.3, 2.4), "unroll1-gtgv": (71.9, 73.2, 1.8), "unroll1": (73.0, 73.6, 0.8),
    "unroll5": (73.7, 74.3, 0.8), "unroll10": (73.6, 74.8, 1.6), "clip5": (71.9, 73.0, 1.5),
    "clip10": (71.4, 72.7, 1.8), "clip20": (70.8, 71.8, 1.4)}


def _tuned(config_json):
    return tune(TuneConfig.from_json(config_json))


def tune_many(configs, jobs):
    """``tune`` of each config, in parallel."""
    return Parallel(n_jobs=jobs)(delayed(_tuned)(c.to_json()) for c in configs)


def _write(out, name, doc):
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, f"{name}.json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    return path


# --- Fig. 1 ---------------------------------------------------------------------------------------------

FIG1_PANELS = {
    "l2": dict(reg=("l2", "noise"), x="noise[input]", y="l2", freeze=("noise[hidden]",),
               fixed={"noise[hidden]": 1e-6}, ylabel="l2 (tied)"),
    "noise": dict(reg=("noise",), x="noise[input]", y="noise[hidden]", freeze=(), fixed={},
                  ylabel="noise[hidden] σ"),
}


def fig1(base: TuneConfig, out, quick=False, jobs=1, n_inits=None, n_grid=None):
    """Both panels of Fig. 1: one PNG each (fig1_l2.png, fig1_noise.png) and fig1.json; ``n_grid`` values
    per axis (default 6) and ``n_inits`` trajectories (default 4, at most 4) per panel."""
    n, n_init = (2, 1) if quick else (6, 4)
    n, n_init = n_grid or n, min(4, n_inits or n_init)
    axes = {"noise[input]": np.geomspace(0.01, 1.0, n).tolist(), "l2": np.geomspace(1e-6, 1e-1, n).tolist(),
            "noise[hidden]": np.geomspace(0.01, 1.0, n).tolist()}
    inits = {"noise[input]": [0.02, 0.8, 0.8, 0.02], "l2": [1e-5, 3e-2, 1e-5, 3e-2],
             "noise[hidden]": [0.02, 0.8, 0.02, 0.8]}
    doc, paths = {}, []
    for name, panel in FIG1_PANELS.items():
        config = base.replace(reg=panel["reg"], tied=True, freeze=panel["freeze"], init=dict(panel["fixed"]))
        x, y = panel["x"], panel["y"]
        grid = sweep(config, grid_points({x: axes[x], y: axes[y]}), jobs)
        z = [[next(r["test_loss"] for r in grid if r["point"] == {x: xv, y: yv}) for xv in axes[x]]
             for yv in axes[y]]
        configs = [config.replace(method=base.method, init={**panel["fixed"], x: inits[x][i], y: inits[y][i]})
                   for i in range(n_init)]
        runs = tune_many(configs, jobs)
        trajs = [([r["lambda"][x] for r in run["history"]], [r["lambda"][y] for r in run["history"]])
                 for run in runs]
        trajs = [([run["lambda_init"][x]] + tx, [run["lambda_init"][y]] + ty)
                 for run, (tx, ty) in zip(runs, trajs)]
        path = os.path.join(out, f"fig1_{name}.png")
        plots.plot_trajectories(axes[x], axes[y], z, trajs, f"{x} σ", panel["ylabel"], path,
                                f"Fig. 1 ({name}): λ during {base.method} over the grid's test CE ({base.data})\n"
                                "□ initial, ★ final")
        paths.append(path)
        doc[name] = {"x": x, "y": y, "x_values": axes[x], "y_values": axes[y], "test_loss": z, "grid": grid,
                     "trajectories": [{"init": run["lambda_init"], "final": run["lambda"], "x": tx, "y": ty,
                                       "test_error": run["test_error"]} for run, (tx, ty) in zip(runs, trajs)],
                     "config": config.to_json()}
    return paths + [_write(out, "fig1", doc)]


# --- Figs. 4–6: random inits, tuned, reruns ----------------------------------------------------------------

def random_inits(n, seed):
    """n initial λ, log-uniform: l2 in [1e-6, 1e-1], noise in [0.01, 1] (Luketina: "a reasonable interval")."""
    rng = np.random.default_rng(seed)
    return [{"l2": float(10 ** rng.uniform(-6, -1)), "noise": float(10 ** rng.uniform(-2, 0))} for _ in range(n)]


def hysteresis(base: TuneConfig, n, jobs, need_initial=True, need_rerun=True):
    """For n random inits: the tuned run; the fixed-λ run at the init; the rerun at the final λ."""
    inits = random_inits(n, base.seed)
    tuned = tune_many([base.replace(init=i) for i in inits], jobs)
    fixed_init = sweep(base, inits, jobs) if need_initial else [None] * n
    finals = sweep(base, [t["lambda"] for t in tuned], jobs) if need_rerun else [None] * n
    return [{"init": i, "tuned": {k: t[k] for k in ("lambda", "val_loss", "val_error", "test_loss", "test_error",
                                                     "seconds")},
             "fixed_init": f, "rerun": r} for i, t, f, r in zip(inits, tuned, fixed_init, finals)]


def _n_inits(quick, n_inits=None):
    return n_inits or (2 if quick else 8)


def fig4(base, out, quick=False, jobs=1, rows=None, n_inits=None):
    rows = rows or hysteresis(base, _n_inits(quick, n_inits), jobs)
    path = plots.plot_scatter([r["fixed_init"]["test_error"] for r in rows],
                              [r["rerun"]["test_error"] for r in rows],
                              "test error, λ fixed at the initial value", "test error, λ fixed at the final value",
                              os.path.join(out, "fig4.png"),
                              f"Fig. 4: fixed λ before vs after tuning ({base.method}, {base.data})")
    return [path, _write(out, "fig4", {"config": base.to_json(), "rows": rows})]


def fig5(base, out, quick=False, jobs=1, rows=None, n_inits=None):
    rows = rows or hysteresis(base, _n_inits(quick, n_inits), jobs, need_initial=False)
    path = plots.plot_scatter([r["tuned"]["test_error"] for r in rows], [r["rerun"]["test_error"] for r in rows],
                              "test error of the tuned run", "test error of the rerun (final λ fixed)",
                              os.path.join(out, "fig5.png"),
                              f"Fig. 5: tuned run vs rerun ({base.method}, {base.data})")
    return [path, _write(out, "fig5", {"config": base.to_json(), "rows": rows})]


def fig6(base, out, quick=False, jobs=1, rows=None, n_inits=None):
    rows = rows or hysteresis(base, _n_inits(quick, n_inits), jobs, need_initial=False, need_rerun=False)
    path = plots.plot_scatter([r["tuned"]["val_error"] for r in rows], [r["tuned"]["test_error"] for r in rows],
                              "validation (T2) error at the end of tuning", "test error at the end of tuning",
                              os.path.join(out, "fig6.png"),
                              f"Fig. 6: validation vs test ({base.method}, {base.data})")
    return [path, _write(out, "fig6", {"config": base.to_json(), "rows": rows})]


def fig456(base, out, quick=False, jobs=1, n_inits=None):
    """Figs. 4, 5 and 6 from one set of runs (each init tuned, fixed at the init, and rerun once): a third
    of the trainings of the three figures made one by one."""
    rows = hysteresis(base, _n_inits(quick, n_inits), jobs)
    return [p for fig in (fig4, fig5, fig6) for p in fig(base, out, quick, jobs, rows=rows)]


# --- Fig. 7: a grid's test cross-entropy beside its test error ----------------------------------------------

def fig7(grid_doc: dict, out):
    """Luketina Fig. 7 from a ``grid.json`` of two axes (no training): test cross-entropy (left) and test
    error (right) over the grid, each with its minimum starred, to show that the λ minimizing the one need
    not minimize the other."""
    points = grid_doc["points"]
    names = list(points[0]["point"])
    if len(names) != 2:
        raise ValueError(f"fig7 needs a grid over two axes, got {names}; run hyperreg grid with two --axis")
    x, y = names
    xs, ys = sorted({p["point"][x] for p in points}), sorted({p["point"][y] for p in points})
    at = {(p["point"][x], p["point"][y]): p for p in points}
    paths, doc = [], {"x": x, "y": y, "x_values": xs, "y_values": ys, "grid_config": grid_doc.get("config")}
    for key, label in (("test_loss", "test cross-entropy"), ("test_error", "test error")):
        z = [[at[(xv, yv)][key] for xv in xs] for yv in ys]
        best = min(points, key=lambda p: p[key])
        star = [([best["point"][x]], [best["point"][y]])]
        paths.append(plots.plot_trajectories(xs, ys, z, star, x, y, os.path.join(out, f"fig7_{key}.png"),
                                             f"Fig. 7: grid {label}, ★ its minimum at {x}={best['point'][x]:.3g}, "
                                             f"{y}={best['point'][y]:.3g}", zlabel=label))
        doc[key] = z
        doc[f"argmin_{key}"] = best["point"]
    return paths + [_write(out, "fig7", doc)]


# --- ICLR-2018 Table 2 -------------------------------------------------------------------------------------

def table2_config(base: TuneConfig, quick):
    """The 4×100 MLP with one (tied) L2, trained by SGD with a decaying η (forward mode needs SGD)."""
    return base.replace(sizes=(100, 100, 100), reg=("l2",), tied=True, optimizer="sgd", lr=0.1, anneal=True,
                        epochs=min(base.epochs, 2) if quick else base.epochs)


def _ce(history):
    vals = [r["val_loss"] for r in history]
    return min(vals), vals[-1]


def table2(base, out, quick=False, jobs=1, n_inits=None, methods=TABLE2_METHODS):
    """The Table-2 analogue: the best of an 11-point fixed grid vs each of ``methods`` (default all seven)
    from ``n_inits`` (default 6, the paper's) L2 inits log-spaced in 1e-6…1e-1, mean over the inits."""
    config = table2_config(base, quick)
    inits = np.geomspace(1e-6, 1e-1, n_inits or (2 if quick else 6)).tolist()
    t0 = time.perf_counter()
    grid = sweep(config, [{"l2": v} for v in np.geomspace(1e-6, 1e-1, 3 if quick else 11).tolist()], jobs,
                 keep_history=True)
    best = min(grid, key=lambda r: min(h["val_loss"] for h in r["history"]))
    rows = [_row("fixed", [best["history"]], [best["lambda"]["l2"]], [best["seconds"]])]
    runs = tune_many([config.replace(method=m, init={"l2": v}) for m in methods for v in inits], jobs)
    for i, m in enumerate(methods):
        mine = runs[i * len(inits):(i + 1) * len(inits)]
        rows.append(_row(m, [r["history"] for r in mine], [r["lambda"]["l2"] for r in mine],
                         [r["seconds"] for r in mine]))
    for g in grid:
        g.pop("history")
    doc = {"config": config.to_json(), "inits": inits, "rows": rows, "grid": grid, "paper": PAPER_TABLE2,
           "seconds": time.perf_counter() - t0}
    path = plots.plot_table2(rows, os.path.join(out, "table2.png"),
                             f"ICLR-2018 Table 2 analogue: 4×100 MLP, L2, {config.data} "
                             f"(online: mean of {len(inits)} inits)")
    return [path, _write(out, "table2", doc)], rows


def _row(method, histories, finals, seconds):
    early, final = zip(*(_ce(h) for h in histories))
    e, f = float(np.mean(early)), float(np.mean(final))
    return {"method": method, "val_ce_early": e, "val_ce_final": f, "stability": (f - e) / e,
            "final_l2": [float(v) for v in finals], "seconds": float(np.mean(seconds))}


def format_table2(rows):
    lines = [f"{'method':14s} {'val CE×10³ early-stop':>22s} {'no early stop':>14s} {'stability':>10s} "
             f"{'final l2 (geo-mean)':>20s}"]
    for r in rows:
        geo = math.exp(np.mean(np.log(r["final_l2"])))
        lines.append(f"{r['method']:14s} {1e3 * r['val_ce_early']:22.1f} {1e3 * r['val_ce_final']:14.1f} "
                     f"{100 * r['stability']:+9.1f}% {geo:20.2e}")
    return "\n".join(lines)


# --- recovery from far-off λ (issue 5: the defaults) -----------------------------------------------------

RECOVERY_INITS = {  # label: initial λ, three decades below / above the default start (l2 1e-3, σ 0.1)
    "below": {"l2": 1e-7, "noise": 1e-4}, "default": {"l2": 1e-3, "noise": 0.1},
    "above": {"l2": 0.1, "noise": 1.0},
    "l2 below, σ above": {"l2": 1e-7, "noise": 1.0}, "l2 above, σ below": {"l2": 0.1, "noise": 1e-4}}
RECOVERY_VARIANTS = {  # label: config changes; the first is the defaults
    "defaults": {}, "ε=1e-8, single sample": {"hyper_eps": 1e-8, "antithetic": False}}


def recovery(base, out, quick=False, jobs=1, seeds=3):
    """The tuned run from each of ``RECOVERY_INITS`` under each of ``RECOVERY_VARIANTS``, over ``seeds``
    seeds (split, θ₀, draws): final λ, validation and test cost and error. The figure shows the λ paths
    of the first seed."""
    inits = {k: RECOVERY_INITS[k] for k in (("below", "above") if quick else RECOVERY_INITS)}
    seeds = [base.seed + i for i in range(1 if quick else seeds)]
    keys = [(s, v, i) for s in seeds for v in RECOVERY_VARIANTS for i in inits]
    runs = tune_many([base.replace(seed=s, init=inits[i], **RECOVERY_VARIANTS[v]) for s, v, i in keys], jobs)
    rows = [{"seed": s, "variant": v, "init_label": i, "init": inits[i],
             **{k: r[k] for k in ("lambda", "val_loss", "val_error", "test_loss", "test_error", "seconds")}}
            for (s, v, i), r in zip(keys, runs)]
    first = next(iter(RECOVERY_VARIANTS))
    paths = [plots.plot_recovery(
        [{"init": i, "variant": v, "dashed": v != first, "history": r["history"]}
         for (s, v, i), r in zip(keys, runs) if s == seeds[0]],
        os.path.join(out, "recovery.png"),
        f"λ from far-off starts ({base.method}, {base.data}, seed {seeds[0]}): solid {first}, dashed "
        + ", ".join(v for v in RECOVERY_VARIANTS if v != first))]
    return paths + [_write(out, "recovery", {"config": base.to_json(), "inits": inits,
                                              "variants": RECOVERY_VARIANTS, "rows": rows})]


def format_recovery(rows):
    """Per variant and init: mean final val CE, val / test error over seeds, and the final λ of each kind
    (geometric mean over layers and seeds)."""
    lines = [f"{'variant':24s} {'init':20s} {'val CE':>7s} {'val err':>8s} {'test err':>8s} {'l2':>8s} "
             f"{'σ input':>8s} {'σ hidden':>8s}"]
    groups = {}
    for r in rows:
        groups.setdefault((r["variant"], r["init_label"]), []).append(r)
    for (variant, init), rs in groups.items():
        def geo(member):
            vals = [v for r in rs for n, v in r["lambda"].items() if member(n)]
            return math.exp(np.mean(np.log(vals))) if vals else float("nan")
        lines.append(
            f"{variant:24s} {init:20s} {np.mean([r['val_loss'] for r in rs]):7.4f} "
            f"{100 * np.mean([r['val_error'] for r in rs]):7.2f}% "
            f"{100 * np.mean([r['test_error'] for r in rs]):7.2f}% "
            f"{geo(lambda n: n.startswith('l2')):8.1e} {geo(lambda n: n in ('noise[0]', 'noise[input]')):8.1e} "
            f"{geo(lambda n: n.startswith('noise') and n not in ('noise[0]', 'noise[input]')):8.1e}")
    return "\n".join(lines)


FIGURES = {"fig1": fig1, "fig4": fig4, "fig5": fig5, "fig6": fig6, "fig456": fig456, "table2": table2,
           "recovery": recovery}
