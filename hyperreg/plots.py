"""Figures of runs and sweeps (matplotlib, Agg backend: files only, no display).

Every function takes plain host data (the ``history`` list of a run, lists of floats) and writes one PNG.
"""

from __future__ import annotations

import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

DPI = 110


def _save(fig, path, rect=None):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.tight_layout(rect=rect)
    fig.savefig(path, dpi=DPI)
    plt.close(fig)
    return path


def _series(history, key):
    pts = [(r["step"], r[key]) for r in history if r.get(key) is not None]
    return [p[0] for p in pts], [p[1] for p in pts]


def plot_lambda(history, path, title="λ during training"):
    """Each hyperparameter (natural units, log scale) against the elementary step (Luketina Fig. 3)."""
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    names = list(history[0]["lambda"]) if history else []
    for name in names:
        steps = [r["step"] for r in history]
        ax.plot(steps, [r["lambda"][name] for r in history], label=name, lw=1.6)
    ax.set_yscale("log")
    ax.set_xlabel("elementary step")
    ax.set_ylabel("λ (L2 strength / noise σ / keep-probability)")
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    if names:
        ax.legend(fontsize=8, ncol=2)
    return _save(fig, path)


def plot_curves(history, path, title="cost and error during training"):
    """Train / validation / test cross-entropy and error against the step (Luketina Fig. 2)."""
    fig, (ax_c, ax_e) = plt.subplots(1, 2, figsize=(10, 4))
    for key, label, style in (("train_loss", "train (L_T, regularized, noisy)", ":"),
                              ("train_ce", "train (clean CE)", "-"), ("val_loss", "validation T2", "-"),
                              ("test_loss", "test", "-")):
        x, y = _series(history, key)
        if x:
            ax_c.plot(x, y, style, label=label, lw=1.5)
    for key, label in (("train_error", "train"), ("val_error", "validation T2"), ("test_error", "test")):
        x, y = _series(history, key)
        if x:
            ax_e.plot(x, [100 * v for v in y], label=label, lw=1.5)
    ax_c.set_ylabel("cross-entropy")
    ax_c.set_yscale("log")
    ax_e.set_ylabel("classification error (%)")
    for ax in (ax_c, ax_e):
        ax.set_xlabel("elementary step")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8)
    fig.suptitle(title)
    return _save(fig, path)


def plot_trajectories(xs, ys, z, trajectories, xlabel, ylabel, path, title, zlabel="test cross-entropy"):
    """λ trajectories (one per init: □ start, ★ end) over a grid search's test cost (Luketina Fig. 1).

    ``xs``, ``ys``: the grid's axis values (log scale); ``z[i][j]`` the cost at (xs[j], ys[i]);
    ``trajectories``: list of (x list, y list)."""
    fig, ax = plt.subplots(figsize=(6.4, 5))
    lx, ly = [math.log10(v) for v in xs], [math.log10(v) for v in ys]
    mesh = ax.pcolormesh(lx, ly, z, shading="nearest", cmap="viridis")
    fig.colorbar(mesh, ax=ax, label=zlabel)
    for i, (tx, ty) in enumerate(trajectories):
        px, py = [math.log10(v) for v in tx], [math.log10(v) for v in ty]
        color = plt.cm.autumn(i / max(1, len(trajectories) - 1))
        ax.plot(px, py, "-", color=color, lw=1.5)
        ax.plot(px[0], py[0], "s", color=color, ms=8, mec="k")
        ax.plot(px[-1], py[-1], "*", color=color, ms=14, mec="k")
    ax.set_xlabel(f"log10 {xlabel}")
    ax.set_ylabel(f"log10 {ylabel}")
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def plot_scatter(x, y, xlabel, ylabel, path, title, percent=True, labels=None):
    """y against x with the diagonal y = x (Luketina Figs. 4–6)."""
    scale = 100 if percent else 1
    fig, ax = plt.subplots(figsize=(5, 5))
    sx, sy = [scale * v for v in x], [scale * v for v in y]
    ax.scatter(sx, sy, s=40, c="C0", edgecolors="k", zorder=3)
    if labels:
        for a, b, t in zip(sx, sy, labels):
            ax.annotate(t, (a, b), fontsize=7, xytext=(3, 3), textcoords="offset points")
    lo, hi = min(sx + sy), max(sx + sy)
    pad = 0.05 * (hi - lo or 1)
    ax.plot([lo - pad, hi + pad], [lo - pad, hi + pad], "k--", lw=1, label="y = x")
    ax.set_xlim(lo - pad, hi + pad)
    ax.set_ylim(lo - pad, hi + pad)
    ax.set_xlabel(xlabel + (" (%)" if percent else ""))
    ax.set_ylabel(ylabel + (" (%)" if percent else ""))
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")
    return _save(fig, path)


