"""Lu (2017) Figures 1–3 on digits (or MNIST): regularization schedules and the gap policy against the best
constant λ, and beside them the gradient tuners (greedy, ClipR) from the same initial λ.

Setting (Lu §4: a one-hidden-layer net; here on 8×8 digits): MLP d-h-10, ReLU, one tied L2 strength (or ℓ1 /
ℓ½ with ``penalty``), SGD(``lr``) on minibatches of ``batch``, weights and minibatches from ``seed``. For a
list of values V (n of them) and S steps per value, every method trains for n·S steps:

    constant[v]   λ = v throughout, for each v ∈ V; "best constant" = the one with the best VALIDATION
                  accuracy (a grid search over V: Lu's baseline, "the best fixed regularization parameter")
    pull-down     V in decreasing order, S steps each     pull-up   V in increasing order
    gap           ``GapPolicy`` from λ₀ = max V           greedy, clip   Adam on log λ from λ₀ (T1–T2; ClipR)

With ``arch`` (``--arch``, e.g. ``c{h}k3-mp2-c{h}k3-mp2-d10``) the net is that CNN instead of the MLP, ``{h}``
standing for each entry of ``hidden`` (an arch without ``{h}`` takes one ``hidden`` entry, its label): Lu's
Fig. 4 analogue, the schedules on a CNN (``docs/cnn``).

Reported: TEST accuracy (the split never used for any choice). Lu's Fig. 1 is the gain of pull-down over the
best constant, as a function of h and S; Fig. 2 pull-down − pull-up; Fig. 3 the gap policy's gain.

Measured (digits, defaults, seeds 0–3 run apart and ``--merge``d; one test example = 0.28 points): pull-down
does NOT beat the best constant (−0.07 … −0.42 points at S = 1000, no growth with h: Lu's Fig. 1 fails here);
pull-down beats pull-up (+0.63, +0.63, +0.28 at h = 32, 128, 512; 10 of 12 runs > 0: Fig. 2 holds); the gap
policy loses 0.35–0.70 points (Fig. 3 fails: the train–validation gap on digits is a T1/T2 floor of 2–4
points that λ does not close); greedy and clip match the best constant (+0.00 … +0.07) in one run. With
ℓ½ (2 seeds) both schedules lose 0.3–0.7 points, more at h = 128 than 32, as Lu's Fig. 8 reports.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np

from ..schedules import GapPolicy

PENALTIES = ("l2", "l1", "lhalf")


@dataclass(frozen=True)
class Settings:
    """Every option of ``hyperreg schedules`` (JSON-serializable)."""

    data: str = "digits"
    hidden: tuple = (32, 128, 512)
    steps_per_value: tuple = (250, 1000)  # Fig. 1's second axis; the other figures use the last one
    values: tuple = (1e-2, 3e-3, 1e-3, 0.0)
    penalty: str = "l2"
    seeds: tuple = (0,)
    lr: float = 0.1
    batch: int = 100
    hyper_lr: float = 0.02  # Adam on log λ for greedy / clip (hyperreg tune's default)
    clip_r: float = 1.0
    gap_every: int = GapPolicy.every  # the policy's own defaults: one source for the numbers
    gap_up: float = GapPolicy.up
    gap_down: float = GapPolicy.down
    gap_high: float = GapPolicy.high
    gap_low: float = GapPolicy.low
    eval_size: int = GapPolicy.eval_size
    backend: str = "numpy"
    methods: tuple = ("pull-down", "pull-up", "gap", "greedy", "clip")
    arch: str = ""  # a CNN instead of the MLP, "{h}" standing for each hidden width (nn.arch); "" = MLP
    val_batch: int = 0  # T2 rows per hyper step of greedy / clip (0: all of T2)

    def validate(self):
        if self.penalty not in PENALTIES:
            raise ValueError(f"--penalty must be one of {', '.join(PENALTIES)}, got {self.penalty!r}")
        if not self.hidden or min(self.hidden) < 1:
            raise ValueError(f"--hidden must be positive widths like 32,128, got {list(self.hidden)}")
        if not self.steps_per_value or min(self.steps_per_value) < 1:
            raise ValueError(f"--steps must be positive step counts like 250,1000, got "
                             f"{list(self.steps_per_value)}")
        if len(self.values) < 2 or min(self.values) < 0 or len(set(self.values)) != len(self.values):
            raise ValueError(f"--values must be ≥ 2 distinct non-negative strengths, got {list(self.values)}")
        for name in ("lr", "hyper_lr", "clip_r"):
            if not getattr(self, name) > 0:
                raise ValueError(f"--{name.replace('_', '-')} must be > 0, got {getattr(self, name)}")
        if self.batch < 1:
            raise ValueError(f"--batch must be ≥ 1, got {self.batch}")
        if self.val_batch < 0:
            raise ValueError(f"--val-batch must be ≥ 0 (0: all of T2), got {self.val_batch}")
        self.gap_policy()  # GapPolicy checks its own numbers
        if self.arch:
            if "{h}" not in self.arch and len(self.hidden) > 1:
                raise ValueError(f"--arch {self.arch!r} has no {{h}} to put the widths {list(self.hidden)} in: "
                                 "write {h} where a width goes (c{h}k3-mp2-d10) or give one --hidden")
            for h in self.hidden:
                self.layers(h)  # parse_arch names a bad token
        return self

    def layers(self, hidden: int) -> list:
        """The CNN's layer objects for width ``hidden`` (``{h}`` in ``arch``)."""
        from ..nn.arch import parse_arch

        return parse_arch(self.arch.replace("{h}", str(hidden)))

    @property
    def main_steps(self) -> int:
        return self.steps_per_value[-1]

    def gap_policy(self):
        return GapPolicy(self.penalty, self.gap_every, self.gap_up, self.gap_down, self.gap_high, self.gap_low,
                         eval_size=self.eval_size)


