"""Seconds per elementary step on Fashion-MNIST (784-100-100-10, per-layer L2 + noise, batch 100): plain
training vs the tuned step under hyperreg's defaults and the cheaper settings. Run from the repository root:

    OMP_NUM_THREADS=1 python docs/fashion-mnist/time_steps.py > docs/fashion-mnist/time_steps.txt

Mean over 40 steps (100 for every 10) after 5 untimed ones; the 1000-wide net only 10-20 steps.
"""

import time

from hyperreg.experiments.tune import TuneConfig, build, load_data, plain_step_seconds


def per_step(cfg, n=40, warm=5):
    run = build(cfg.replace(log_every=10**9))
    st = run.tuner.init_state(run.theta0, run.lam0)
    times = []
    for i in range(n + warm):
        t0 = time.perf_counter()
        run.tuner.step(st)
        if i >= warm:
            times.append(time.perf_counter() - t0)
    return sum(times) / len(times)


base = TuneConfig(data="fashion-mnist")
load_data(base)
c = base.replace(sizes=(100, 100))
plain = plain_step_seconds(c, steps=40)
print(f"784-100-100-10 plain fixed-λ step        {1e3 * plain:6.2f} ms")
for label, cfg, n in (("defaults (every 1, all 5000 of T2)", c, 40),
                      ("every 1, T2 minibatch 100", c.replace(val_batch=100), 40),
                      ("every 10, T2 minibatch 100", c.replace(val_batch=100, every=10), 100),
                      ("every 10, T2 minibatch 1000", c.replace(val_batch=1000, every=10), 100)):
    t = per_step(cfg, n)
    print(f"784-100-100-10 {label:44s} {1e3 * t:6.2f} ms  ({100 * (t / plain - 1):+.0f} %)")
big = base.replace(sizes=(1000, 1000, 1000))
plain = plain_step_seconds(big, steps=10, warm=2)
t = per_step(big.replace(val_batch=100, every=10), n=20, warm=2)
print(f"784-1000-1000-1000-10 plain {1e3 * plain:6.2f} ms, every 10 with T2 minibatch 100 {1e3 * t:6.2f} ms")