def plot_table2(rows, path, title):
    """Validation cross-entropy with and without early stopping per method (bars; the ICLR-2018 Table 2)."""
    fig, ax = plt.subplots(figsize=(8, 4.2))
    names = [r["method"] for r in rows]
    idx = range(len(rows))
    ax.bar([i - 0.2 for i in idx], [1e3 * r["val_ce_early"] for r in rows], 0.4, label="with early stopping")
    ax.bar([i + 0.2 for i in idx], [1e3 * r["val_ce_final"] for r in rows], 0.4, label="without early stopping")
    ax.set_xticks(list(idx))
    ax.set_xticklabels(names, rotation=30, ha="right")
    vals = [1e3 * r[k] for r in rows for k in ("val_ce_early", "val_ce_final")]
    lo, hi = min(vals), max(vals)
    ax.set_ylim(max(0.0, lo - 0.3 * (hi - lo + 1e-9)), hi + 0.15 * (hi - lo + 1e-9))
    ax.set_ylabel("validation cross-entropy (×10³), mean over inits")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8)
    return _save(fig, path)


def plot_recovery(runs, path, title):
    """λ against the step from several initial λ: one panel per group of hyperparameters (geometric mean of
    its members), one colour per init, solid for the defaults and dashed for the compared variant.
    ``runs``: dicts with ``init`` (a label), ``variant`` (a label), ``dashed`` (bool) and ``history``."""
    groups = {"l2 (geo-mean over layers)": lambda n: n.startswith("l2"),
              "noise σ at the input": lambda n: n in ("noise[0]", "noise[input]"),
              "noise σ of the hidden layers (geo-mean)": lambda n: n.startswith("noise") and n not in
              ("noise[0]", "noise[input]")}
    fig, axes = plt.subplots(1, len(groups), figsize=(5.0 * len(groups), 5.0), squeeze=False)
    inits = list(dict.fromkeys(r["init"] for r in runs))
    colors = {init: f"C{i}" for i, init in enumerate(inits)}
    for ax, (label, member) in zip(axes[0], groups.items()):
        for r in runs:
            steps = [h["step"] for h in r["history"]]
            names = [n for n in r["history"][0]["lambda"] if member(n)] if r["history"] else []
            if not names:
                continue
            geo = [math.exp(sum(math.log(h["lambda"][n]) for n in names) / len(names)) for h in r["history"]]
            ax.plot(steps, geo, color=colors[r["init"]], ls="--" if r["dashed"] else "-", lw=1.5,
                    label=f"{r['init']} ({r['variant']})")
        ax.set_yscale("log")
        ax.set_xlabel("elementary step")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3, which="both")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(5, max(1, len(labels))), fontsize=8)
    fig.suptitle(title)
    return _save(fig, path, rect=(0, 0.12, 1, 1))


