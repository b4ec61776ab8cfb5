"""What each hypergradient method costs: time, ratio to a plain step, the FLOP bound of that ratio,
achieved GFLOP/s and the share of the backend's raw matmul throughput (issue 7).

    ratio_to_plain   = ms(method) / ms(plain)
    flop_bound_ratio = F(method) / F(plain)      F: matmul FLOPs the method must do (``method_flops``)
    gflops           = F(method) / time          (useful FLOPs: redundant work lowers it)
    pct_of_matmul_peak = gflops / raw           raw: the same shapes' matmuls alone, timed in this run

A method meets the target when ratio_to_plain ≤ 1.15 · flop_bound_ratio; the plain step when it runs at
≥ 80 % of the raw matmul throughput. Host-side code: it times, so it reads clocks and syncs the device.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import platform
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

SIZES = {
    "A": (784, 100, 100, 100, 10),
    "B": (784, 1000, 1000, 1000, 10),
    "C": (784, 4000, 2000, 1000, 500, 250, 10),
}
METHODS = ("plain", "greedy-l2", "greedy-l2-noise", "tangent-step", "clip-l2-noise", "ift-cg10")
RECORD_KEYS = ("method", "sizes", "batch", "dtype", "backend", "ms", "ratio_to_plain",
               "flop_bound_ratio", "gflops", "pct_of_matmul_peak")
GPU_BACKENDS = ("cupy", "torch")
CG_ITERS = 10
LR = 0.05  # η of the SGD step (its value does not change the cost)
CLIP_RADIUS = 1.0  # r of ClipR's column clip
TARGET_RATIO = 1.15  # ratio_to_plain ≤ 1.15 · flop_bound_ratio
TARGET_PEAK = 80.0  # plain step at ≥ 80 % of raw matmul throughput

# Modes: the grids each covers (one backend per run).
QUICK = {"sizes": ("A", "B"), "batches": (100,), "dtypes": ("float32",), "repeats": 3, "warmup": 1,
         "min_time": 0.0}
FULL = {"sizes": ("A", "B", "C"), "batches": (100, 1000), "dtypes": ("float32", "float64"),
        "repeats": 5, "warmup": 2, "min_time": 0.3}


# --- the FLOP count ----------------------------------------------------------------------------------
#
# One matmul-equivalent of dense layer l is f_l = 2·n·d_l·d_{l+1} FLOPs (n the batch). What each pass must
# do per layer, "first" being l = 0 (input X: data, so no g_X, and R{X} = 0) and "other" l ≥ 1:
#
#   grad  = forward + backward            a = h W;  g_W = hᵀ g_a;  g_h = g_a Wᵀ           first 2 | other 3
#   val   = ∇L_V, the same passes                                                          first 2 | other 3
#   Hv    = R-forward + R-backward seeded with Rθ = v (reusing the plain sweep's cache)
#           Ra = Rh W + h RW;  Rg_W = Rhᵀ g_a + hᵀ Rg_a;  Rg_h = Rg_a Wᵀ + g_a RWᵀ
#           at l = 0: Rh = 0 and Rg_h is not needed: Ra = X RW, Rg_W = Xᵀ Rg_a              first 2 | other 6
#   mixed, noise: Σ ε_l ⊙ R{g_h̃_l} seeded with Rθ = v: the R-forward and the Rg_h half of the
#           R-backward at every layer (the layer-0 Rg_h̃ too); Rg_W is not needed             first 3 | other 4
#   mixed, L2: ⟨v_W, W⟩ and mixed_jvp, L2: u_l W_l — elementwise, no matmul                        0 | 0
#   a tangent column with a noise seed (H y + ∂g/∂σ e_j in ONE R-sweep seeded with Rθ = y and Rσ = e_j):
#           Rh̃_l = Rh_l + Rσ_l ε_l only changes the layer-0 products, where Rh̃_0 ≠ 0 adds
#           Rh̃_0 W and Rh̃_0ᵀ g_a for the column of σ_0                                  first +2 | other 0
#
# Elementwise work (activations, softmax, the SGD axpy, the clip, dot products) is not counted: the bound
# is a lower bound on the time ratio only as far as matmuls dominate, which they do from size B up.

PASSES = {"grad": (2, 3), "val": (2, 3), "hvp": (2, 6), "mixed-noise": (3, 4)}


def layer_flops(sizes, n):
    """f_l = 2 n d_l d_{l+1}: the FLOPs of one (n × d_l) @ (d_l × d_{l+1}) matmul, per dense layer."""
    return [2.0 * n * a * b for a, b in zip(sizes[:-1], sizes[1:])]


def pass_flops(name, sizes, n):
    """FLOPs of one pass in ``PASSES``."""
    first, other = PASSES[name]
    f = layer_flops(sizes, n)
    return first * f[0] + other * sum(f[1:])


def n_hypers(method, sizes):
    """Hyperparameters of the method's network: L2 per layer, plus noise per layer for ``*-noise``."""
    L = len(sizes) - 1
    return 2 * L if method in ("greedy-l2-noise", "greedy-l2-noise-anti", "clip-l2-noise") else L


