"""Whole-run tuner overhead: wall time of ``Tuner`` runs with greedy hyper steps every k against fixed-λ
training on the same steps (issue 7's targets at k = 10).

    overhead = t(greedy, k) / t(fixed) − 1,     its FLOP bound (bound(greedy step) − 1) / k
"""

from __future__ import annotations

from .cases import parse_size, resolve_backend
from .flops import method_flops
from .timing import time_calls

OVERHEAD_TARGETS = {"l2": 0.12, "l2-noise": 0.25}  # issue 7: +12 % (L2) and +25 % (L2 + noise) at k = 10


def tuner_overhead(backend="numpy", device=None, size="B", batch=100, dtype="float32", steps=40,
                   every=(1, 10), regs=("l2", "l2-noise", "l2-noise-anti"), repeats=3, seed=0):
    """Wall time of ``Tuner`` runs with greedy hyper steps every k against fixed-λ runs of the same steps.

    Everything else is equal: the same problem (random data, T2 minibatches of ``batch``), sampling,
    noise draws and SGD steps; one history record at the end. ``overhead = t(greedy, k) / t(fixed) − 1``;
    its FLOP bound is (bound(greedy) − 1) / k with bound(greedy) = ``method_flops`` ratio of the step.
    Returns records with ``method`` = ``tuner-greedy-<reg>-k<k>``, ``overhead``, ``overhead_bound``,
    ``ms_per_step``, ``fixed_ms_per_step``, and ``target`` (issue 7's, at k = 10).

    ``l2`` and ``l2-noise`` time the papers' single-sample greedy estimate (issue 7's targets are for it);
    ``l2-noise-anti`` the tuner's default for noise, ∂g/∂λ over the antithetic pair (ε, −ε): one more
    sweep per hyper step, no target."""
    from ..mlp import MLP
    from ..optim import SGD, Adam
    from ..problems import MLPProblem
    from ..tuner import Greedy, Tuner

    be = resolve_backend(backend, device) if isinstance(backend, str) else backend
    label, widths = parse_size(size)
    if isinstance(widths, str):
        raise ValueError(f"--overhead times MLP sizes (A, B, C or widths like 784-100-10), got the CNN {size!r}")
    rng = be.rng(seed)
    n_train, n_val = 10 * batch, 5 * batch
    X, Xv = rng.normal((n_train, widths[0]), dtype), rng.normal((n_val, widths[0]), dtype)
    y, yv = rng.integers(widths[-1], n_train), rng.integers(widths[-1], n_val)
    records = []
    for reg in regs:
        noisy = reg.startswith("l2-noise")
        net = MLP(widths, l2="per-layer", noise="per-layer" if noisy else None, backend=be,
                  dtype=dtype, validate=False)
        prob = MLPProblem(net, X, y, Xv, yv, batch_size=batch, val_batch_size=batch)
        theta, lam = net.init_params(seed), net.init_hypers(l2=1e-4, noise=0.05)
        greedy = Greedy(antithetic=reg.endswith("-anti"))
        runs = {"fixed": ("fixed", 1)} | {f"k{k}": (greedy, k) for k in every}
        tuners = {name: Tuner(prob, m, optimizer=SGD(0.01), hyper_optimizer=Adam(1e-3), every=k,
                              log_every=steps, seed=seed) for name, (m, k) in runs.items()}
        calls = {name: (lambda t=t: t.run(theta, lam, steps)) for name, t in tuners.items()}
        secs = time_calls(calls, be, repeats=repeats, warmup=1)
        bound_step = method_flops(f"greedy-{reg}", widths, batch) \
            / method_flops("plain", widths, batch)
        for k in every:
            over = secs[f"k{k}"] / secs["fixed"] - 1
            records.append({
                "method": f"tuner-greedy-{reg}-k{k}", "sizes": list(widths), "size": label, "batch": batch,
                "dtype": dtype, "backend": be.name, "every": k, "steps": steps,
                "ms_per_step": 1e3 * secs[f"k{k}"] / steps, "fixed_ms_per_step": 1e3 * secs["fixed"] / steps,
                "overhead": over, "overhead_bound": (bound_step - 1) / k,
                "target": OVERHEAD_TARGETS.get(reg) if k == 10 else None,
            })
    return records


def render_overhead(records):
    """The tuner-overhead records as a markdown table."""
    lines = ["| backend | size | dtype | method | ms/step | fixed ms/step | overhead | FLOP bound | target |",
             "|---|---|---|---|---:|---:|---:|---:|---|"]
    for r in records:
        tgt = "" if r["target"] is None else (
            f"≤ +{100 * r['target']:.0f} % {'✓' if r['overhead'] <= r['target'] else '✗'}")
        lines.append(f"| {r['backend']} | {r['size']} | {r['dtype']} | {r['method']} | {r['ms_per_step']:.2f} "
                     f"| {r['fixed_ms_per_step']:.2f} | {100 * r['overhead']:+.1f} % "
                     f"| +{100 * r['overhead_bound']:.1f} % | {tgt} |")
    return "\n".join(lines) + "\n"