def _setup(s: Settings, hidden: int, seed: int):
    from ..backends import get_backend
    from ..mlp import MLP
    from ..problems.classification import MLPProblem

    ds = _load(s.data, seed)
    be = get_backend(s.backend)
    modes = {"l2": None, s.penalty: "tied"}
    regs = dict(l2=modes["l2"], l1=modes.get("l1"), lhalf=modes.get("lhalf"), backend=be, validate=False)
    if s.arch:
        from ..net import Net
        from ..nn.arch import arch_input_shape

        layers = s.layers(hidden)
        net = Net(arch_input_shape(layers, ds.feature_shape), layers, "relu", noise=None, **regs)
        if net.n_classes != ds.n_classes:
            raise ValueError(f"--arch must end in d{ds.n_classes} for the {ds.n_classes} classes of {ds.name}, "
                             f"got {s.arch!r}")
    else:
        net = MLP([ds.n_features, hidden, ds.n_classes], "relu", **regs)

    def put(X, y):
        X = np.reshape(X, (-1, *net.input_shape))
        return be.asarray(X, dtype="float64"), be.asarray(np.asarray(y, dtype=np.int64))

    prob = MLPProblem(net, *put(ds.X_train, ds.y_train), *put(ds.X_val, ds.y_val), batch_size=s.batch,
                      val_batch_size=s.val_batch or None)
    return prob, net, put(ds.X_test, ds.y_test)


_DATA: dict = {}


def _load(spec, seed):
    from ..data import load_dataset

    if (spec, seed) not in _DATA:
        _DATA[(spec, seed)] = load_dataset(spec, seed=seed)
    return _DATA[(spec, seed)]


def _accuracy(net, theta, X, y, chunk: int = 1000) -> float:
    """Fraction of rows predicted right, ``chunk`` rows per forward pass (a CNN's unfolded patches of a whole
    test set would not fit)."""
    xp = net.xp
    right = sum(float(xp.sum(xp.astype(net.predict(theta, X[i:i + chunk]) == y[i:i + chunk], theta.dtype)))
                for i in range(0, X.shape[0], chunk))
    return right / X.shape[0]


def train(s: Settings, hidden: int, seed: int, method, lam0: float, steps: int) -> dict:
    """One run: ``steps`` SGD steps of method (a tuner method object) from λ = lam0; accuracies and final λ."""
    from ..optim import SGD, hyper_adam
    from ..tuner import Tuner

    prob, net, (X_test, y_test) = _setup(s, hidden, seed)
    tuner = Tuner(prob, method, SGD(s.lr), hyper_adam(s.hyper_lr), log_every=steps, seed=seed)
    lam = net.init_hypers(**{s.penalty: lam0})
    t0 = time.perf_counter()
    res = tuner.run(net.init_params(seed), lam, steps)
    theta = res.theta
    train, val = (prob.subset(which) for which in ("train", "val"))
    return {"train_acc": _accuracy(net, theta, train.X, train.y), "val_acc": _accuracy(net, theta, val.X, val.y),
            "test_acc": _accuracy(net, theta, X_test, y_test),
            "lam_final": float(net.backend.to_numpy(res.lam)[0]), "seconds": time.perf_counter() - t0}