def method_flops(method, sizes, n):
    """Matmul FLOPs the method must do for one training step with its hypergradient work:

    plain            grad (then the SGD axpy)
    greedy-l2        grad + val at θ' = θ − η g + mixed-L2 (free)
    greedy-l2-noise  grad + val + mixed-noise
    greedy-l2-noise-anti  the same + grad and mixed-noise at −ε (the antithetic pair; tuner only)
    tangent-step     grad + K·Hv (K = L, one HVP per L2 hyperparameter; ∂g/∂λ is u_l W_l, free)
    clip-l2-noise    grad + K·Hv (K = 2L, noise seeds folded into the HVP sweeps: +2 f_0 for σ_0) + val
    ift-cg10         grad (the cache H needs) + val + 10·Hv (CG) + mixed-L2 (free)
    """
    P = {k: pass_flops(k, sizes, n) for k in PASSES}
    K = n_hypers(method, sizes)
    f0 = layer_flops(sizes, n)[0]
    if method == "plain":
        return P["grad"]
    if method == "greedy-l2":
        return P["grad"] + P["val"]
    if method == "greedy-l2-noise":
        return P["grad"] + P["val"] + P["mixed-noise"]
    if method == "greedy-l2-noise-anti":
        return 2 * P["grad"] + P["val"] + 2 * P["mixed-noise"]
    if method == "tangent-step":
        return P["grad"] + K * P["hvp"]
    if method == "clip-l2-noise":
        return P["grad"] + K * P["hvp"] + 2 * f0 + P["val"]
    if method == "ift-cg10":
        return P["grad"] + P["val"] + CG_ITERS * P["hvp"]
    raise ValueError(f"method must be one of {METHODS}, got {method!r}")


# --- the problem each method is timed on ---------------------------------------------------------------


@dataclass
class Case:
    """One size × batch × dtype on one backend: the two networks, θ, λ, a batch, noise, a tangent."""

    backend: object
    sizes: tuple
    batch: int
    dtype: str
    net_l2: object
    net_noise: object
    theta: object
    lam_l2: object
    lam_noise: object
    X: object
    y: object
    Xv: object
    yv: object
    noise: list
    tangent_l2: object  # Y = dθ/dλ, (n_params, K)
    tangent_noise: object


def make_case(backend, sizes, batch, dtype, seed=0):
    """Random data (the values do not change the cost) and networks with ``validate=False``, the
    hot-loop setting: validation reads every input back to the host."""
    from .mlp import MLP

    nets = [MLP(sizes, l2="per-layer", noise=noise, backend=backend, dtype=dtype, validate=False)
            for noise in (None, "per-layer")]
    rng = backend.rng(seed)
    theta = nets[0].init_params(seed)
    n_in, n_out = sizes[0], sizes[-1]
    X, Xv = rng.normal((batch, n_in), dtype), rng.normal((batch, n_in), dtype)
    y, yv = rng.integers(n_out, batch), rng.integers(n_out, batch)
    scale = 1e-3  # a small tangent: a plausible Y after a few steps

    def tangent(net):  # column-contiguous (n_params, K), the layout hypergrad.forward keeps Y in
        return backend.xp.matrix_transpose(rng.normal((net.n_hypers, net.n_params), dtype) * scale)

    return Case(backend, tuple(sizes), batch, dtype, nets[0], nets[1], theta,
                nets[0].init_hypers(l2=1e-3), nets[1].init_hypers(l2=1e-3, noise=0.1),
                X, y, Xv, yv, nets[1].sample_noise(batch, rng), tangent(nets[0]), tangent(nets[1]))


