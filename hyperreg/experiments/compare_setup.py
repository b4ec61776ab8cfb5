"""The problems ``hyperreg compare`` runs on: θ₀, λ (fixed, or a tuned run's path) and η for each.

    mlp        the MLP of ``hyperreg tune`` (``--data``, ``--sizes``, ``--reg``, ``--tied``, ``--init``), T1 and
               T2 cut to ``train_rows`` / ``val_rows``; θ₀ from the seed; η default 0.1
    quadratic  one ICLR-2018 §4.1 toy of dimension ``dim`` (λ* known), θ₀ = 0, λ default 0; η default 1e-3
    ridge      squared loss on the 0/1 target of class 0 against the rest (binary data: the label itself),
    logistic   the data of ``hyperreg hoag`` (digits, breast_cancer, npz); θ₀ = 0, λ default 1e-2;
               η default 1/λ̂_max of H(θ₀) by power iteration (stable full-batch gradient descent)
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

PROBLEMS = ("mlp", "quadratic", "ridge", "logistic")


@dataclass
class Setup:
    problem: Any
    theta0: Any
    lam_at: Callable  # elementary step t → λ_t
    lr: float
    info: dict  # what the JSON's ``setup`` reports about the problem


def build_setup(cfg) -> Setup:
    """The problem of ``cfg.problem`` with its θ₀, λ path and η (module docstring)."""
    setup = {"mlp": _mlp, "quadratic": _quadratic, "ridge": _linear, "logistic": _linear}[cfg.problem](cfg)
    if cfg.lambda_path:
        setup.lam_at = lambda_path(cfg.lambda_path, setup.problem, cfg.dtype)
        setup.info["lambda_path"] = cfg.lambda_path
    return setup


def _fixed(lam):
    return lambda t: lam


def _mlp(cfg) -> Setup:
    from ..problems.classification import MLPProblem
    from .tune import TuneConfig, build

    tc = TuneConfig(data=cfg.data, sizes=tuple(cfg.sizes), activation=cfg.activation, reg=tuple(cfg.reg),
                    tied=cfg.tied, init=dict(cfg.init), method="fixed", batch=cfg.batch, lr=cfg.lr or 0.1,
                    anneal=False, optimizer="sgd", backend=cfg.backend, dtype=cfg.dtype, seed=cfg.seed)
    run = build(tc)
    p = run.problem
    n1 = cfg.train_rows or p.X_train.shape[0]
    n2 = cfg.val_rows or p.X_val.shape[0]
    problem = MLPProblem(run.net, p.X_train[:n1], p.y_train[:n1], p.X_val[:n2], p.y_val[:n2],
                         batch_size=cfg.batch)
    info = {"n_params": problem.n_params, "train_rows": problem.X_train.shape[0],
            "val_rows": problem.X_val.shape[0], "sizes": list(run.net.sizes),
            "lambda": problem.hypers_dict(run.lam0)}
    return Setup(problem, run.theta0, _fixed(run.lam0), tc.lr, info)


def _init_value(cfg, default):
    unknown = set(cfg.init) - {"lam", "l2"}
    if unknown:
        raise ValueError(f"--init: the {cfg.problem} problem has one hyperparameter, lam (or l2); got "
                         f"{sorted(unknown)}")
    return float(cfg.init.get("lam", cfg.init.get("l2", default)))


def _quadratic(cfg) -> Setup:
    from ..problems.quadratic import Quadratic

    toys = Quadratic.sample_problems(1, cfg.dim, cfg.seed, backend=cfg.backend, dtype=cfg.dtype)
    q = Quadratic(toys.h[0], toys.theta_bar[0], toys.theta_hat[0], backend=toys.backend, dtype=cfg.dtype)
    lam = q.full_lam(_init_value(cfg, 0.0))
    info = {"n_params": q.n_params, "lam_star": float(q.backend.to_numpy(q.lam_star)[0]),
            "lambda": q.hypers_dict(lam)}
    return Setup(q, q.zeros_theta(), _fixed(lam), cfg.lr or 1e-3, info)


def _linear(cfg) -> Setup:
    from ..hypergrad.linalg import power_alpha
    from .hoag import load_data, make_problem

    if cfg.backend != "numpy" or cfg.dtype != "float64":
        raise ValueError(f"--backend/--dtype: the {cfg.problem} problem runs on numpy float64 here; "
                         f"got {cfg.backend} {cfg.dtype}")
    X, y, Xv, yv, _, _ = load_data(cfg.data, seed=cfg.seed)
    X, y, Xv, yv = X[:cfg.train_rows or None], y[:cfg.train_rows or None], Xv[:cfg.val_rows or None], \
        yv[:cfg.val_rows or None]
    binary = int(max(y.max(), yv.max())) <= 1
    t, tv = (y, yv) if binary else ((y == 0), (yv == 0))
    problem = make_problem(cfg.problem, X, t.astype(float), Xv, tv.astype(float))
    lam = problem.full_lam(_init_value(cfg, 1e-2))
    theta = problem.zeros_theta()
    lr = cfg.lr or power_alpha(problem.at(theta, lam, None).hvp, theta)
    info = {"n_params": problem.n_params, "train_rows": int(X.shape[0]), "val_rows": int(Xv.shape[0]),
            "target": "label" if binary else "class 0 vs rest", "lambda": problem.hypers_dict(lam)}
    return Setup(problem, theta, _fixed(lam), float(lr), info)


def lambda_path(path, problem, dtype="float64"):
    """λ_t from a tuned run's ``run.json``: ``lambda_init`` before its first record, then the λ of the
    latest history record at or before step t (a record at step s holds λ after s steps)."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"--lambda-path: no such run.json {path!r}")
    with open(path) as f:
        doc = json.load(f)
    names = list(problem.hyper_names)
    points = [(0, doc.get("lambda_init"))] + [(r["step"], r["lambda"]) for r in doc.get("history", [])]
    if points[0][1] is None or any(set(lam) != set(names) for _, lam in points):
        raise ValueError(f"--lambda-path: {path} must hold lambda_init and history records over the "
                         f"hyperparameters {names}; run compare with the run's --sizes, --reg and --tied")
    be = problem.backend
    steps = np.array([s for s, _ in points])
    lams = [be.asarray([lam[n] for n in names], dtype=dtype) for _, lam in points]
    return lambda t: lams[int(np.searchsorted(steps, t, side="right")) - 1]


__all__ = ["PROBLEMS", "Setup", "build_setup", "lambda_path"]
