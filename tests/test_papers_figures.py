"""``hyperreg figure fig456`` (Figs. 4-6 from one set of runs), ``fig7`` (from a grid.json), the sizing
options and the overhead line of ``hyperreg tune``."""

from __future__ import annotations

import json

import pytest

from hyperreg.cli import main
from hyperreg.cli._tune import _overhead_note
from hyperreg.experiments.tune import TuneConfig

pytestmark = pytest.mark.usefixtures("one_blas_thread")  # conftest.py


def _json(path):
    with open(path) as f:
        return json.load(f)


def test_fig456_draws_the_three_figures_from_one_set_of_runs(tmp_path):
    argv = ["figure", "fig456", "--quick", "--epochs", "1", "--sizes", "8", "--inits", "1", "--out", str(tmp_path)]
    assert main(argv) == 0
    rows = [_json(tmp_path / f"fig{i}.json")["rows"] for i in (4, 5, 6)]
    assert len(rows[0]) == 1 and rows[0] == rows[1] == rows[2]
    assert rows[0][0]["fixed_init"] is not None and rows[0][0]["rerun"] is not None
    assert all((tmp_path / f"fig{i}.png").stat().st_size > 0 for i in (4, 5, 6))


def test_fig7_stars_each_metrics_own_minimum(tmp_path, capsys):
    """A hand-made grid where the lowest CE and the lowest error sit at different points."""
    points = [{"point": {"l2": a, "noise": b}, "test_loss": 1.0 + a * 10 + b, "test_error": 0.5 - a - 0.1 * b}
              for a in (0.001, 0.01, 0.1) for b in (0.1, 1.0)]
    grid = tmp_path / "grid.json"
    grid.write_text(json.dumps({"points": points, "config": {}}))
    assert main(["figure", "fig7", "--from-grid", str(grid), "--out", str(tmp_path)]) == 0
    fig = _json(tmp_path / "fig7.json")
    assert fig["argmin_test_loss"] == {"l2": 0.001, "noise": 0.1}
    assert fig["argmin_test_error"] == {"l2": 0.1, "noise": 1.0}
    assert fig["test_error"][1][2] == pytest.approx(0.5 - 0.1 - 0.1)  # z[y index][x index]
    assert (tmp_path / "fig7_test_error.png").stat().st_size > 0


@pytest.mark.parametrize("argv, words", [
    (["fig7"], "give --from-grid"),
    (["fig7", "--from-grid", "/no/such/grid.json"], "no such file"),
    (["recovery", "--inits", "3"], "--inits takes a count"),
    (["fig4", "--grid-points", "3"], "--grid-points takes a count ≥ 2 for fig1"),
    (["fig4", "--methods", "clip5"], "--methods is for table2"),
    (["table2", "--methods", "clip5,nonsense"], "method must be one of"),
])
def test_bad_figure_options_exit_2_with_one_line(argv, words, tmp_path, capsys):
    assert main(["figure", *argv, "--quick", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1


def test_overhead_line_says_what_the_hyper_step_costs():
    default = _overhead_note(TuneConfig())
    assert "every 1 step," in default and "all of T2" in default and "antithetic" in default
    assert "--every 10 --val-batch 100" in default
    cheap = _overhead_note(TuneConfig(every=10, val_batch=100, antithetic=False))
    assert "every 10 steps" in cheap and "minibatch of 100" in cheap and "antithetic" not in cheap
    assert "--every 10" not in cheap
    assert "every 5 steps" in _overhead_note(TuneConfig(method="unroll5", optimizer="sgd"))
