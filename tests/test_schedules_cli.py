"""``hyperreg schedules``: a quick run writes the JSON with every method and the figure; bad options exit 2."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hyperreg.cli import main


def test_quick_run_writes_json_with_all_methods_and_the_figure(tmp_path, capsys):
    assert main(["schedules", "--quick", "--seeds", "2", "--out", str(tmp_path)]) == 0
    doc = json.loads((tmp_path / "schedules.json").read_text())
    consts = {f"constant[{v:g}]" for v in doc["settings"]["values"]}
    assert set(doc["methods"]) == consts | {"pull-down", "pull-up", "gap", "greedy", "clip"}
    summ = doc["summary"]
    hidden = [str(h) for h in doc["settings"]["hidden"]]
    assert set(summ["fig1_pull_down_gain"]) == set(hidden) == set(summ["fig3_gap_gain"])
    for h in hidden:
        assert set(summ["fig1_pull_down_gain"][h]) == {str(S) for S in doc["settings"]["steps_per_value"]}
        row = summ["table"][h]
        for m in ("pull-down", "pull-up", "gap", "greedy", "clip"):
            assert len(row[m]["per_seed"]) == 2 and "gain" in row[m] and 0 <= row[m]["mean"] <= 100
    assert all(0 <= r["test_acc"] <= 1 for r in doc["runs"])
    assert (tmp_path / "schedules.png").stat().st_size > 0
    assert "best const" in capsys.readouterr().out


def test_merge_combines_seeds_run_apart(tmp_path, capsys):
    quick = ["schedules", "--quick", "--hidden", "8", "--steps", "10"]
    for seed in (0, 1):
        assert main([*quick, "--seed", str(seed), "--out", str(tmp_path / f"s{seed}")]) == 0
    parts = [str(tmp_path / f"s{seed}" / "schedules.json") for seed in (0, 1)]
    assert main(["schedules", "--merge", *parts, "--out", str(tmp_path / "all")]) == 0
    doc = json.loads((tmp_path / "all" / "schedules.json").read_text())
    assert doc["settings"]["seeds"] == [0, 1] and len(doc["summary"]["table"]["8"]["gap"]["per_seed"]) == 2
    assert main(["schedules", "--merge", parts[0], parts[0], "--out", str(tmp_path / "dup")]) == 2
    assert "more than one document" in capsys.readouterr().err


def test_npz_data(tmp_path):
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 150)
    X = rng.normal(size=(150, 5)) + y[:, None]
    np.savez(tmp_path / "d.npz", X=X, y=y)
    assert main(["schedules", "--quick", "--hidden", "4", "--data", f"npz:{tmp_path / 'd.npz'}",
                 "--out", str(tmp_path)]) == 0
    doc = json.loads((tmp_path / "schedules.json").read_text())
    assert doc["settings"]["data"].startswith("npz:") and len(doc["runs"]) == 14


def test_l_half_penalty_runs(tmp_path):
    assert main(["schedules", "--quick", "--penalty", "lhalf", "--hidden", "8", "--out", str(tmp_path)]) == 0
    doc = json.loads((tmp_path / "schedules.json").read_text())
    assert doc["settings"]["penalty"] == "lhalf" and "clip" in doc["methods"]


@pytest.mark.parametrize("argv, match", [
    (["--penalty", "l3"], "--penalty"),
    (["--values", "0.1,x"], "--values"),
    (["--values", "0.1"], "--values"),
    (["--hidden", "0"], "--hidden"),
    (["--gap", "100,2,0.5"], "--gap"),
    (["--gap", "100,2,0.5,0.01,0.02"], "low ≤ high"),
    (["--seeds", "0"], "--seeds"),
    (["--lr", "-1"], "--lr"),
])
def test_bad_option_is_one_line_and_exit_2(argv, match, capsys, tmp_path):
    assert main(["schedules", "--quick", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert match in err and "\n" not in err and err.startswith("hyperreg schedules: error:")
