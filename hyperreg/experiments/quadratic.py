"""ICLR-2018 §4.1, Table 1: online tuning of λ on the quadratic toy, every method on the same 50 problems.

Protocol (the paper's, with the choices it leaves open stated):
- 50 toys of dimension 20 from ``Quadratic.sample_problems`` (λ* ~ U[0.2, 0.4], ‖dθ*/dλ(λ*)‖ ∈ [3, 5]);
- θ₀ = 0 and Y₀ = 0 (the paper's eq. 7), λ₀ = 0 (no regularization, as a tuner starts);
- phase 1: 20 000 steps at η = 1e-3, θ trained from scratch with λ (Algorithm 1: both updated every
  step); phase 2: 20 000 more at η = 1e-4, continuing θ, λ and the tangent Y;
- a hyper step λ ← λ − c·η·ĥ with c = 0.1 (``hyper_lr_scale``), ĥ the method's hypergradient:
  Y_{t+1}ᵀ g_V(θ_{t+1}) for the forward methods (UnrollK: every K steps, then Y ← 0), −η(∂g_T/∂λ)ᵀ g_V
  for greedy, −(∂g_T/∂λ)ᵀ g_V(θ_t) for gtgv (Unroll1-gTgV: no η);
- reported after each phase: |λ − λ*| and ΔL_V = (L_V(θ) − L_V(θ*(λ*))) / L_V(θ*(λ*)), each averaged
  over the problems.

All problems of a method advance together as one batched ``Quadratic`` (arrays (n, d)) through the
same ``Tuner`` as every other experiment: SGD on θ at η, plain SGD at c·η on λ itself (the name ``lam``
has the identity parametrization and no bounds), the estimator from ``hypergrad.registry`` (its hyper
step every step, UnrollK's every K), phase 2 continuing phase 1's ``TunerState``.
"""

from __future__ import annotations

import numpy as np

from ..hypergrad.registry import make_estimator
from ..optim import SGD
from ..problems.quadratic import Quadratic
from ..tuner import Tuner

DEFAULT_METHODS = ("unroll1", "unroll5", "unroll10", "clip2", "clip5")
ALL_METHODS = DEFAULT_METHODS + ("greedy", "greedy-fast", "gtgv", "exact", "discounted0.999")
PAPER_TABLE1 = {  # method: (ΔL_V(θ1) %, |λ1 − λ*|, ΔL_V(θ2) %, |λ2 − λ*|)
    "unroll1": (0.77, 0.047, 0.77, 0.047), "unroll5": (0.56, 0.039, 0.72, 0.045),
    "unroll10": (0.37, 0.032, 0.71, 0.044), "clip2": (0.07, 0.012, 0.07, 0.012),
    "clip5": (0.00, 0.000, 0.00, 0.000),
}


def run_phase(problem, method, state, lr, end, c, record_every, theta0=None, lam0=None):
    """Joint steps of θ (SGD at η = ``lr``) and λ (SGD at c·η) up to step ``end``, continuing ``state``
    (None: start from ``theta0``, ``lam0``). Returns the ``TunerState``."""
    tuner = Tuner(problem, method, optimizer=SGD(lr), hyper_optimizer=SGD(c * lr), log_every=record_every,
                  check_finite=False)
    return tuner.run(theta0, lam0, end, state=state).state


def _delta_val_loss(problem, theta, lam_star):
    """(L_V(θ) − L_V*) / L_V* per problem, L_V* = L_V(θ*(λ*)); NaN where L_V* = 0 (the ratio is undefined:
    θ̂ lies on the regularization path), +inf where θ diverged."""
    host = problem.backend.to_numpy
    best, cur = host(problem.val_loss(problem.theta_star(lam_star))), host(problem.val_loss(theta))
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(best > 0, (cur - best) / np.where(best > 0, best, 1.0), np.nan)
    return np.where(np.isfinite(cur), rel, np.inf)


def run_method(problem, method, lrs=(1e-3, 1e-4), steps=(20_000, 20_000), c=0.1, lam0=0.0,
               theta0="zero", record_every=100):
    """One method (a name or an estimator) through both phases on a batched ``Quadratic``; host arrays
    per problem, and the λ trace of the history records (``trace``, with their steps ``trace_steps``)."""
    be, method = problem.backend, make_estimator(method)
    theta = problem.zeros_theta() if theta0 == "zero" else problem.theta_bar + 0.0
    state, out, end = None, {}, 0
    for phase, (lr, n) in enumerate(zip(lrs, steps), start=1):
        end += n
        state = run_phase(problem, method, state, lr, end, c, record_every, theta, problem.full_lam(lam0))
        out[f"lam_phase{phase}"] = be.to_numpy(state.lam)[..., 0]
        out[f"dLV_phase{phase}"] = _delta_val_loss(problem, state.theta, problem.lam_star)
    out["trace"] = np.asarray([r["lambda"]["lam"] for r in state.history], dtype=float).reshape(
        (len(state.history), *problem.batch_shape))
    out["trace_steps"] = np.asarray([r["step"] for r in state.history])
    return out


