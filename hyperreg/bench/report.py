"""The records as a markdown table (targets marked, the peer's columns when a peer ran), a bar chart, and
the files of a saved run (OUT.json, OUT.md, OUT.png, OUT.machine.json)."""

from __future__ import annotations

import json
from pathlib import Path

GPU_BACKENDS = ("cupy", "torch")
TARGET_RATIO = 1.15  # ratio_to_plain ≤ 1.15 · flop_bound_ratio
TARGET_PEAK = 80.0  # plain step at ≥ 80 % of raw matmul throughput


def _fmt(x, nd=2):
    return "—" if x is None else f"{x:.{nd}f}"


def _size(r):
    return r.get("size", "-".join(map(str, r["sizes"])))


def _main_table(records):
    peer = any("peer_ms" in r for r in records)
    head = ("| backend | size | batch | dtype | method | ms | ratio to plain | FLOP bound | ratio / bound "
            "| GFLOP/s | % of matmul peak |")
    rule = "|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|"
    if peer:
        head, rule = head + " peer ms | peer way | ratio to peer |", rule + "---:|---|---:|"
    lines = [head, rule]
    for r in records:
        rb = r["ratio_to_plain"] / r["flop_bound_ratio"]
        if r["method"] == "plain":
            mark, mark_rb = (" ✓" if r["pct_of_matmul_peak"] >= TARGET_PEAK else " ✗"), ""
        else:
            mark, mark_rb = "", (" ✓" if rb <= TARGET_RATIO else " ✗")
        line = (f"| {r['backend']} | {_size(r)} | {r['batch']} | {r['dtype']} | {r['method']} | {_fmt(r['ms'])} "
                f"| {_fmt(r['ratio_to_plain'])} | {_fmt(r['flop_bound_ratio'])} | {_fmt(rb)}{mark_rb} "
                f"| {_fmt(r['gflops'], 1)} | {_fmt(r['pct_of_matmul_peak'], 0)}{mark} |")
        if peer:
            line += f" {_fmt(r.get('peer_ms'))} | {r.get('peer_impl') or '—'} | {_fmt(r.get('ratio_to_peer'))} |"
        lines.append(line)
    return lines, peer


def _matmul_lines(records):
    """The floor under both steps: the plain step's raw matmuls in hyperreg's backend and in PyTorch."""
    rows = {}
    for r in records:
        if r.get("peer_matmul_ms") is not None:
            rows[(r["backend"], _size(r), r["batch"], r["dtype"])] = (r["matmul_ms"], r["peer_matmul_ms"])
    if not rows:
        return []
    out = ["", "The plain step's raw matmuls alone (h W, hᵀ g_a, g_a Wᵀ of every layer), same rounds:", "",
           "| backend | size | batch | dtype | matmuls ms | PyTorch's ms | ratio |",
           "|---|---|---:|---|---:|---:|---:|"]
    for (be, size, batch, dtype), (ms, peer) in rows.items():
        out.append(f"| {be} | {size} | {batch} | {dtype} | {ms:.2f} | {peer:.2f} | {ms / peer:.2f} |")
    return out


def render_markdown(records, machine=None):
    """The records as a table (targets marked; peer ms, the peer's faster way and hyperreg/peer when a peer
    ran), then ms by backend with "not measured" for the GPU backends no record comes from."""
    lines = []
    if machine:
        gpu = machine.get("gpu", "none")
        lines += [f"Machine: {machine.get('cpu')} ({machine.get('cores')} cores), BLAS "
                  f"{machine.get('numpy_blas', '?')}, GPU {gpu}; {machine.get('date', '')}", ""]
    table, peer = _main_table(records)
    lines += table
    lines += ["", f"✓/✗: ratio / bound ≤ {TARGET_RATIO}; plain at ≥ {TARGET_PEAK:.0f} % of the raw matmul "
              "throughput on the same shapes."]
    if peer:
        labels = sorted({r["peer"] for r in records if r.get("peer")})
        lines += [f"Peer: {'; '.join(labels)} — the faster of torch.func and autograd on the same shapes and "
                  "data, timed in the same rounds; ratio to peer = hyperreg ms / peer ms."]
        lines += _matmul_lines(records)
    lines += ["", "Milliseconds by backend:", ""]
    backends = ["numpy", *GPU_BACKENDS]
    lines += ["| size | batch | dtype | method | " + " | ".join(backends) + " |",
              "|---|---:|---|---|" + "---:|" * len(backends)]
    by_key = {}
    for r in records:
        by_key.setdefault((_size(r), r["batch"], r["dtype"], r["method"]), {})[r["backend"]] = r["ms"]
    for key, by in by_key.items():
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
        groups.setdefault(f"{r['backend']} {r.get('size', '')} n={r['batch']} {r['dtype']}", []).append(r)
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
