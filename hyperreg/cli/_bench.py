"""``hyperreg bench``: time every hypergradient method against a plain step (issue 7) and, with ``--peer
torch``, against PyTorch computing the same quantity (issue 12); the code is ``hyperreg.bench``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def add_parser(sub):
    from hyperreg.bench import FULL, METHODS, PEERS

    p = sub.add_parser("bench", help="time each hypergradient method against a plain training step",
                       description="Default: the full grid (sizes A B C × batch 100 1000 × float32 float64) "
                                   "on one backend. --quick: sizes A B, batch 100, float32, few repeats.")
    p.add_argument("--backend", default="numpy", help="numpy (default), cupy or torch")
    p.add_argument("--device", default=None,
                   help="torch: cuda or cpu (default cuda when available); cupy: GPU id")
    p.add_argument("--threads", type=int,
                   help="limit the BLAS threads (threadpoolctl) and torch's (peer, torch backend); default: all")
    p.add_argument("--quick", action="store_true", help="a sub-minute run: sizes A B, batch 100, float32")
    p.add_argument("--sizes", nargs="+", help=f"A, B, C, widths like 784-100-10, the CNNs cnn28, allcnn32 or "
                                              f"CxHxW:arch like 1x28x28:c16k3-mp2-d10 (default {FULL['sizes']})")
    p.add_argument("--batches", nargs="+", type=int)
    p.add_argument("--dtypes", nargs="+", choices=("float32", "float64"))
    p.add_argument("--methods", nargs="+", choices=METHODS)
    p.add_argument("--repeats", type=int, help="timed calls at least (median taken)")
    p.add_argument("--warmup", type=int)
    p.add_argument("--min-time", type=float, help="keep repeating until this many seconds are spent")
    p.add_argument("--peer", choices=PEERS,
                   help="also time PyTorch (torch.func and autograd, the faster kept) on the same shapes and "
                        "data for plain, hvp, greedy-l2, greedy-l2-noise: columns peer ms, ratio to peer")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--json", metavar="OUT", help="write the records to OUT, and OUT.md, OUT.png, "
                                                 "OUT.machine.json beside it")
    p.add_argument("--table", nargs="+", metavar="JSON",
                   help="run nothing: print one markdown table of saved runs (e.g. numpy and cupy)")
    p.add_argument("--overhead", action="store_true",
                   help="also time whole tuner runs (greedy every k = 1 and 10, L2 and L2+noise) against "
                        "fixed-λ training on size B (or the first --sizes), written to OUT.overhead.json")
    p.add_argument("--overhead-steps", type=int, default=40, help="elementary steps per timed tuner run")
    p.set_defaults(func=run)


def _restart_with_spin_env(args, bench):
    """Run as the program with ``--peer``, start again with ``bench.SPIN_ENV`` set (OpenBLAS reads it when it
    loads: ``bench.machine``). Called in-process (``main([...])``) it only says what is missing."""
    missing = bench.spin_env_missing()
    if not missing or args.peer is None:
        return
    if args.program_argv is None:
        print("hyperreg bench: note: set " + " ".join(f"{k}={v}" for k, v in missing.items()) + " before NumPy "
              "loads, or NumPy's idle BLAS workers slow the peer's interleaved calls", file=sys.stderr)
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, [sys.executable, "-m", "hyperreg", *args.program_argv], {**os.environ, **missing})


def run(args):
    from hyperreg import bench

    if args.table:
        print(bench.render_markdown(bench.load_records(args.table)), end="")
        return 0
    mode = dict(bench.QUICK if args.quick else bench.FULL)
    for key in ("sizes", "batches", "dtypes", "repeats", "warmup", "min_time"):
        if getattr(args, key) is not None:
            mode[key] = getattr(args, key)
    be = bench.resolve_backend(args.backend, args.device)
    if args.peer is not None:
        from hyperreg.bench.peer_torch import import_torch

        import_torch()  # a missing torch is the one-line error, before anything else is said or run
        _restart_with_spin_env(args, bench)

    def progress(r):
        peer = "" if r.get("peer_ms") is None else \
            f"  peer {r['peer_ms']:.2f} ms ({r['peer_impl']}) ×{r['ratio_to_peer']:.2f}"
        print(f"  {r['size']:>3} n={r['batch']:<5} {r['dtype']:8} {r['method']:16} {r['ms']:10.2f} ms"
              f"  ×{r['ratio_to_plain']:6.2f} (bound ×{r['flop_bound_ratio']:.2f}){peer}", file=sys.stderr)

    with bench.blas_threads(args.threads, torch=args.peer == "torch" or be.name == "torch"):
        machine = bench.machine_info(be)
        records = bench.run_benchmark(be, sizes=mode["sizes"], batches=mode["batches"], dtypes=mode["dtypes"],
                                      methods=args.methods or bench.METHODS, repeats=mode["repeats"],
                                      warmup=mode["warmup"], min_time=mode["min_time"], seed=args.seed,
                                      progress=progress, peer=args.peer)
        overhead = []
        if args.overhead:
            size = (args.sizes or ["B"])[0]
            for dtype in mode["dtypes"]:
                overhead += bench.tuner_overhead(be, size=size, batch=mode["batches"][0], dtype=dtype,
                                                 steps=args.overhead_steps, seed=args.seed)
    machine["loadavg_after"] = bench.machine_info().get("loadavg_1_5_15min")
    if args.json:
        paths = bench.save(records, machine, args.json)
        if overhead:
            out = args.json[:-5] if args.json.endswith(".json") else args.json
            Path(out + ".overhead.json").write_text(json.dumps(overhead, indent=1))
            Path(out + ".overhead.md").write_text(bench.render_overhead(overhead))
        print("wrote " + ", ".join(str(p) for p in paths.values()), file=sys.stderr)
    print(bench.render_markdown(records, machine), end="")
    if overhead:
        print("\nWhole-run tuner overhead against fixed-λ training (same steps):\n")
        print(bench.render_overhead(overhead), end="")
    return 0
