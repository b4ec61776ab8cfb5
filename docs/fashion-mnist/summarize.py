"""Print the Markdown tables of docs/README.md's Fashion-MNIST section from the JSON files here:

    python docs/fashion-mnist/summarize.py
"""

import json
import math
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def load(*parts):
    path = os.path.join(HERE, *parts)
    if not os.path.isfile(path):
        return None
    with open(path) as f:
        return json.load(f)


def lam(d):
    def geo(pred):
        v = [x for k, x in d.items() if pred(k)]
        return math.exp(np.mean(np.log(v))) if v else None
    l2 = geo(lambda k: k.startswith("l2"))
    sig = [f"{d[k]:.2g}" for k in d if k.startswith("noise")]
    out = []
    if l2 is not None:
        out.append(f"l2 ≈ {l2:.1e}")
    if sig:
        out.append("σ = " + " / ".join(sig))
    return "; ".join(out)


def row(label, doc, seconds):
    return (f"| {label} | {lam(doc['lambda'])} | {doc['val_loss']:.4f} | {100 * doc['val_error']:.2f} % | "
            f"{doc['test_loss']:.4f} | {100 * doc['test_error']:.2f} % | {seconds} |")


def tuned_vs_grid():
    print("| run | final λ | val CE | val err | test CE | test err | seconds |")
    print("|---|---|---|---|---|---|---|")
    for name, label in (("tune-hyperreg", "hyperreg defaults (greedy, every 1, all of T2)"),
                        ("tune-vb100", "… with --val-batch 100"),
                        ("why/vb100-noise-frozen", "… --val-batch 100, σ frozen at 0.1"),
                        ("why/vb100-l2-frozen", "… --val-batch 100, l2 frozen at 1e-3"),
                        ("tune-vb1000", "… with --val-batch 1000"),
                        ("tune-every10-vb100", "… with --every 10 --val-batch 100"),
                        ("tune-every10-vb100-lr0.1", "… with --every 10 --val-batch 100 --hyper-lr 0.1"),
                        ("tune-luketina2016", "--protocol luketina2016"),
                        ("why/luketina-noise-frozen", "luketina2016, σ frozen at 0.1"),
                        ("why/luketina-l2-frozen", "luketina2016, l2 frozen at 1e-3"),
                        ("why/luketina-antithetic", "luketina2016 with the antithetic pair")):
        doc = load(name, "run.json")
        if doc:
            print(row(label, doc, f"{doc['seconds']:.0f} training"))
        rr = load(name, "rerun.json")
        if rr:
            print(row("  rerun at its final λ", rr["rerun"], f"{rr['rerun']['seconds']:.0f} training"))
    grid = load("grid", "grid.json")
    if grid:
        b = grid["best"]
        pt = ", ".join(f"{k} = {v:.3g}" for k, v in b["point"].items())
        print(f"| best of the {len(grid['points'])}-point grid (by val CE) | {pt} | {b['val_loss']:.4f} | "
              f"{100 * b['val_error']:.2f} % | {b['test_loss']:.4f} | {100 * b['test_error']:.2f} % | "
              f"{grid['seconds']:.0f} wall, {grid['cpu_seconds']:.0f} training |")
        t = min(grid["points"], key=lambda r: r["test_error"])
        pt = ", ".join(f"{k} = {v:.3g}" for k, v in t["point"].items())
        print(f"| (grid point of lowest test error, for Fig. 7) | {pt} | {t['val_loss']:.4f} | "
              f"{100 * t['val_error']:.2f} % | {t['test_loss']:.4f} | {100 * t['test_error']:.2f} % | |")


def hysteresis(folder):
    doc = load(folder, "fig4.json")
    if not doc:
        return
    print(f"\n{folder}: protocol {doc['config']['protocol']}, method {doc['config']['method']}")
    print("| init | fixed at init: test err | tuned: final λ | tuned: val err | tuned: test err | rerun: test err |")
    print("|---|---|---|---|---|---|")
    rows = doc["rows"]
    for r in rows:
        i = r["init"]
        print(f"| l2 = {i['l2']:.1e}, σ = {i['noise']:.2g} | {100 * r['fixed_init']['test_error']:.2f} % | "
              f"{lam(r['tuned']['lambda'])} | {100 * r['tuned']['val_error']:.2f} % | "
              f"{100 * r['tuned']['test_error']:.2f} % | {100 * r['rerun']['test_error']:.2f} % |")
    f = np.array([r["fixed_init"]["test_error"] for r in rows])
    t = np.array([r["tuned"]["test_error"] for r in rows])
    re = np.array([r["rerun"]["test_error"] for r in rows])
    v = np.array([r["tuned"]["val_error"] for r in rows])
    print(f"| mean | {100 * f.mean():.2f} % | | {100 * v.mean():.2f} % | {100 * t.mean():.2f} % | "
          f"{100 * re.mean():.2f} % |")
    corr = np.corrcoef(t, re)[0, 1] if len(rows) > 2 else float("nan")
    print(f"\nrerun better than fixed-at-init in {int((re < f).sum())} of {len(rows)}; rerun vs tuned: "
          f"{int((re < t).sum())} better; corr(tuned, rerun) = {corr:.2f}; "
          f"corr(val err, test err) = {np.corrcoef(v, t)[0, 1]:.2f}")


def table2(folder):
    doc = load(folder, "table2.json")
    if not doc:
        return
    c = doc["config"]
    print(f"\n{folder}: protocol {c['protocol']}, hyper {c['hyper_optimizer']} on {c['hyper_param']}, "
          f"rate {c['hyper_lr']} coupling {c['coupling']}, {doc['seconds']:.0f} s wall")
    print("| method | val CE×10³ early stop | no early stop | stability | final l2 (geo-mean) | paper (MNIST) |")
    print("|---|---|---|---|---|---|")
    rest = load(folder + "-rest", "table2.json")  # the other three methods, run separately (same grid, inits)
    rows = doc["rows"] + ([r for r in rest["rows"] if r["method"] != "fixed"] if rest else [])
    order = ["fixed", "unroll1-gtgv", "unroll1", "unroll5", "unroll10", "clip5", "clip10", "clip20"]
    for r in sorted(rows, key=lambda r: order.index(r["method"]) if r["method"] in order else 99):
        geo = math.exp(np.mean(np.log(r["final_l2"])))
        p = doc["paper"].get(r["method"])
        paper = f"{p[0]} / {p[1]} / {p[2]:+.1f} %" if p else ""
        print(f"| {r['method']} | {1e3 * r['val_ce_early']:.1f} | {1e3 * r['val_ce_final']:.1f} | "
              f"{100 * r['stability']:+.1f} % | {geo:.1e} | {paper} |")


tuned_vs_grid()
for folder in ("figures-hyperreg", "figures-luketina2016"):
    hysteresis(folder)
for folder in ("table2-hyperreg", "table2-iclr2018"):
    table2(folder)
