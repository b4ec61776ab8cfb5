"""Timing: round-robin medians, and the benchmark's records (issue 7; the peer columns of issue 12).

    ratio_to_plain     = ms(method) / ms(plain)
    flop_bound_ratio   = F(method) / F(plain)         F: ``flops.method_flops``
    gflops             = F(method) / time             (useful FLOPs: redundant work lowers it)
    pct_of_matmul_peak = gflops / raw                 raw: the same shapes' matmuls alone, timed in this run
    ratio_to_peer      = ms(method) / ms(peer)        peer: PyTorch's autodiff, the faster of its two ways
    matmul_ms, peer_matmul_ms                          the raw matmuls in NumPy's BLAS and in PyTorch's

Host-side code: it times, so it reads clocks and syncs the device.
"""

from __future__ import annotations

import statistics
import time

from .cases import make_case, parse_size, resolve_backend
from .flops import METHODS, method_flops, n_hypers
from .methods import matmul_call, method_calls

RECORD_KEYS = ("method", "sizes", "batch", "dtype", "backend", "ms", "ratio_to_plain",
               "flop_bound_ratio", "gflops", "pct_of_matmul_peak")
PEER_KEYS = ("peer", "peer_ms", "peer_impl", "peer_ms_by_impl", "ratio_to_peer")
PEERS = ("torch",)


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


def _check_methods(methods, peer):
    methods = tuple(methods)
    bad = [m for m in methods if m not in METHODS]
    if bad:
        raise ValueError(f"methods must be among {METHODS}, got {bad}")
    if peer is not None and peer not in PEERS:
        raise ValueError(f"--peer must be one of {PEERS}, got {peer!r}")
    if "plain" not in methods:
        methods = ("plain",) + methods  # every ratio needs it
    return tuple(m for m in METHODS if m in methods)


def _peer_fields(peer, secs, method, ms):
    """The peer columns of one record: the faster of the peer's ways, which one, and the ratio."""
    by_impl = {impl: 1e3 * secs[name] for impl, name in peer.timed_names(method).items()}
    if not by_impl:
        return dict.fromkeys(PEER_KEYS) | {"peer": peer.label}
    impl = min(by_impl, key=by_impl.get)
    return {"peer": peer.label, "peer_ms": by_impl[impl], "peer_impl": impl, "peer_ms_by_impl": by_impl,
            "ratio_to_peer": ms / by_impl[impl]}


def run_benchmark(backend="numpy", device=None, sizes=("B",), batches=(100,), dtypes=("float32",),
                  methods=METHODS, repeats=5, warmup=2, min_time=0.0, seed=0, progress=None, peer=None):
    """Time every method on every size × batch × dtype; a list of records (``RECORD_KEYS`` and a few
    more: ``size``, ``device``, ``n_hypers``, ``flops``, ``matmul_gflops``, ``repeats``).

    ``peer="torch"``: PyTorch's step for the same quantity (``peer_torch.PEER_METHODS``) is timed in the
    same rounds, on the same shapes and data; each record then carries ``PEER_KEYS`` (None where the
    peer has no counterpart)."""
    methods = _check_methods(methods, peer)
    be = resolve_backend(backend, device) if isinstance(backend, str) else backend
    if peer is not None:
        from .peer_torch import import_torch

        import_torch()  # fail before any timing when the peer's library is missing
    records = []
    for spec in sizes:
        label, widths = parse_size(spec)
        for batch in batches:
            for dtype in dtypes:
                case = make_case(be, widths, int(batch), dtype, seed)
                calls = {"matmul": matmul_call(case)}
                calls.update((m, f) for m, f in method_calls(case).items() if m in methods)
                rival = None
                if peer is not None:
                    from .peer_torch import TorchPeer

                    rival = TorchPeer(case)
                    calls["peer matmul"] = rival.matmul_call(case)
                    calls.update(rival.calls(methods))
                secs = time_calls(calls, be, repeats, warmup, min_time)
                plain_flops = method_flops("plain", widths, batch)
                raw_gflops = plain_flops / secs["matmul"] / 1e9
                for m in methods:
                    flops = method_flops(m, widths, batch)
                    gflops = flops / secs[m] / 1e9
                    rec = {
                        "method": m, "sizes": widths if isinstance(widths, str) else list(widths),
                        "batch": int(batch), "dtype": dtype,
                        "backend": be.name, "ms": secs[m] * 1e3, "ratio_to_plain": secs[m] / secs["plain"],
                        "flop_bound_ratio": flops / plain_flops,
                        "gflops": gflops, "pct_of_matmul_peak": 100.0 * gflops / raw_gflops,
                        "size": label, "device": str(be.device), "n_hypers": n_hypers(m, widths),
                        "flops": flops, "matmul_gflops": raw_gflops, "repeats": repeats,
                    }
                    rec["matmul_ms"] = 1e3 * secs["matmul"]
                    if rival is not None:
                        rec.update(_peer_fields(rival, secs, m, rec["ms"]))
                        rec["peer_matmul_ms"] = 1e3 * secs["peer matmul"]
                    records.append(rec)
                    if progress is not None:
                        progress(rec)
                del case, calls, rival
    return records