def methods_for(s: Settings, steps_per_value: int, main: bool) -> dict:
    """name → (method object, λ₀) for one S; the schedules and tuners only at the main S."""
    from ..hypergrad.forward import ClipR
    from ..schedules import pull_down, pull_up
    from ..tuner import Fixed, Greedy

    out = {f"constant[{v:g}]": (Fixed(), v) for v in s.values}
    down = pull_down(s.penalty, s.values, steps_per_value)
    out["pull-down"] = (down, down.values[0])
    if not main:
        return out
    up = pull_up(s.penalty, s.values, steps_per_value)
    lam0 = max(s.values)
    extra = {"pull-up": (up, up.values[0]), "gap": (s.gap_policy(), lam0), "greedy": (Greedy(), lam0),
             "clip": (ClipR(s.clip_r), lam0)}
    out.update({k: v for k, v in extra.items() if k in s.methods})
    return out


def run(s: Settings, progress=None) -> dict:
    """Every run of the settings; returns the JSON document (runs, summary, settings)."""
    s.validate()
    runs = []
    for seed in s.seeds:
        for hidden in s.hidden:
            for S in s.steps_per_value:
                main = S == s.main_steps
                for name, (method, lam0) in methods_for(s, S, main).items():
                    r = train(s, hidden, seed, method, lam0, S * len(s.values))
                    runs.append({"seed": seed, "hidden": hidden, "steps_per_value": S, "method": name,
                                 "lam0": lam0, **r})
                    if progress:
                        progress(runs[-1])
    return {"settings": _settings_json(s), "runs": runs, "summary": summarize(s, runs),
            "methods": sorted({r["method"] for r in runs})}


def merge(docs) -> dict:
    """One document from runs of the same settings with different seeds (e.g. one process per seed)."""
    first = dict(docs[0]["settings"])
    for d in docs[1:]:
        other = {k: v for k, v in d["settings"].items() if k != "seeds"}
        if other != {k: v for k, v in first.items() if k != "seeds"}:
            raise ValueError("merge: the documents' settings differ beyond their seeds")
    runs = [r for d in docs for r in d["runs"]]
    seeds = sorted({r["seed"] for r in runs})
    if len(runs) != len({(r["seed"], r["hidden"], r["steps_per_value"], r["method"]) for r in runs}):
        raise ValueError(f"merge: a seed appears in more than one document (seeds {seeds})")
    s = Settings(**{k: tuple(v) if isinstance(v, list) else v for k, v in {**first, "seeds": seeds}.items()})
    return {"settings": _settings_json(s), "runs": runs, "summary": summarize(s, runs),
            "methods": sorted({r["method"] for r in runs}), "seconds": sum(d.get("seconds", 0) for d in docs)}


def _settings_json(s: Settings) -> dict:
    d = asdict(s)
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in d.items()}


def _stats(xs) -> dict:
    xs = [float(x) for x in xs]
    return {"mean": float(np.mean(xs)), "std": float(np.std(xs, ddof=1)) if len(xs) > 1 else 0.0,
            "min": min(xs), "max": max(xs), "per_seed": xs}


