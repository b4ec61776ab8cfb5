"""Collect docs/cnn's fixed-λ points (one ``hyperreg grid`` call each, grid/l2=…,noise=…/grid.json), the tuned
run (tune/run.json) and its rerun at the final λ (tune/rerun.json) into summary.json, print the table and
draw grid_vs_tuned.png (test error over the grid, the tuned run beside it).

    python docs/cnn/collect.py          # from the repository root
"""

import glob
import json
import math
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def load(path):
    with open(path) as f:
        return json.load(f)


points = []
for path in sorted(glob.glob(os.path.join(HERE, "grid", "*", "grid.json"))):
    for p in load(path)["points"]:
        points.append({**p["point"], **{k: p[k] for k in ("val_loss", "val_error", "test_loss", "test_error",
                                                            "seconds", "wall_seconds")}})
best = min(points, key=lambda p: p["val_loss"])
tune = load(os.path.join(HERE, "tune", "run.json"))
rerun_path = os.path.join(HERE, "tune", "rerun.json")
rerun = load(rerun_path) if os.path.exists(rerun_path) else None
doc = {"points": points, "best_by_val_loss": best,
       "tuned": {k: tune[k] for k in ("lambda_init", "lambda", "val_loss", "val_error", "test_loss", "test_error",
                                      "seconds", "wall_seconds")},
       "rerun": rerun, "grid_training_seconds": sum(p["seconds"] for p in points)}
with open(os.path.join(HERE, "summary.json"), "w") as f:
    json.dump(doc, f, indent=1)

print("| λ | val CE | val err | test CE | test err | training s |")
print("|---|---|---|---|---|---|")
for p in sorted(points, key=lambda p: (p["l2"], p["noise"])):
    mark = " **(best by val CE)**" if p is best else ""
    print(f"| l2 = {p['l2']:g}, σ = {p['noise']:g}{mark} | {p['val_loss']:.4f} | {100 * p['val_error']:.2f} % "
          f"| {p['test_loss']:.4f} | {100 * p['test_error']:.2f} % | {p['seconds']:.0f} |")
t = doc["tuned"]
print(f"| tuned (greedy) | {t['val_loss']:.4f} | {100 * t['val_error']:.2f} % | {t['test_loss']:.4f} "
      f"| {100 * t['test_error']:.2f} % | {t['seconds']:.0f} |")

l2s, sigmas = sorted({p["l2"] for p in points}), sorted({p["noise"] for p in points})
fig, ax = plt.subplots(figsize=(5.6, 4))
for p in points:
    ax.scatter(p["l2"], p["noise"], s=900, c=[100 * p["test_error"]], cmap="viridis_r", vmin=12, vmax=16,
               marker="s")
    ax.annotate(f"{100 * p['test_error']:.2f}", (p["l2"], p["noise"]), ha="center", va="center", fontsize=8,
                color="white")
lam = t["lambda"]


def geo(keys):
    return math.exp(sum(math.log(lam[k]) for k in keys) / len(keys))


l2_keys, s_keys = [k for k in lam if k.startswith("l2")], [k for k in lam if k.startswith("noise")]
ax.scatter([geo(l2_keys)], [geo(s_keys)], marker="*", s=250, color="red", zorder=3,
           label=f"tuned (geo-mean λ): test {100 * t['test_error']:.2f} %")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlim(min(l2s) / 3, max(l2s) * 3)
ax.set_ylim(min(sigmas) / 2, max(sigmas) * 2)
ax.set_xlabel("L2 (every layer)")
ax.set_ylabel("noise σ (every layer)")
ax.set_title("Fashion-MNIST CNN: test error % at fixed λ", fontsize=10)
ax.legend(fontsize=8, loc="lower left")
fig.tight_layout()
fig.savefig(os.path.join(HERE, "grid_vs_tuned.png"), dpi=110)
