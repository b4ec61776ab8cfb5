"""HOAG vs grid search (Pedregosa 2016, §4): validation loss against wall time on a real data set.

Data: ``digits`` or ``breast_cancer`` (bundled with scikit-learn; split train/val/test by ``split`` and
``seed``, features standardized by the training part's mean and std), or ``npz:PATH`` holding X, y (split
likewise, used as given), or X, y, X_val, y_val, X_test, y_test (no split drawn, used as given).

Models: ``ridge`` (squared loss on 0/1 targets), ``logistic`` (log-loss), ``kernel-ridge`` (RBF, λ and γ,
γ₀ = 1/n_features). Multiclass is one-vs-rest: one binary task per class, each with its own
hyperparameters tuned by its own HOAG run on its own validation loss; reported losses are the mean over
classes, accuracy takes the argmax of the K scores, times and iterations are summed. The grid search
(``grid`` = N) solves N log-spaced points per hyperparameter (N² for kernel ridge) with the same inner
solver, warm-started along the grid, to HOAG's final tolerance.
"""

from __future__ import annotations

import math
import time

import numpy as np

from ..hypergrad.hoag import HOAG, inner_solve
from ..problems.kernel_ridge import KernelRidge
from ..problems.logistic import Logistic
from ..problems.ridge import Ridge

MODELS = ("ridge", "logistic", "kernel-ridge")
GRID_TOL = 1e-6  # relative to ‖g_T(0, λ)‖_∞, as HOAG's ε


def load_data(data, split=(0.5, 0.25, 0.25), seed=0):
    """(X_tr, y_tr, X_val, y_val, X_te, y_te) as float64 / int arrays; labels re-coded 0..K−1."""
    if data.startswith("npz:"):
        with np.load(data[4:]) as f:
            arrays = {k: f[k] for k in f.files}
        missing = {"X", "y"} - set(arrays)
        if missing:
            raise ValueError(f"--data {data}: the npz file must hold arrays X and y, missing {sorted(missing)}")
        if {"X_val", "y_val", "X_test", "y_test"} <= set(arrays):
            parts = [arrays[k] for k in ("X", "y", "X_val", "y_val", "X_test", "y_test")]
            return _recode(*parts)
        return _recode(*_split(arrays["X"], arrays["y"], split, seed))
    from sklearn import datasets

    loaders = {"digits": datasets.load_digits, "breast_cancer": datasets.load_breast_cancer}
    if data not in loaders:
        raise ValueError(f"--data must be digits, breast_cancer or npz:PATH, got {data!r}")
    X, y = loaders[data](return_X_y=True)
    X_tr, y_tr, X_val, y_val, X_te, y_te = _split(X.astype(np.float64), y, split, seed)
    mean, std = X_tr.mean(0), X_tr.std(0)
    std[std == 0] = 1.0  # constant pixels in digits
    return _recode(*((X_tr - mean) / std, y_tr, (X_val - mean) / std, y_val, (X_te - mean) / std, y_te))


def _split(X, y, split, seed):
    fracs = np.asarray(split, dtype=float)
    if fracs.shape != (3,) or np.any(fracs <= 0) or abs(fracs.sum() - 1) > 1e-9:
        raise ValueError(f"split must be three positive fractions summing to 1 (train,val,test), got {split}")
    perm = np.random.default_rng(seed).permutation(len(y))
    n_tr, n_val = int(round(fracs[0] * len(y))), int(round(fracs[1] * len(y)))
    parts = np.split(perm, [n_tr, n_tr + n_val])
    if any(p.size == 0 for p in parts):
        raise ValueError(f"split {split} leaves an empty part of {len(y)} samples; raise that fraction")
    return [a for idx in parts for a in (X[idx], y[idx])]


def _recode(X_tr, y_tr, X_val, y_val, X_te, y_te):
    classes = np.unique(y_tr)
    code = {c: i for i, c in enumerate(classes)}
    for name, y in (("y_val", y_val), ("y_test", y_te)):
        unknown = set(np.unique(y)) - set(classes)
        if unknown:
            raise ValueError(f"{name} holds labels {sorted(unknown)} absent from the training labels")
    enc = [np.array([code[c] for c in y]) for y in (y_tr, y_val, y_te)]
    return (np.asarray(X_tr, float), enc[0], np.asarray(X_val, float), enc[1], np.asarray(X_te, float), enc[2])


def make_problem(model, X, t, X_val, t_val):
    if model == "ridge":
        return Ridge(X, t, X_val, t_val)
    if model == "logistic":
        return Logistic(X, t, X_val, t_val)
    if model == "kernel-ridge":
        return KernelRidge(X, t, X_val, t_val)
    raise ValueError(f"--model must be one of {MODELS}, got {model!r}")


def lam0(problem, n_features):
    return problem.full_lam(1.0) if problem.n_hypers == 1 else np.array([1.0, 1.0 / n_features])


def scores(problem, model, theta, lam, X):
    """The score each class's task gives x (a logit, or a regression prediction of the 0/1 target)."""
    return problem.predict(theta, lam, X) if model == "kernel-ridge" else problem.decision(theta, X)


def tasks(y):
    """One-vs-rest targets: [t] for binary labels, [t_0, …, t_{K−1}] for K > 2 classes."""
    K = int(y.max()) + 1
    return [1] if K == 2 else list(range(K))


