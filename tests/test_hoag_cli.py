"""``hyperreg hoag``: the JSON report's keys, the figure, npz input with given splits, bad options → exit 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hyperreg.cli import main

KEYS = {"lam", "val_loss", "test_loss", "test_accuracy", "outer_iterations", "inner_iterations", "seconds",
        "history", "grid"}


def test_breast_cancer_json_and_figure(tmp_path):
    out = tmp_path / "r.json"
    assert main(["hoag", "--data", "breast_cancer", "--model", "logistic", "--grid", "5",
                 "--json", str(out), "--out", str(tmp_path)]) == 0
    report = json.loads(out.read_text())
    assert KEYS <= set(report) and report["lam"]["lam"] > 0 and report["test_accuracy"] > 0.9
    assert report["val_loss"] <= report["grid"]["val_loss"] * 1.01
    assert (tmp_path / "hoag_breast_cancer_logistic.png").stat().st_size > 0


def test_npz_with_given_splits_multiclass(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(90, 3))
    y = np.argmax(X, axis=1)
    path = tmp_path / "d.npz"
    np.savez(path, X=X[:40], y=y[:40], X_val=X[40:65], y_val=y[40:65], X_test=X[65:], y_test=y[65:])
    out = tmp_path / "r.json"
    assert main(["hoag", "--data", f"npz:{path}", "--model", "ridge", "--json", str(out),
                 "--out", str(tmp_path)]) == 0
    report = json.loads(out.read_text())
    assert len(report["lam"]) == 3 and len(report["history"]) == 3  # one-vs-rest: one λ per class


@pytest.mark.parametrize("argv", [["--model", "lasso"], ["--split", "0.5,0.5"], ["--tol-schedule", "linear"],
                                  ["--data", "mnist"], ["--grid", "1"]])
def test_bad_options_exit_2(argv, capsys, tmp_path):
    assert main(["hoag", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("hyperreg hoag: error:") and err.count("\n") == 1


def test_no_figure_in_the_working_directory(tmp_path, monkeypatch):
    """``--json OUT`` without ``--out``: the figure goes beside OUT, nothing lands in the cwd."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    data = tmp_path / "in" / "my data.npz"
    data.parent.mkdir()
    np.savez(data, X=X, y=(X[:, 0] > 0).astype(int))
    cwd, res = tmp_path / "cwd", tmp_path / "res"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    assert main(["hoag", "--data", f"npz:{data}", "--model", "ridge", "--json", str(res / "r.json")]) == 0
    assert list(cwd.iterdir()) == []
    assert sorted(p.name for p in res.iterdir()) == ["hoag_my data_ridge.png", "r.json"]
    assert sorted(p.name for p in data.parent.iterdir()) == ["my data.npz"]
