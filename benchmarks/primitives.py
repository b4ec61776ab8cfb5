"""Issue 2's first benchmark: train_grad, train_hvp and greedy for 784-100-100-100-10 (A) and
784-1000-1000-1000-10 (B) at batch 100, float32 and float64; milliseconds and the ratio to train_grad.

    python benchmarks/primitives.py [--backend numpy|cupy|torch] [--threads 1]

Same timing harness as ``hyperreg bench`` (round-robin medians, device synchronized).
"""

from __future__ import annotations

import argparse

from hyperreg import bench
from hyperreg.hypergrad import greedy


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", default="numpy")
    p.add_argument("--device", default=None)
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args(argv)
    be = bench.resolve_backend(args.backend, args.device)
    print(f"| size | dtype | train_grad ms | train_hvp ms (×) | greedy ms (×) |  ({be.name})")
    print("|---|---|---:|---:|---:|")
    with bench.blas_threads(args.threads):
        for size in ("A", "B"):
            for dtype in ("float32", "float64"):
                c = bench.make_case(be, bench.SIZES[size], 100, dtype)
                v = c.tangent_l2[:, 0]
                calls = {
                    "grad": lambda c=c: c.net_l2.train_grad(c.theta, c.lam_l2, c.X, c.y),
                    "hvp": lambda c=c, v=v: c.net_l2.train_hvp(c.theta, c.lam_l2, c.X, c.y, None, v),
                    "greedy": lambda c=c: greedy(c.net_l2, c.theta, c.lam_l2, (c.X, c.y), None,
                                                 (c.Xv, c.yv), 0.1),
                }
                ms = {k: 1e3 * t for k, t in bench.time_calls(calls, be, repeats=args.repeats).items()}
                print(f"| {size} | {dtype} | {ms['grad']:.2f} | {ms['hvp']:.2f} ({ms['hvp'] / ms['grad']:.2f}) "
                      f"| {ms['greedy']:.2f} ({ms['greedy'] / ms['grad']:.2f}) |")


if __name__ == "__main__":
    main()
