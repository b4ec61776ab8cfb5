"""Checkpoints: an interrupted and resumed run ends bit-identical to an uninterrupted one."""

from __future__ import annotations

import numpy as np
import pytest

from hyperreg.checkpoint import load_checkpoint, restore_state, save_checkpoint
from hyperreg.experiments.tune import TuneConfig, build, train, tune

SMALL = dict(sizes=(16,), epochs=2, log_every=5)


pytestmark = pytest.mark.usefixtures("one_blas_thread")  # conftest.py


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


# --- the pickle-free format ---------------------------------------------------------------------------------


def _host(x, be):
    return None if x is None else np.asarray(be.to_numpy(x))


def _assert_tree_equal(a, b, be, path="state"):
    """Equal values, types of containers and dtypes of arrays, leaf by leaf."""
    if isinstance(a, (tuple, list)):
        assert type(a) is type(b) and len(a) == len(b), path
        for i, (u, v) in enumerate(zip(a, b)):
            _assert_tree_equal(u, v, be, f"{path}.{i}")
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _assert_tree_equal(a[k], b[k], be, f"{path}.{k}")
    elif a is None or isinstance(a, (bool, int, float, str)):
        assert a == b, path
    else:
        ha, hb = _host(a, be), _host(b, be)
        assert ha.dtype == hb.dtype, path
        np.testing.assert_array_equal(ha, hb, err_msg=path)


BACKENDS = ["numpy", "array_api_strict:device1", "torch", "torch:cuda"]


@pytest.mark.parametrize("backend_name", BACKENDS)
def test_round_trip_every_field_and_the_rng(tmp_path, backend_name):
    lib = pytest.importorskip(backend_name.split(":")[0])
    if backend_name == "torch:cuda" and not lib.cuda.is_available():
        pytest.skip("no CUDA device here")  # the CUDA generator's state is also a CPU uint8 tensor
    import dataclasses

    config = TuneConfig(**SMALL, method="clip2", optimizer="momentum", lr=0.01, backend=backend_name)
    run = build(config)
    st = train(run, stop_after=7)
    path = str(tmp_path / "c.ckpt")
    save_checkpoint(path, st, config.to_json(), run.tuner.backend)
    back = restore_state(load_checkpoint(path), build(config).tuner)
    be = run.tuner.backend
    for f in dataclasses.fields(st):
        if f.name != "rng":
            _assert_tree_equal(getattr(st, f.name), getattr(back, f.name), be, f.name)
    assert st.method_state["tangent"] is not None and st.method_state["tangent_v"] is not None  # forward mode
    # the restored generator continues the saved one's stream
    np.testing.assert_array_equal(_host(st.rng.normal((5,)), be), _host(back.rng.normal((5,)), be))
    np.testing.assert_array_equal(_host(st.rng.permutation(9), be), _host(back.rng.permutation(9), be))


def test_a_new_state_field_round_trips_without_changing_the_serializer(tmp_path, monkeypatch):
    """The serializer walks the dataclass: an extra dict field (name → array or None) needs no code."""
    import dataclasses

    import hyperreg.tuner as tuner_mod

    base = tuner_mod.TunerState

    @dataclasses.dataclass
    class StateWithMethod(base):
        extra_state: dict = dataclasses.field(default_factory=dict)

    monkeypatch.setattr(tuner_mod, "TunerState", StateWithMethod)
    run = build(TuneConfig(**SMALL))
    st0 = run.tuner.init_state(run.theta0, run.lam0)
    be = run.tuner.backend
    st = StateWithMethod(**{f.name: getattr(st0, f.name) for f in dataclasses.fields(base)},
                         extra_state={"q": be.asarray(np.arange(6.0).reshape(2, 3)), "warm": None,
                                       "pair": (be.asarray(np.array([1, 2], np.int64)), 3.5),
                                       "__odd key/": [1, "two"]})
    path = str(tmp_path / "c.ckpt")
    save_checkpoint(path, st, run.config.to_json(), be)
    back = restore_state(load_checkpoint(path), run.tuner)
    assert isinstance(back, StateWithMethod)
    _assert_tree_equal(st.extra_state, back.extra_state, be, "extra_state")


def _saved(tmp_path):
    run = build(TuneConfig(**SMALL))
    st = run.tuner.init_state(run.theta0, run.lam0)
    path = tmp_path / "c.ckpt"
    save_checkpoint(str(path), st, run.config.to_json(), run.tuner.backend)
    return path


def _rewrite(path, change):
    """Rewrite the archive with ``change(members)`` applied (members: name → bytes)."""
    import zipfile

    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    change(members)
    with zipfile.ZipFile(path, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)