def run_grid(problem, n_points, bounds, start):
    """Grid search over exp(linspace(bounds)) per hyperparameter; returns (best θ, λ, val, trace, inner, s)."""
    axes = [np.exp(np.linspace(*bounds, n_points))] * problem.n_hypers
    mesh = np.stack([m.ravel() for m in np.meshgrid(*axes, indexing="ij")], axis=1)
    theta, t0, inner, best, trace = problem.zeros_theta(), time.perf_counter(), 0, (None, None, math.inf), []
    g0 = float(np.abs(problem.at(theta, start).grad).max())
    for lam in mesh:
        theta, nit = inner_solve(problem, theta, lam, None, GRID_TOL * g0, 10_000)
        inner += nit
        v = float(problem.val_loss(theta, None, lam=lam))
        if v < best[2]:
            best = (theta, lam, v)
        trace.append((time.perf_counter() - t0, best[2]))
    return best[0], best[1], best[2], trace, inner, time.perf_counter() - t0


def _evaluate(model, fits, data):
    """Mean test loss over tasks and test accuracy (argmax over classes, or the sign for binary)."""
    X_tr, y_tr, _, _, X_te, y_te = data
    cls, losses, cols = tasks(y_tr), [], []
    for c, (theta, lam) in zip(cls, fits):
        test_problem = make_problem(model, X_tr, (y_tr == c).astype(float), X_te, (y_te == c).astype(float))
        losses.append(float(test_problem.val_loss(theta, None, lam=lam)))
        cols.append(scores(test_problem, model, theta, lam, X_te))
    threshold = 0.0 if model == "logistic" else 0.5
    pred = (cols[0] > threshold).astype(int) if len(cls) == 1 else np.argmax(np.stack(cols, 1), axis=1)
    return float(np.mean(losses)), float(np.mean(pred == y_te))


def _mean_trace(traces, first_values):
    """One curve from tasks run one after another: time adds up; each task's value is its latest."""
    current, offset, out = list(first_values), 0.0, []
    for j, trace in enumerate(traces):
        for t, v in trace:
            current[j] = v
            out.append((offset + t, float(np.mean(current))))
        offset += trace[-1][0] if trace else 0.0
    return out


def lam_dict(problem, lam):
    names = getattr(problem, "hyper_names", ("lam",))
    return {n: float(v) for n, v in zip(names, np.asarray(lam))}


def run(data="breast_cancer", model="logistic", split=(0.5, 0.25, 0.25), seed=0, tol_schedule="quadratic",
        grid=0, settings=None):
    """HOAG (and a grid of ``grid`` points when > 0) on ``data``; returns the report dict (JSON-ready)."""
    settings = settings or HOAG(tol_schedule=tol_schedule)
    D = load_data(data, split, seed)
    X_tr, y_tr, X_val, y_val = D[:4]
    problems = [make_problem(model, X_tr, (y_tr == c).astype(float), X_val, (y_val == c).astype(float))
                for c in tasks(y_tr)]
    runs = [settings.run(p, lam0(p, X_tr.shape[1])) for p in problems]
    test_loss, test_acc = _evaluate(model, [(r.theta, r.lam) for r in runs], D)
    report = {
        "data": data, "model": model, "classes": len(tasks(y_tr)) if len(problems) > 1 else 2,
        "lam": _per_task([lam_dict(p, r.lam) for p, r in zip(problems, runs)]),
        "val_loss": float(np.mean([r.val_loss for r in runs])), "test_loss": test_loss, "test_accuracy": test_acc,
        "outer_iterations": sum(r.outer_iterations for r in runs),
        "inner_iterations": sum(r.inner_iterations for r in runs),
        "seconds": sum(r.seconds for r in runs),
        "history": _per_task([r.history for r in runs]),
        "trace": _mean_trace([[(e["seconds"], e["val_loss"]) for e in r.history] for r in runs],
                             [r.history[0]["val_loss"] for r in runs]),
    }
    if grid:
        report["grid"] = _grid_report(model, problems, grid, settings, D, X_tr.shape[1], report)
    return report


def _grid_report(model, problems, n_points, settings, D, n_features, hoag_report):
    results = [run_grid(p, n_points, settings.bounds, lam0(p, n_features)) for p in problems]
    test_loss, test_acc = _evaluate(model, [(r[0], r[1]) for r in results], D)
    return {
        "points": n_points ** problems[0].n_hypers,
        "lam": _per_task([lam_dict(p, r[1]) for p, r in zip(problems, results)]),
        "val_loss": float(np.mean([r[2] for r in results])), "test_loss": test_loss, "test_accuracy": test_acc,
        "inner_iterations": sum(r[4] for r in results), "seconds": sum(r[5] for r in results),
        "trace": _mean_trace([r[3] for r in results], [r[3][0][1] for r in results]),
    }


def _per_task(items):
    return items[0] if len(items) == 1 else items


def plot(report, path):
    """Validation loss against wall time, HOAG vs grid (Pedregosa 2016, Fig. 2), to a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, rep, style in (("HOAG", report, "o-"), ("grid search", report.get("grid"), "s--")):
        if rep:
            t, v = zip(*rep["trace"])
            ax.plot(t, v, style, ms=3, label=name)
    ax.set_xlabel("wall time (s)")
    ax.set_ylabel("validation loss")
    ax.set_xscale("log")
    ax.set_title(f"{report['model']} on {report['data']}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
