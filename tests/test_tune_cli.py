"""``hyperreg tune``, ``grid``, ``random`` and ``rerun`` end to end on digits (small, --quick runs)."""

from __future__ import annotations

import json

import pytest

from hyperreg.cli import main
from hyperreg.experiments.baselines import fixed_run
from hyperreg.experiments.tune import RUN_KEYS, TuneConfig

SMALL = ["--sizes", "32", "--no-progress"]


pytestmark = pytest.mark.usefixtures("one_blas_thread")  # conftest.py


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


# --- divergence and memory ------------------------------------------------------------------------------


def test_a_diverging_run_stops_names_step_and_lambda_and_keeps_the_last_good_checkpoint(tmp_path, capsys):
    """L2 = 5 with SGD at η = 1 multiplies θ by about −4 per step: it overflows within a few hundred steps
    (a far too high hyper-lr alone does not diverge here: λ is clipped to its bounds and greedy lowers L2)."""
    import numpy as np

    from hyperreg.checkpoint import load_checkpoint

    ck, out = tmp_path / "ck", tmp_path / "out"
    rc = main(["tune", "--sizes", "8", "--epochs", "10", "--batch", "20", "--optimizer", "sgd", "--lr", "1",
               "--init", "l2=5", "--hyper-lr", "1e-6", "--checkpoint", str(ck), "--checkpoint-every", "20",
               "--no-progress", "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1, err
    assert "diverged at step" in err and "l2[0]" in err and str(ck) in err
    doc = json.loads((out / "run.json").read_text())
    step = doc["diverged"]["step"]
    assert 0 < step < 575 and doc["diverged"]["lambda"]["l2[0]"] > 1 and doc["config"]["lr"] == 1
    saved = load_checkpoint(str(ck))
    assert 0 < saved["state"]["step"] <= step
    assert all(np.isfinite(a).all() for a in saved["arrays"].values())  # the last good state, not a NaN one
    assert main(["rerun", str(out / "run.json")]) == 2 and "diverged" in capsys.readouterr().err


def test_a_state_that_would_not_fit_is_refused_before_allocation(monkeypatch, capsys):
    import hyperreg._checks as chk
    from hyperreg.experiments.guards import state_nbytes
    from hyperreg.experiments.tune import build
    from hyperreg.mlp import MLP

    clip = TuneConfig(sizes=(16,), method="clip5", optimizer="sgd", lr=0.1, epochs=1)
    greedy = clip.replace(method="greedy")
    n_params, n_hypers = 64 * 16 + 16 + 16 * 10 + 10, 4
    need = state_nbytes(clip, n_params, n_hypers, 8)
    assert need >= n_params * n_hypers * 8 and state_nbytes(greedy, n_params, n_hypers, 8) < 0.5 * need
    monkeypatch.setattr(chk, "available_memory", lambda: need)  # the tangent alone is more than 80 % of it
    build(greedy)  # fits
    monkeypatch.setattr(MLP, "init_params", lambda *a, **k: pytest.fail("θ was allocated before the check"))
    with pytest.raises(chk.StateTooLargeError, match=r"--method clip5 on 1210 parameters × 4 hyperparameters "
                                                     r"\(float64\) needs .* MiB, but only .* MiB"):
        build(clip)
    assert main(["tune", "--sizes", "16", "--method", "clip5", "--optimizer", "sgd", "--lr", "0.1",
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs" in err and "--sizes" in err


def test_state_nbytes_counts_the_tangent_the_tuner_allocates():
    from hyperreg.experiments.guards import state_nbytes
    from hyperreg.experiments.tune import build

    config = TuneConfig(sizes=(8,), method="clip2", optimizer="momentum", lr=0.01, epochs=1)
    run = build(config)
    st = run.tuner.init_state(run.theta0, run.lam0)
    ms = st.method_state
    allocated = sum(a.nbytes for a in (st.theta, ms["tangent"], ms["tangent_v"], *st.opt_state))
    assert allocated <= state_nbytes(config, run.net.n_params, run.net.n_hypers, 8) <= 3 * allocated
