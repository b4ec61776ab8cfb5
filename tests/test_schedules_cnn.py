"""``hyperreg schedules --arch``: Lu's schedules on a CNN ({h} the width axis); bad arch exits 2, one line."""

from __future__ import annotations

import json

import pytest

from hyperreg.cli import main
from hyperreg.experiments import schedules


def test_setup_builds_the_cnn_with_h_filled_in():
    s = schedules.Settings(arch="c{h}k3-mp2-d10", hidden=(3,)).validate()
    prob, net, (X_test, y_test) = schedules._setup(s, 3, 0)
    W, b = net.unflatten(net.init_params(0))[0]
    assert net.input_shape == (1, 8, 8) and tuple(W.shape) == (3, 1, 3, 3)  # digits as 8×8 images
    assert net.n_params == 3 * 9 + 3 + 3 * 4 * 4 * 10 + 10
    assert tuple(X_test.shape[1:]) == (1, 8, 8) and net.blocks.keys() == {"l2"}  # one tied L2, no noise


def test_val_batch_reaches_the_problem(tmp_path):
    s = schedules.Settings(arch="c{h}k3-mp2-d10", hidden=(3,), val_batch=16).validate()
    assert schedules._setup(s, 3, 0)[0].val_batch_size == 16
    assert schedules._setup(schedules.Settings(hidden=(3,)), 3, 0)[0].val_batch_size is None  # 0: all of T2
    assert main(["schedules", "--quick", "--hidden", "3", "--steps", "3", "--values", "0.01,0", "--val-batch",
                 "16", "--out", str(tmp_path)]) == 0
    assert json.loads((tmp_path / "schedules.json").read_text())["settings"]["val_batch"] == 16


def test_quick_cnn_run_has_every_method_per_width(tmp_path):
    argv = ["schedules", "--quick", "--arch", "c{h}k3-mp2-d10", "--hidden", "2,3", "--steps", "4",
            "--values", "0.01,0", "--out", str(tmp_path)]
    assert main(argv) == 0
    doc = json.loads((tmp_path / "schedules.json").read_text())
    assert doc["settings"]["arch"] == "c{h}k3-mp2-d10" and set(doc["summary"]["table"]) == {"2", "3"}
    assert {r["hidden"] for r in doc["runs"]} == {2, 3} and len(doc["runs"]) == 2 * 7
    assert all(0 <= r["test_acc"] <= 1 for r in doc["runs"])


def test_arch_without_h_runs_once_labelled_by_its_first_width(tmp_path):
    assert main(["schedules", "--quick", "--arch", "c5k3-mp2-d10", "--steps", "3", "--values", "0.01,0",
                 "--out", str(tmp_path)]) == 0
    doc = json.loads((tmp_path / "schedules.json").read_text())
    assert doc["settings"]["hidden"] == [5] and {r["hidden"] for r in doc["runs"]} == {5}


@pytest.mark.parametrize("argv, match", [
    (["--arch", "c4k3-mp2-d10", "--hidden", "2,3"], "{h}"),
    (["--arch", "c{h}k3-zz-d10"], "'zz' is not a layer"),
    (["--arch", "c{h}k3-mp2-d7"], "d10"),
    (["--val-batch", "-1"], "--val-batch"),
])
def test_bad_arch_is_one_line_and_exit_2(argv, match, capsys, tmp_path):
    assert main(["schedules", "--quick", "--steps", "2", "--values", "0.01,0", "--out", str(tmp_path), *argv]) == 2
    err = capsys.readouterr().err.strip()
    assert match in err and "\n" not in err and err.startswith("hyperreg schedules: error:")