def _optional(module):
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def conjugate_gradient(matvec, b, iters):
    """x ≈ A⁻¹ b after exactly ``iters`` CG steps from x = 0 (no stop test: no host read)."""
    x, r = b * 0, b
    p, rr = r, r @ r
    for _ in range(iters):
        Ap = matvec(p)
        alpha = rr / (p @ Ap)
        x, r = x + alpha * p, r - alpha * Ap
        rr_new = r @ r
        p, rr = r + (rr_new / rr) * p, rr_new
    return x


def tangent_step_inline(point, tangent, lr):
    """Y ← Y − η (H Y + ∂g_T/∂λ), column by column (ICLR-2018 eq. 7): one HVP and one mixed_jvp per
    hyperparameter; used when ``hyperreg.hypergrad.forward`` is absent. ``tangent``: Y, (n_params, K)."""
    xp = point.xp
    K = tangent.shape[1]
    eye = xp.eye(K, dtype=tangent.dtype, device=_device(tangent))
    cols = [tangent[:, j] - lr * (point.hvp(tangent[:, j]) + point.mixed_jvp(eye[j])) for j in range(K)]
    return xp.stack(cols, axis=1)


def clip_columns(xp, tangent, radius):
    """Project each column of Y onto the ball of radius r (ClipR, Algorithm 1)."""
    norms = xp.linalg.vector_norm(tangent, axis=0)
    return tangent * (radius / xp.clip(norms, min=radius))


def forward_mode():
    """(tangent_step(point, Y, lr, clip_radius=None), hypergradient(Y, g_V), where): the library's
    ``hyperreg.hypergrad.forward`` when it exists, else the inline versions above."""
    fwd = _optional("hyperreg.hypergrad.forward")
    if fwd is not None and all(hasattr(fwd, n) for n in ("tangent_step", "ClipR", "hypergradient")):
        def step(point, Y, lr, clip_radius=None):
            return fwd.tangent_step(point, Y, lr, None if clip_radius is None else fwd.ClipR(r=clip_radius))

        return step, fwd.hypergradient, "hypergrad.forward"

    def step(point, Y, lr, clip_radius=None):
        Y = tangent_step_inline(point, Y, lr)
        return Y if clip_radius is None else clip_columns(point.xp, Y, clip_radius)

    return step, (lambda Y, g_val: g_val @ Y), "inline"


def _device(x):
    from array_api_compat import device

    return device(x)


def method_calls(case):
    """name → a zero-argument callable doing one step of that method (returns its arrays)."""
    from .hypergrad import greedy

    c = case
    train, val = (c.X, c.y), (c.Xv, c.yv)
    step, hypergradient, _ = forward_mode()

    def plain():
        g = c.net_l2.train_grad(c.theta, c.lam_l2, c.X, c.y, None)
        return c.theta - LR * g

    def greedy_l2():  # greedy computes θ' = θ − η g itself: the step needs nothing else
        return greedy(c.net_l2, c.theta, c.lam_l2, train, None, val, LR)

    def greedy_noise():
        return greedy(c.net_noise, c.theta, c.lam_noise, train, c.noise, val, LR)

    def tangent():
        point = c.net_l2.at(c.theta, c.lam_l2, c.X, c.y, None)
        return c.theta - LR * point.grad, step(point, c.tangent_l2, LR)

    def clip():  # ClipR (Algorithm 1): θ and Y stepped, Y clipped, λ ← λ − c η Yᵀ g_V(θ')
        point = c.net_noise.at(c.theta, c.lam_noise, c.X, c.y, c.noise)
        theta_new = c.theta - LR * point.grad
        Y = step(point, c.tangent_noise, LR, CLIP_RADIUS)
        h = hypergradient(Y, c.net_noise.val_grad(theta_new, c.Xv, c.yv))
        return theta_new, Y, c.lam_noise - LR * h

    def ift():
        point = c.net_l2.at(c.theta, c.lam_l2, c.X, c.y, None)
        q = conjugate_gradient(point.hvp, c.net_l2.val_grad(c.theta, c.Xv, c.yv), CG_ITERS)
        return -point.mixed(q)

    return {"plain": plain, "greedy-l2": greedy_l2, "greedy-l2-noise": greedy_noise,
            "tangent-step": tangent, "clip-l2-noise": clip, "ift-cg10": ift}