def plot_estimator_agreement(doc, path):
    """Each estimator's cosine to the reference hypergradient (mean ± std over draws) and its relative error
    ‖h − h_T‖/‖h_T‖ against the training step (``hyperreg compare``'s JSON document ``doc``)."""
    recs = doc["checkpoints"]
    steps = [r["step"] for r in recs]
    names = list(recs[0]["estimators"]) if recs else []
    fig, (ax_c, ax_r) = plt.subplots(1, 2, figsize=(11, 4.2))
    for i, name in enumerate(names):
        es = [r["estimators"][name] for r in recs]
        cos = [math.nan if e["cosine"] is None else e["cosine"] for e in es]
        sd = [0.0 if e["cosine_std"] is None else e["cosine_std"] for e in es]
        rel = [math.nan if e["rel_error"] is None else e["rel_error"] for e in es]
        style = dict(color=f"C{i % 10}", ls="-" if i < 10 else "--", marker="o", ms=3, lw=1.4, label=name)
        ax_c.plot(steps, cos, **style)
        ax_c.fill_between(steps, [c - s for c, s in zip(cos, sd)], [c + s for c, s in zip(cos, sd)],
                          color=style["color"], alpha=0.12)
        ax_r.plot(steps, rel, **style)
    ax_c.axhline(0.0, color="k", lw=0.8)
    ax_c.set_ylim(-1.05, 1.05)
    ax_c.set_ylabel("cosine to the exact horizon-T hypergradient")
    ax_r.set_yscale("log")
    ax_r.axhline(1.0, color="k", lw=0.8, ls=":")
    ax_r.set_ylabel("relative error ‖h − h_T‖ / ‖h_T‖")
    for ax in (ax_c, ax_r):
        ax.set_xlabel("elementary step of the run (checkpoint)")
        ax.grid(alpha=0.3, which="both")
    ax_c.legend(fontsize=7, ncol=2)
    cfg = doc["config"]
    fig.suptitle(f"estimators vs exact dL_V(θ_(t+T))/dλ, T = {cfg['horizon']} ({cfg['problem']}, "
                 f"{cfg['draws']} draws)", fontsize=10)
    return _save(fig, path)


def plot_sign_maps(doc, path):
    """Per estimator, the fraction of draws whose hypergradient has the reference's sign, per hyperparameter
    (rows) and checkpoint (columns); the first panel is the reference's own sign (of its mean)."""
    recs = doc["checkpoints"]
    hypers = doc["setup"]["hyper_names"]
    names = list(recs[0]["estimators"]) if recs else []
    n = len(names) + 1
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 0.45 * len(hypers) * rows + 1.6 * rows),
                             squeeze=False)
    steps = [str(r["step"]) for r in recs]
    ref = [[0.0 if v is None else math.copysign(1.0, v) * (v != 0) for v in r["reference"]["mean"]] for r in recs]
    panels = [("reference: sign of mean h_T", [list(x) for x in zip(*ref)], "coolwarm", -1.0)]
    for name in names:
        panels.append((name, [list(x) for x in zip(*[r["estimators"][name]["sign_agreement"] for r in recs])],
                       "RdYlGn", 0.0))
    for k, ax in enumerate(axes.ravel()):
        if k >= len(panels):
            ax.axis("off")
            continue
        title, z, cmap, vmin = panels[k]
        mesh = ax.imshow([[math.nan if v is None else v for v in row] for row in z], cmap=cmap, vmin=vmin,
                         vmax=1.0, aspect="auto")
        ax.set_yticks(range(len(hypers)))
        ax.set_yticklabels(hypers, fontsize=7)
        ax.set_xticks(range(len(steps)))
        ax.set_xticklabels(steps, fontsize=7, rotation=45)
        ax.set_title(title, fontsize=9)
        fig.colorbar(mesh, ax=ax, fraction=0.05)
        if len(steps) * len(hypers) <= 120:
            for i, row in enumerate(z):
                for j, v in enumerate(row):
                    text = "" if v is None else ({1.0: "+", -1.0: "−", 0.0: "0"}[v] if vmin < 0 else f"{v:.2f}")
                    ax.text(j, i, text, ha="center", va="center", fontsize=6)
    fig.suptitle(f"sign agreement with the exact horizon-{doc['config']['horizon']} hypergradient "
                 "(fraction of draws; columns: checkpoint step)", fontsize=10)
    return _save(fig, path)