def test_the_file_is_an_npz_and_json_and_never_unpickled(tmp_path):
    import json
    import zipfile

    path = _saved(tmp_path)
    with np.load(path, allow_pickle=False) as z:  # a plain npz reader opens it, no pickle allowed
        assert z["theta"].dtype == np.float64
    with zipfile.ZipFile(path) as z:
        doc = json.loads(z.read("checkpoint.json"))
    assert doc["version"] == 2 and doc["state"]["theta"] == {"__array__": "theta"}
    # an object array smuggled in (it would need pickle to load) is refused, even with a valid checksum
    import io

    from hyperreg.checkpoint import _digest

    def smuggle(m):
        buf = io.BytesIO()
        np.save(buf, np.array([{"a": 1}], dtype=object), allow_pickle=True)
        m["theta.npy"] = buf.getvalue()
        m.pop("SHA256")
        m["SHA256"] = _digest(m).encode()

    _rewrite(path, smuggle)
    with pytest.raises(ValueError, match="pickle"):
        load_checkpoint(str(path))


@pytest.mark.parametrize("damage, match", [
    (lambda m: m.update({"theta.npy": m["theta.npy"][:-1] + bytes([m["theta.npy"][-1] ^ 1])}),
     "checksum mismatch"),
    (lambda m: m.update({"checkpoint.json": m["checkpoint.json"].replace(b'"step": 0', b'"step": 9')}),
     "checksum mismatch"),
    (lambda m: m.pop("SHA256"), "not a hyperreg checkpoint"),
], ids=["array-bytes", "json-edited", "no-checksum"])
def test_a_damaged_file_is_refused_with_its_name(tmp_path, damage, match):
    path = _saved(tmp_path)
    _rewrite(path, damage)
    with pytest.raises(ValueError, match=match) as info:
        load_checkpoint(str(path))
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_another_version_and_old_pickles_and_truncated_files_are_refused(tmp_path):
    import pickle

    from hyperreg.checkpoint import _digest

    path = _saved(tmp_path)

    def bump(m):
        m["checkpoint.json"] = m["checkpoint.json"].replace(b'"version": 2', b'"version": 3')
        m.pop("SHA256")
        m["SHA256"] = _digest(m).encode()

    _rewrite(path, bump)
    with pytest.raises(ValueError, match="version 3, this hyperreg reads version 2"):
        load_checkpoint(str(path))
    old = tmp_path / "old.pkl"
    old.write_bytes(pickle.dumps({"format": "hyperreg-checkpoint-1"}))
    with pytest.raises(ValueError, match="not a hyperreg checkpoint.*pickles"):
        load_checkpoint(str(old))
    whole = _saved(tmp_path).read_bytes()
    cut = tmp_path / "cut.ckpt"
    cut.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ValueError, match="cut.ckpt"):
        load_checkpoint(str(cut))


def test_sigkill_mid_run_then_resume_matches_the_uninterrupted_run(tmp_path):
    """A real ``hyperreg tune --checkpoint`` process killed with SIGKILL, resumed in another process."""
    import json
    import os
    import signal
    import subprocess
    import sys
    import time

    from hyperreg.cli import main

    opts = ["--sizes", "8", "--epochs", "40", "--batch", "20", "--no-progress"]
    assert main(["tune", *opts, "--out", str(tmp_path / "whole")]) == 0
    ck = tmp_path / "ck"
    env = dict(os.environ, PYTHONPATH=os.getcwd() + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "hyperreg", "tune", *opts, "--out", str(tmp_path / "killed"),
                             "--checkpoint", str(ck), "--checkpoint-every", "100"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not ck.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()  # killed, not finished
    step = load_checkpoint(str(ck))["state"]["step"]
    assert 0 < step < 2300
    resumed = subprocess.run([sys.executable, "-m", "hyperreg", "tune", "--resume", str(ck), "--no-progress",
                              "--out", str(tmp_path / "resumed")], env=env, capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr

    def read(name):
        doc = json.loads((tmp_path / name / "run.json").read_text())
        doc.pop("seconds"), doc.pop("wall_seconds")
        doc["history"] = _strip(doc["history"])
        return doc

    assert read("resumed") == read("whole")


def test_a_cupy_shaped_rng_state_round_trips(tmp_path):
    """CuPy's ``get_state`` returns JSON-able data or dicts / lists holding host NumPy arrays: that shape
    comes back leaf for leaf, arrays as host arrays of the same dtype (no GPU needed to test the format)."""
    from hyperreg.checkpoint import _decode, _rng_leaf

    state = {"bit_generator": "XORWOW", "seed": 2**63 + 5, "state": np.arange(12, dtype=np.uint64).reshape(3, 4),
             "extra": [np.array([1.5, -2.0], np.float32), None, ("a", 3)]}

    class FakeRNG:
        def get_state(self):
            return state

    run = build(TuneConfig(**SMALL))
    st = run.tuner.init_state(run.theta0, run.lam0)
    st.rng = FakeRNG()
    path = str(tmp_path / "c.ckpt")
    save_checkpoint(path, st, run.config.to_json(), run.tuner.backend)
    doc = load_checkpoint(path)
    back = _decode(doc["rng"], doc["arrays"], _rng_leaf, state)
    _assert_tree_equal(state, back, run.tuner.backend, "rng")
    assert isinstance(back["state"], np.ndarray) and back["state"].dtype == np.uint64