def matmul_call(case):
    """The plain step's matmuls alone, on the same shapes and layouts (h W, hᵀ g_a, g_a Wᵀ)."""
    rng, dt = case.backend.rng(1), case.dtype
    n, sizes = case.batch, case.sizes
    ops = []
    for l, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        h, W, g_a = rng.normal((n, a), dt), rng.normal((a, b), dt), rng.normal((n, b), dt)
        ops.append((h, W, g_a, l > 0))

    def run():
        return [(h @ W, h.T @ g_a, g_a @ W.T if need else None) for h, W, g_a, need in ops]

    return run


# --- timing ------------------------------------------------------------------------------------------


def time_calls(calls, backend, repeats=5, warmup=2, min_time=0.0, max_rounds=200):
    """Median seconds of each ``calls[name]()``, the device synchronized around each call.

    Round-robin: every round times each call once, so a change of machine load (a shared CPU) shifts
    all of them alike and the ratios hold. ``warmup`` untimed rounds first; at least ``repeats`` rounds,
    more until ``min_time`` seconds have been spent (at most ``max_rounds``)."""
    for _ in range(warmup):
        for fn in calls.values():
            fn()
    backend.synchronize()
    times = {name: [] for name in calls}
    spent, rounds = 0.0, 0
    while rounds < repeats or (spent < min_time and rounds < max_rounds):
        for name, fn in calls.items():
            backend.synchronize()
            t0 = time.perf_counter()
            out = fn()
            backend.synchronize()
            dt = time.perf_counter() - t0
            times[name].append(dt)
            spent += dt
            del out
        rounds += 1
    return {name: statistics.median(t) for name, t in times.items()}


def resolve_backend(name="numpy", device=None):
    """The backend, checked usable here (a clear error otherwise); torch goes to CUDA when it can."""
    from .backends import BACKENDS, get_backend

    allowed = ("numpy", "cupy", "torch")
    if name not in allowed:
        raise ValueError(f"--backend must be one of {allowed} (known backends: {BACKENDS}), got {name!r}")
    if name == "torch" and device is None:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
    be = get_backend(name, device)  # MissingBackendError (an ImportError) names the pip extra
    try:
        be.rng(0).normal((1,))
        be.synchronize()
    except Exception as exc:  # noqa: BLE001 - e.g. CuPy installed but no usable GPU or driver
        raise ValueError(
            f"backend {name!r} is installed but not usable here: {type(exc).__name__}: {exc}") from exc
    return be


def parse_size(spec):
    """'A' / 'B' / 'C' or widths joined by '-' (e.g. '20-8-8-3') → (label, sizes)."""
    if isinstance(spec, (list, tuple)):
        return "-".join(map(str, spec)), tuple(int(s) for s in spec)
    if spec in SIZES:
        return spec, SIZES[spec]
    try:
        sizes = tuple(int(s) for s in str(spec).split("-"))
    except ValueError:
        sizes = ()
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"size must be one of {sorted(SIZES)} or widths like 784-100-10, got {spec!r}")
    return spec, sizes


