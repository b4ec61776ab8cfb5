"""Every command writes only under the paths its options name, or its documented default under the cwd."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from hyperreg.cli import main

TINY = ["--sizes", "4", "--epochs", "0.5", "--batch", "50", "--axis", "l2=1e-3"]


def _files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, fs in os.walk(root) for f in fs)


@pytest.fixture
def cwd(tmp_path, monkeypatch):
    """An empty working directory inside ``tmp_path`` (``tmp_path/cwd``)."""
    path = tmp_path / "cwd"
    path.mkdir()
    monkeypatch.chdir(path)
    return path


def _tuned_run(tmp_path):
    assert main(["tune", "--sizes", "4", "--epochs", "0.5", "--no-progress", "--out", str(tmp_path / "run")]) == 0
    return tmp_path / "run" / "run.json"


CASES = {  # command → (argv with {t} for the named place, what it may write there)
    "tune": (["tune", "--sizes", "4", "--epochs", "0.5", "--no-progress", "--out", "{t}/o",
              "--checkpoint", "{t}/ck/c.ckpt"], ["ck/c.ckpt", "o/curves.png", "o/lambda.png", "o/run.json"]),
    "grid": (["grid", *TINY, "--out", "{t}/o"], ["o/grid.json"]),
    "random": (["random", *TINY, "--n", "1", "--out", "{t}/o"], ["o/grid.json"]),
    "hoag": (["hoag", "--grid", "0", "--json", "{t}/r.json"], ["hoag_breast_cancer_logistic.png", "r.json"]),
    "quadratic": (["quadratic", "--quick", "--n-problems", "1", "--steps", "20", "--out", "{t}/o",
                   "--json", "{t}/q.json"], ["o/quadratic_lambda.png", "q.json"]),
    "demo": (["demo"], []),
    "figure": (["figure", "fig4", "--quick", "--sizes", "4", "--out", "{t}/o"], ["o/fig4.json", "o/fig4.png"]),
    "schedules": (["schedules", "--quick", "--hidden", "4", "--steps", "5", "--values", "0.01,0",
                   "--out", "{t}/o"],
                  ["o/schedules.json", "o/schedules.png"]),
    "bench": (["bench", "--quick", "--sizes", "A", "--batches", "10", "--dtypes", "float32", "--methods", "plain",
               "--repeats", "1", "--warmup", "0", "--min-time", "0", "--json", "{t}/b.json"],
              ["b.json", "b.machine.json", "b.md", "b.png"]),
}


@pytest.mark.parametrize("command", sorted(CASES))
def test_writes_only_where_named(command, tmp_path, cwd):
    argv, expected = CASES[command]
    named = tmp_path / "named"
    assert main([a.replace("{t}", str(named)) for a in argv]) == 0
    assert _files(cwd) == []
    assert _files(named) == expected
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["cwd"] + (["named"] if expected else []))


def test_rerun_writes_beside_its_run_json_or_to_out(tmp_path, cwd):
    run = _tuned_run(tmp_path)
    before = _files(tmp_path / "run")
    assert main(["rerun", str(run)]) == 0
    assert _files(tmp_path / "run") == sorted(before + ["rerun.json"]) and _files(cwd) == []
    assert main(["rerun", str(run), "--out", str(tmp_path / "elsewhere" / "r.json")]) == 0
    assert _files(tmp_path / "elsewhere") == ["r.json"] and _files(cwd) == []


@pytest.mark.parametrize("argv, default", [
    (["tune", "--sizes", "4", "--epochs", "0.5", "--no-progress"], "hyperreg-run"),
    (["grid", *TINY], "hyperreg-grid"),
    (["hoag", "--grid", "0"], "hyperreg-hoag"),
    (["schedules", "--quick", "--hidden", "4", "--steps", "5", "--values", "0.01,0"], "schedules-out"),
], ids=["tune", "grid", "hoag", "schedules"])
def test_the_documented_default_directory_and_nothing_else(argv, default, cwd):
    assert main(argv) == 0
    assert {p.split(os.sep)[0] for p in _files(cwd)} == {default}


def test_a_refused_run_writes_nothing(tmp_path, cwd):
    bad = tmp_path / "bad.npz"
    np.savez(bad, X=np.zeros((10, 2)), y=np.arange(10) + 5)
    assert main(["tune", "--data", f"npz:{bad}", "--out", str(tmp_path / "o")]) == 2
    assert _files(cwd) == [] and not (tmp_path / "o").exists()
    assert json.loads(json.dumps(_files(tmp_path))) == ["bad.npz"]
