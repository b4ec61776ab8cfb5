"""Checkpoints: an interrupted and resumed run ends bit-identical to an uninterrupted one."""

from __future__ import annotations

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from hyperreg.checkpoint import load_checkpoint, restore_state, save_checkpoint
from hyperreg.experiments.tune import TuneConfig, build, train, tune

SMALL = dict(sizes=(16,), epochs=2, log_every=5)


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """The machine is shared: BLAS threads beyond one only oversubscribe the cores."""
    with threadpool_limits(1):
        yield


def _strip(history):
    return [{k: v for k, v in r.items() if k != "seconds"} for r in history]


@pytest.mark.parametrize("extra", [dict(), dict(method="clip2", optimizer="momentum", lr=0.01)],
                         ids=["greedy-adam", "clip2-momentum"])
def test_resume_is_bit_identical(tmp_path, extra):
    config = TuneConfig(**SMALL, **extra)
    run = build(config)
    whole = train(run)
    path = tmp_path / "ckpt.pkl"
    first = train(build(config), checkpoint=str(path), checkpoint_every=4, stop_after=13)
    assert first.step == 13  # "killed" after step 13; the checkpoint on disk is step 12's
    doc = load_checkpoint(str(path))
    resumed_run = build(config)
    state = restore_state(doc, resumed_run.tuner)
    assert state.step == 12
    resumed = train(resumed_run, state)
    assert resumed.step == whole.step == run.steps
    np.testing.assert_array_equal(resumed.theta, whole.theta)
    np.testing.assert_array_equal(resumed.lam, whole.lam)
    np.testing.assert_array_equal(resumed.phi, whole.phi)
    for a, b in zip(resumed.opt_state, whole.opt_state):
        np.testing.assert_array_equal(a, b)
    if whole.tangent is not None:
        np.testing.assert_array_equal(resumed.tangent, whole.tangent)
    assert _strip(resumed.history) == _strip(whole.history)


def test_tune_resume_document_matches(tmp_path):
    config = TuneConfig(**SMALL)
    whole = tune(config)
    path = str(tmp_path / "c.pkl")
    tune(config, checkpoint=path, checkpoint_every=5, stop_after=10)
    resumed = tune(None, resume=path)
    for key in ("lambda", "val_loss", "val_error", "test_loss", "test_error"):
        assert resumed[key] == whole[key]
    assert _strip(resumed["history"]) == _strip(whole["history"])
    assert resumed["config"] == whole["config"]


def test_save_is_atomic_and_foreign_files_are_refused(tmp_path):
    run = build(TuneConfig(**SMALL))
    st = run.tuner.init_state(run.theta0, run.lam0)
    path = tmp_path / "c.pkl"
    save_checkpoint(str(path), st, run.config.to_json(), run.tuner.backend)
    assert [p.name for p in tmp_path.iterdir()] == ["c.pkl"]  # no temporary left behind
    bad = tmp_path / "bad.pkl"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="not a hyperreg checkpoint"):
        load_checkpoint(str(bad))
    with pytest.raises(FileNotFoundError):
        load_checkpoint(str(tmp_path / "missing.pkl"))