def run_benchmark(backend="numpy", device=None, sizes=("B",), batches=(100,), dtypes=("float32",),
                  methods=METHODS, repeats=5, warmup=2, min_time=0.0, seed=0, progress=None):
    """Time every method on every size × batch × dtype; a list of records (``RECORD_KEYS`` and a few
    more: ``size``, ``device``, ``n_hypers``, ``flops``, ``matmul_gflops``, ``repeats``)."""
    be = resolve_backend(backend, device) if isinstance(backend, str) else backend
    methods = tuple(methods)
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise ValueError(f"methods must be among {METHODS}, got {bad}")
    if "plain" not in methods:
        methods = ("plain",) + methods  # every ratio needs it
    methods = tuple(m for m in METHODS if m in methods)
    impl = forward_mode()[2]
    records = []
    for spec in sizes:
        label, widths = parse_size(spec)
        for batch in batches:
            for dtype in dtypes:
                case = make_case(be, widths, int(batch), dtype, seed)
                calls = {"matmul": matmul_call(case)}
                calls.update((m, f) for m, f in method_calls(case).items() if m in methods)
                secs = time_calls(calls, be, repeats, warmup, min_time)
                plain_flops = method_flops("plain", widths, batch)
                raw_gflops = plain_flops / secs["matmul"] / 1e9
                for m in methods:
                    flops = method_flops(m, widths, batch)
                    gflops = flops / secs[m] / 1e9
                    rec = {
                        "method": m, "sizes": list(widths), "batch": int(batch), "dtype": dtype,
                        "backend": be.name, "ms": secs[m] * 1e3, "ratio_to_plain": secs[m] / secs["plain"],
                        "flop_bound_ratio": flops / plain_flops,
                        "gflops": gflops, "pct_of_matmul_peak": 100.0 * gflops / raw_gflops,
                        "size": label, "device": str(be.device), "n_hypers": n_hypers(m, widths),
                        "flops": flops, "matmul_gflops": raw_gflops, "repeats": repeats, "tangent_impl": impl,
                    }
                    records.append(rec)
                    if progress is not None:
                        progress(rec)
                del case, calls
    return records


# --- whole-run tuner overhead ------------------------------------------------------------------------

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
    from .mlp import MLP
    from .optim import SGD, Adam
    from .problems import MLPProblem
    from .tuner import Greedy, Tuner

    be = resolve_backend(backend, device) if isinstance(backend, str) else backend
    label, widths = parse_size(size)
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


# --- the machine -------------------------------------------------------------------------------------


def _cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _blas():
    out = {}
    try:
        import numpy as np

        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        out["numpy_blas"] = f"{cfg.get('name')} {cfg.get('version')}".strip()
    except Exception:  # noqa: BLE001 - older NumPy
        pass
    try:
        from threadpoolctl import threadpool_info

        out["threadpools"] = [{k: i.get(k) for k in ("internal_api", "version", "num_threads",
                                                     "architecture")} for i in threadpool_info()]
    except ImportError:
        pass
    return out


def blas_threads(n=None):
    """A context limiting the BLAS threads to ``n`` (threadpoolctl); does nothing for None.
    On a shared CPU a busy core stalls a multi-threaded BLAS: ``n = 1`` then gives steadier numbers."""
    if n is None:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError as exc:
        raise ValueError("--threads needs threadpoolctl: pip install threadpoolctl") from exc
    return threadpool_limits(int(n))


def machine_info(backend=None):
    """CPU model, cores, BLAS, GPU name, library versions, load average: what a saved run records."""
    info = {"date": time.strftime("%Y-%m-%d %H:%M:%S %z"), "cpu": _cpu_model(), "cores": os.cpu_count(),
            "platform": platform.platform(), "python": platform.python_version()}
    if hasattr(os, "getloadavg"):
        info["loadavg_1_5_15min"] = [round(x, 2) for x in os.getloadavg()]
    info.update(_blas())
    versions = {}
    for mod in ("numpy", "scipy", "array_api_compat", "torch", "cupy", "hyperreg"):
        m = _optional(mod) if mod != "cupy" or getattr(backend, "name", None) == "cupy" else None
        if m is not None:
            versions[mod] = getattr(m, "__version__", "?")
    info["versions"] = versions
    name = getattr(backend, "name", None)
    if name == "cupy":
        props = backend.cp.cuda.runtime.getDeviceProperties(backend.device_id)
        info["gpu"] = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
        info["cuda_runtime"] = backend.cp.cuda.runtime.runtimeGetVersion()
    elif name == "torch" and backend.device.type == "cuda":
        info["gpu"] = backend.torch.cuda.get_device_name(backend.device)
        info["cuda_runtime"] = backend.torch.version.cuda
    if name is not None:
        info["backend"], info["device"] = name, str(backend.device)
    return info


# --- reports -----------------------------------------------------------------------------------------


def _fmt(x, nd=2):
    return f"{x:.{nd}f}"


