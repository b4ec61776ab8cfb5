"""``hyperreg quadratic``: a quick run writes the JSON for every method and the figure; problems load
from an .npz; a bad option exits with status 2 and a one-line message."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hyperreg.cli import main
from hyperreg.experiments.quadratic import ALL_METHODS


def test_quick_run_writes_json_for_every_method_and_the_figure(tmp_path, capsys):
    out = tmp_path / "q.json"
    assert main(["quadratic", "--quick", "--methods", "all", "--json", str(out), "--out", str(tmp_path)]) == 0
    doc = json.loads(out.read_text())
    n = len(doc["lam_star"])
    assert n >= 1 and set(doc["methods"]) == set(ALL_METHODS)
    for r in doc["methods"].values():
        assert {k: len(v) for k, v in r.items()} == dict.fromkeys(
            ("lam_phase1", "lam_phase2", "dLV_phase1", "dLV_phase2"), n)
        assert all(v is None or np.isfinite(v) for v in r["lam_phase2"])  # null: diverged (gtgv's big step)
    assert all(np.isfinite(doc["methods"]["clip5"]["lam_phase2"]))
    assert (tmp_path / "quadratic_lambda.png").stat().st_size > 0
    printed = capsys.readouterr().out
    assert "clip5" in printed and "|λ1−λ*|" in printed


def test_problems_from_npz(tmp_path):
    rng = np.random.default_rng(0)
    h, bar = 0.5 + rng.random((2, 3)), rng.normal(size=(2, 3))
    path, out = tmp_path / "p.npz", tmp_path / "q.json"
    np.savez(path, h=h, theta_bar=bar, theta_hat=bar / 1.3)  # λ* = 0.3 exactly
    assert main(["quadratic", "--problems", str(path), "--steps", "50", "--methods", "clip5",
                 "--json", str(out)]) == 0
    np.testing.assert_allclose(json.loads(out.read_text())["lam_star"], [0.3, 0.3])


@pytest.mark.parametrize("argv, match", [
    (["--methods", "unrol5"], "--methods: method must be one of fixed, greedy"),
    (["--methods", "unroll0"], "UnrollK.K must be a positive integer"),
    (["--steps", "ten"], "--steps"),
    (["--lr", "1e-3,-1"], "--lr"),
    (["--hyper-lr-scale", "0"], "--hyper-lr-scale"),
    (["--problems", "/nonexistent.npz"], "no such file"),
    (["--n-problems", "0"], "--n-problems"),
])
def test_bad_option_is_one_line_and_exit_2(argv, match, capsys):
    assert main(["quadratic", "--quick", *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and match in err and err.startswith("hyperreg quadratic: error:")


def test_npz_missing_array_is_reported(tmp_path, capsys):
    path = tmp_path / "bad.npz"
    np.savez(path, h=np.ones((2, 3)), theta_bar=np.ones((2, 3)))
    assert main(["quadratic", "--problems", str(path)]) == 2
    assert "theta_hat" in capsys.readouterr().err