def run_table1(problem, methods=DEFAULT_METHODS, lrs=(1e-3, 1e-4), steps=(20_000, 20_000), c=0.1,
               lam0=0.0, theta0="zero", record_every=100):
    """Every method on the same batched problems: {"lam_star": (n,), "methods": {name: {...}}}."""
    with np.errstate(over="ignore", invalid="ignore"):  # a diverging problem turns NaN; its row alone
        results = {_name(m): run_method(problem, m, lrs, steps, c, lam0, theta0, record_every) for m in methods}
    return {"lam_star": problem.backend.to_numpy(problem.lam_star)[..., 0], "methods": results}


def _name(method):
    return method.strip().lower() if isinstance(method, str) else repr(method)


def summary_rows(result):
    """(method, ΔL_V1 %, |λ1 − λ*|, ΔL_V2 %, |λ2 − λ*|, n diverged), averaged over the problems that
    stayed finite (NaN if none did)."""
    lam_star = result["lam_star"]
    rows = []
    for name, r in result["methods"].items():
        ok = np.isfinite(r["lam_phase2"]) & ~np.isinf(r["dLV_phase2"])
        row = [name]
        for phase in (1, 2):
            d = r[f"dLV_phase{phase}"]
            row += [100 * _mean(d[ok & ~np.isnan(d)]), _mean(np.abs(r[f"lam_phase{phase}"] - lam_star)[ok])]
        rows.append((*row, int(np.sum(~ok))))
    return rows


def _mean(x):
    return float(np.mean(x)) if x.size else float("nan")


def format_table(result, paper=True):
    """Table 1 as text: ours beside the paper's where the paper has the method."""
    head = f"{'method':16s} {'ΔL_V(θ1)':>10s} {'|λ1−λ*|':>9s} {'ΔL_V(θ2)':>10s} {'|λ2−λ*|':>9s}"
    lines = [head + ("   paper: ΔL_V1 |λ1−λ*| ΔL_V2 |λ2−λ*|" if paper else "")]
    n = len(result["lam_star"])
    for name, d1, e1, d2, e2, diverged in summary_rows(result):
        line = f"{name:16s} {d1:+9.2f}% {e1:9.3f} {d2:+9.2f}% {e2:9.3f}"
        if paper and name in PAPER_TABLE1:
            p = PAPER_TABLE1[name]
            line += f"   {p[0]:+5.2f}% {p[1]:7.3f} {p[2]:+5.2f}% {p[3]:7.3f}"
        if diverged:
            line += f"   (diverged on {diverged}/{n} problems: hyper lr too large for this estimator)"
        lines.append(line)
    first = next(iter(result["methods"].values()))["dLV_phase1"]
    undefined = int(np.sum(np.isnan(first)))  # NaN: L_V* = 0; +inf marks divergence instead
    if undefined:
        lines.append(f"ΔL_V % left out for {undefined}/{n} problems whose L_V(θ*(λ*)) = 0 (undefined ratio)")
    return "\n".join(lines)


def plot_lambda(result, steps, record_every, path):
    """λ_t − λ* for every problem, one panel per method; the dashed line marks the switch to η = 1e-4."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = result["methods"]
    fig, axes = plt.subplots(1, len(methods), figsize=(3.2 * len(methods), 3.0), sharey=True, squeeze=False)
    for ax, (name, r) in zip(axes[0], methods.items()):
        ax.plot(r["trace_steps"], r["trace"] - result["lam_star"], lw=0.6, alpha=0.6)
        ax.axhline(0.0, color="k", lw=0.8)
        ax.axvline(steps[0], color="k", ls="--", lw=0.8)
        ax.set_title(name)
        ax.set_xlabel("step t")
    axes[0][0].set_ylabel("λ_t − λ*")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def load_problems(path, backend="numpy"):
    """A batched ``Quadratic`` from an .npz holding h, theta_bar, theta_hat, each (n, d)."""
    with np.load(path) as f:
        missing = [k for k in ("h", "theta_bar", "theta_hat") if k not in f]
        if missing:
            raise ValueError(f"{path} lacks arrays {missing}; it must hold h, theta_bar, theta_hat, each (n, d)")
        arrays = {k: np.asarray(f[k], dtype=np.float64) for k in ("h", "theta_bar", "theta_hat")}
    if arrays["h"].ndim != 2:
        raise ValueError(f"{path}: h must have shape (n, d), got {arrays['h'].shape}")
    return Quadratic(arrays["h"], arrays["theta_bar"], arrays["theta_hat"], backend=backend)