def render_markdown(records, machine=None):
    """The records as a table (targets marked), then ms by backend with "not measured" for the GPU
    backends no record comes from."""
    lines = []
    if machine:
        gpu = machine.get("gpu", "none")
        lines += [f"Machine: {machine.get('cpu')} ({machine.get('cores')} cores), BLAS "
                  f"{machine.get('numpy_blas', '?')}, GPU {gpu}; {machine.get('date', '')}", ""]
    lines += ["| backend | size | batch | dtype | method | ms | ratio to plain | FLOP bound | ratio / bound "
              "| GFLOP/s | % of matmul peak |",
              "|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in records:
        rb = r["ratio_to_plain"] / r["flop_bound_ratio"]
        if r["method"] == "plain":
            mark, mark_rb = (" ✓" if r["pct_of_matmul_peak"] >= TARGET_PEAK else " ✗"), ""
        else:
            mark, mark_rb = "", (" ✓" if rb <= TARGET_RATIO else " ✗")
        lines.append(f"| {r['backend']} | {r.get('size', '-'.join(map(str, r['sizes'])))} | {r['batch']} "
                     f"| {r['dtype']} | {r['method']} | {_fmt(r['ms'])} | {_fmt(r['ratio_to_plain'])} "
                     f"| {_fmt(r['flop_bound_ratio'])} | {_fmt(rb)}{mark_rb} | {_fmt(r['gflops'], 1)} "
                     f"| {_fmt(r['pct_of_matmul_peak'], 0)}{mark} |")
    lines += ["", f"✓/✗: ratio / bound ≤ {TARGET_RATIO}; plain at ≥ {TARGET_PEAK:.0f} % of the raw matmul "
              "throughput on the same shapes.", "", "Milliseconds by backend:", ""]
    backends = ["numpy", *GPU_BACKENDS]
    lines += ["| size | batch | dtype | method | " + " | ".join(backends) + " |",
              "|---|---:|---|---|" + "---:|" * len(backends)]
    table = {}
    for r in records:
        key = (r.get("size", "-".join(map(str, r["sizes"]))), r["batch"], r["dtype"], r["method"])
        table.setdefault(key, {})[r["backend"]] = r["ms"]
    for key, by in table.items():
        cells = [_fmt(by[b]) if b in by else "not measured" for b in backends]
        lines.append(f"| {key[0]} | {key[1]} | {key[2]} | {key[3]} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(records, path):
    """Bar chart: ratio to plain (bars) against the FLOP bound (black ticks), one panel per configuration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = {}
    for r in records:
        key = f"{r['backend']} {r.get('size', '')} n={r['batch']} {r['dtype']}"
        groups.setdefault(key, []).append(r)
    n = len(groups)
    cols = min(n, 4)
    rows = (n + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    for ax, (key, recs) in zip(axes.flat, groups.items()):
        x = range(len(recs))
        ax.bar(x, [r["ratio_to_plain"] for r in recs], color="tab:blue", label="measured")
        ax.scatter(x, [r["flop_bound_ratio"] for r in recs], marker="_", s=400, color="black",
                   label="FLOP bound", zorder=3)
        ax.set_xticks(list(x), [r["method"] for r in recs], rotation=45, ha="right", fontsize=7)
        ax.set_yscale("log")
        ax.set_title(key, fontsize=9)
        ax.set_ylabel("× plain step")
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def save(records, machine, json_path):
    """Write OUT (the list of records), OUT's stem + .md (table), .png (chart), .machine.json."""
    json_path = Path(json_path)
    json_path.parent.mkdir(parents=True, exist_ok=True)
    stem = json_path.with_suffix("")
    paths = {"json": json_path, "markdown": stem.with_suffix(".md"), "png": stem.with_suffix(".png"),
             "machine": Path(str(stem) + ".machine.json")}
    paths["json"].write_text(json.dumps(records, indent=1) + "\n")
    paths["machine"].write_text(json.dumps(machine, indent=1) + "\n")
    paths["markdown"].write_text(render_markdown(records, machine))
    plot(records, paths["png"])
    return paths


def load_records(paths):
    """Records from saved JSON files, concatenated (to render several backends in one table)."""
    out = []
    for p in paths:
        out += json.loads(Path(p).read_text())
    return out
