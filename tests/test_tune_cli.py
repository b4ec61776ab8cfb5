"""``hyperreg tune``, ``grid``, ``random`` and ``rerun`` end to end on digits (small, --quick runs)."""

from __future__ import annotations

import json

import pytest
from threadpoolctl import threadpool_limits

from hyperreg.cli import main
from hyperreg.experiments.baselines import fixed_run
from hyperreg.experiments.tune import RUN_KEYS, TuneConfig

SMALL = ["--sizes", "32", "--no-progress"]


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """The machine is shared: BLAS threads beyond one only oversubscribe the cores."""
    with threadpool_limits(1):
        yield


def _json(path):
    with open(path) as f:
        return json.load(f)


def test_quick_tune_beats_its_bad_initial_lambda(tmp_path, capsys):
    bad = "l2=0.03,noise=1.0"
    assert main(["tune", "--quick", "--init", bad, "--out", str(tmp_path), "--no-progress"]) == 0
    doc = _json(tmp_path / "run.json")
    assert tuple(doc) == RUN_KEYS
    fixed = fixed_run(doc["config"], {"l2": 0.03, "noise": 1.0})
    assert doc["val_loss"] < 0.97 * fixed["val_loss"]  # 15 epochs: θ is far from trained either way
    assert doc["lambda"]["l2[0]"] < 0.3 * 0.03 and doc["lambda"]["noise[0]"] < 0.8  # λ heads to the grid's best
    assert doc["lambda_init"]["l2[0]"] == 0.03
    rec = doc["history"][-1]
    for key in ("val_loss", "val_error", "test_loss", "test_error", "train_ce", "train_error", "lambda"):
        assert key in rec
    assert (tmp_path / "lambda.png").stat().st_size > 0 and (tmp_path / "curves.png").stat().st_size > 0
    out = capsys.readouterr().out
    assert "λ final" in out and "overhead" in out


def test_fixed_run_rerun_and_grid_agree(tmp_path, capsys):
    """At fixed λ the tuned run, its rerun and the grid point are the same training: equal numbers."""
    run_dir, grid_dir = tmp_path / "run", tmp_path / "grid"
    common = ["--epochs", "2", "--init", "l2=1e-4,noise=0.1", *SMALL[:2]]
    assert main(["tune", "--method", "fixed", "--out", str(run_dir), "--no-progress", *common]) == 0
    assert main(["rerun", str(run_dir / "run.json")]) == 0
    assert main(["grid", "--axis", "l2=1e-4,1e-2", "--axis", "noise=0.1", "--out", str(grid_dir), *common]) == 0
    run, rerun, grid = (_json(run_dir / "run.json"), _json(run_dir / "rerun.json"), _json(grid_dir / "grid.json"))
    assert rerun["rerun"]["lambda"] == run["lambda"]
    point = next(p for p in grid["points"] if p["point"] == {"l2": 1e-4, "noise": 0.1})
    for key in ("val_loss", "val_error", "test_loss", "test_error"):
        assert rerun["rerun"][key] == run[key] == point[key]
    assert len(grid["points"]) == 2
    assert grid["best"]["val_loss"] == min(p["val_loss"] for p in grid["points"])


def test_random_search_draws_within_the_axes(tmp_path):
    out = tmp_path / "rand"
    assert main(["random", "--n", "2", "--axis", "l2=1e-5:1e-2:2", "--axis", "noise=0.05:0.5:2", "--epochs", "1",
                 "--jobs", "2", "--out", str(out), *SMALL[:2]]) == 0
    doc = _json(out / "grid.json")
    assert doc["kind"] == "random" and len(doc["points"]) == 2
    for p in doc["points"]:
        assert 1e-5 <= p["point"]["l2"] <= 1e-2 and 0.05 <= p["point"]["noise"] <= 0.5
        assert set(p) >= {"lambda", "val_loss", "val_error", "test_loss", "test_error"}


def test_checkpoint_and_resume_from_the_command_line(tmp_path):
    ck = tmp_path / "ck.pkl"
    args = ["tune", "--epochs", "1", *SMALL]
    assert main([*args, "--out", str(tmp_path / "a"), "--checkpoint", str(ck), "--checkpoint-every", "3"]) == 0
    assert main(["tune", "--resume", str(ck), "--out", str(tmp_path / "b"), "--no-progress"]) == 0
    a, b = _json(tmp_path / "a" / "run.json"), _json(tmp_path / "b" / "run.json")
    assert a["lambda"] == b["lambda"] and a["test_loss"] == b["test_loss"] and a["config"] == b["config"]


@pytest.mark.parametrize("argv, needle", [
    (["tune", "--method", "bogus"], "method must be"),
    (["tune", "--lr", "-0.1"], "--lr must be a positive number"),
    (["tune", "--hyper-lr", "-1"], "--hyper-lr must be a positive number"),
    (["tune", "--init", "l2=-1"], "--init"),
    (["tune", "--init", "nope=1"], "unknown hyperparameter"),
    (["tune", "--reg", "l3"], "--reg"),
    (["tune", "--data", "npz:/no/such/file.npz"], "no such file"),
    (["tune", "--resume", "/no/such/ckpt"], "no such checkpoint"),
    (["tune", "--optimizer", "adam", "--method", "clip5", "--epochs", "1"], "SGD or momentum"),
    (["rerun", "/no/such/run.json"], "no such file"),
    (["grid", "--axis", "l2=abc"], "--axis"),
    (["grid", "--jobs", "0"], "--jobs"),
])
def test_bad_options_give_one_line_and_exit_2(argv, needle, capsys, tmp_path):
    assert main([*argv, "--out", str(tmp_path / "o")] if argv[0] != "rerun" else argv) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert needle in err


def test_config_round_trips_through_json():
    c = TuneConfig(sizes=(10, 5), reg=("l2",), init={"l2": 1e-3}, freeze=("l2",))
    assert TuneConfig.from_json(json.loads(json.dumps(c.to_json()))) == c