def summarize(s: Settings, runs) -> dict:
    """Gains in test accuracy (points of %), mean and spread over seeds."""
    by = {(r["seed"], r["hidden"], r["steps_per_value"], r["method"]): r for r in runs}

    def best_constant(seed, h, S):
        consts = [by[(seed, h, S, f"constant[{v:g}]")] for v in s.values]
        return max(consts, key=lambda r: r["val_acc"])  # ties: the first in ``values`` order

    def gain(method, h, S, base="best"):
        xs = []
        for seed in s.seeds:
            other = best_constant(seed, h, S) if base == "best" else by[(seed, h, S, base)]
            xs.append(100 * (by[(seed, h, S, method)]["test_acc"] - other["test_acc"]))
        return _stats(xs)

    S0 = s.main_steps
    present = {r["method"] for r in runs}
    fig1 = {str(h): {str(S): gain("pull-down", h, S) for S in s.steps_per_value} for h in s.hidden}
    fig2 = {str(h): gain("pull-down", h, S0, base="pull-up") for h in s.hidden} if "pull-up" in present else {}
    fig3 = {str(h): gain("gap", h, S0) for h in s.hidden} if "gap" in present else {}
    table = {}
    for h in s.hidden:
        row = {"best constant": _stats(100 * best_constant(seed, h, S0)["test_acc"] for seed in s.seeds)}
        row["best constant λ"] = [best_constant(seed, h, S0)["lam0"] for seed in s.seeds]
        for m in [f"constant[{v:g}]" for v in s.values] + [m for m in s.methods if m in present]:
            row[m] = _stats(100 * by[(seed, h, S0, m)]["test_acc"] for seed in s.seeds)
            if not m.startswith("constant"):
                row[m]["gain"] = gain(m, h, S0)
                row[m]["lam_final"] = [by[(seed, h, S0, m)]["lam_final"] for seed in s.seeds]
                row[m]["gap_final"] = [by[(seed, h, S0, m)]["train_acc"] - by[(seed, h, S0, m)]["val_acc"]
                                       for seed in s.seeds]
        table[str(h)] = row
    return {"fig1_pull_down_gain": fig1, "fig2_pull_down_minus_pull_up": fig2, "fig3_gap_gain": fig3,
            "table": table}


def format_table(doc) -> str:
    """The comparison table: test accuracy (%) mean ± std over seeds, and the gain over the best constant."""
    s, table = doc["settings"], doc["summary"]["table"]
    methods = [m for m in s["methods"] if any(m in row for row in table.values())]
    lines = [f"test accuracy % (mean ± std over {len(s['seeds'])} seeds), {s['values'][0]:g}…{s['values'][-1]:g} "
             f"{s['penalty']}, {s['steps_per_value'][-1]} steps per value; gain = method − best constant "
             f"(chosen on validation)",
             f"{'hidden':>6}  {'best const':>12}  " + "  ".join(f"{m:>20}" for m in methods)]
    for h, row in table.items():
        cells = [f"{row[m]['mean']:6.2f}±{row[m]['std']:4.2f} ({row[m]['gain']['mean']:+5.2f})" for m in methods]
        lines.append(f"{h:>6}  {row['best constant']['mean']:6.2f}±{row['best constant']['std']:4.2f}  "
                     + "  ".join(f"{c:>20}" for c in cells))
    return "\n".join(lines)


def plot(doc, path):
    """Three panels: Fig. 1 (pull-down gain vs h, one line per S), Fig. 2 (pull-down − pull-up), Fig. 3 (gap
    policy's gain, with greedy and clip beside it); error bars: std over seeds."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summ, s = doc["summary"], doc["settings"]
    hs = [int(h) for h in summ["fig1_pull_down_gain"]]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for S in s["steps_per_value"]:
        st = [summ["fig1_pull_down_gain"][str(h)][str(S)] for h in hs]
        axes[0].errorbar(hs, [x["mean"] for x in st], [x["std"] for x in st], marker="o", capsize=3,
                         label=f"{S} steps/value")
    axes[0].set_title("Fig. 1: pull-down − best constant")
    if summ["fig2_pull_down_minus_pull_up"]:
        st = [summ["fig2_pull_down_minus_pull_up"][str(h)] for h in hs]
        axes[1].errorbar(hs, [x["mean"] for x in st], [x["std"] for x in st], marker="o", capsize=3)
    axes[1].set_title("Fig. 2: pull-down − pull-up")
    for m in ("gap", "greedy", "clip"):
        rows = [summ["table"][str(h)].get(m) for h in hs]
        if all(rows):
            axes[2].errorbar(hs, [r["gain"]["mean"] for r in rows], [r["gain"]["std"] for r in rows], marker="o",
                             capsize=3, label=m)
    axes[2].set_title("Fig. 3: adaptive − best constant")
    for ax in axes:
        ax.axhline(0, color="gray", lw=0.8)
        ax.set_xscale("log", base=2)
        ax.set_xlabel(f"h in {s['arch']}" if s.get("arch") else "hidden units")
        ax.set_ylabel("test accuracy gain (points)")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
