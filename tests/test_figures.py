"""Each figure command's --quick mode writes its PNG(s) and JSON."""

from __future__ import annotations

import json

import pytest

from hyperreg.cli import main

PNGS = {"fig1": ["fig1_l2.png", "fig1_noise.png"], "fig4": ["fig4.png"], "fig5": ["fig5.png"],
        "fig6": ["fig6.png"], "table2": ["table2.png"], "recovery": ["recovery.png"]}


pytestmark = pytest.mark.usefixtures("one_blas_thread")  # conftest.py


@pytest.mark.parametrize("name", list(PNGS))
def test_figure_quick_writes_png_and_json(name, tmp_path, capsys):
    assert main(["figure", name, "--quick", "--epochs", "1", "--sizes", "16", "--out", str(tmp_path)]) == 0
    for png in PNGS[name]:
        assert (tmp_path / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open(tmp_path / f"{name}.json") as f:
        doc = json.load(f)
    assert doc
    if name == "table2":
        methods = [r["method"] for r in doc["rows"]]
        assert methods == ["fixed", "unroll1-gtgv", "unroll1", "unroll5", "unroll10", "clip5", "clip10", "clip20"]
        assert all(r["val_ce_early"] <= r["val_ce_final"] for r in doc["rows"])
    if name == "recovery":  # each (variant, init) ran from its own λ₀ with its own settings
        rows = doc["rows"]
        assert {(r["variant"], r["init_label"]) for r in rows} == {
            (v, i) for v in ("defaults", "ε=1e-8, single sample") for i in ("below", "above")}
        final = {(r["variant"], r["init_label"]): r["lambda"] for r in rows}
        assert final["defaults", "below"] != final["ε=1e-8, single sample", "below"]
    assert "wrote" in capsys.readouterr().out
