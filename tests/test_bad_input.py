"""Every bad input — a malformed data file or a bad value of any CLI option — ends with exit status 2 and one
line on stderr naming the argument, never a traceback and never a silent run (Hypothesis draws the values)."""

from __future__ import annotations

import contextlib
import io
import os
import string
import tempfile

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hyperreg.cli import main

FEW = settings(max_examples=int(os.environ.get("HYPERREG_BAD_INPUT_EXAMPLES", "3")), deadline=None)
TUNE = ["--sizes", "4", "--epochs", "0.5", "--batch", "5", "--no-progress"]


def _call(argv):
    """(exit status, stderr, what it wrote) of ``hyperreg ARGV`` run in-process in a fresh temporary cwd."""
    cwd, err = os.getcwd(), io.StringIO()
    with tempfile.TemporaryDirectory() as tmp:
        os.chdir(tmp)
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                rc = main([a.replace("{tmp}", tmp) for a in argv])
        finally:
            os.chdir(cwd)
        written = sorted(os.listdir(tmp))
    return rc, err.getvalue(), written


def _assert_refused(rc, err, written, *names):
    lines = err.strip().splitlines()
    assert rc == 2, f"exit {rc}, stderr {err!r}"
    assert len(lines) == 1 and "Traceback" not in err, err
    assert any(n in lines[0] for n in names), f"{lines[0]!r} names none of {names}"
    assert "run.json" not in written and "grid.json" not in written


# --- malformed data files -------------------------------------------------------------------------------


def _valid(rng, explicit):
    """A good 3-class data set: X (40, 5) float, labels 0, 1, 2 all present (and explicit T2 / test splits)."""
    def split(n):
        return rng.normal(size=(n, 5)), np.arange(n) % 3

    X, y = split(40)
    arrays = {"X": X, "y": y}
    if explicit:
        arrays["X_val"], arrays["y_val"] = split(12)
        arrays["X_test"], arrays["y_test"] = split(12)
    return arrays


def _pick(arrays, draw):
    return draw(st.sampled_from([k for k in ("", "_val", "_test") if "X" + k in arrays]))


def _missing_key(a, draw):
    a.pop(draw(st.sampled_from(sorted(a))))


def _wrong_rank(a, draw):
    s = _pick(a, draw)
    if draw(st.booleans()):
        a["X" + s] = a["X" + s][:, 0]
    else:
        a["y" + s] = a["y" + s][:, None]


def _length_mismatch(a, draw):
    s = _pick(a, draw)
    a["y" + s] = a["y" + s][: -draw(st.integers(1, 3))]


def _width_mismatch(a, draw):
    s = draw(st.sampled_from(["_val", "_test"]))
    a["X" + s] = a["X" + s][:, : draw(st.integers(1, 4))]


def _not_finite(a, draw):
    s = _pick(a, draw)
    X = a["X" + s].copy()
    X[draw(st.integers(0, len(X) - 1)), draw(st.integers(0, 4))] = draw(st.sampled_from([np.nan, np.inf, -np.inf]))
    a["X" + s] = X


def _empty_split(a, draw):
    s = _pick(a, draw)
    a["X" + s], a["y" + s] = a["X" + s][:0], a["y" + s][:0]


def _one_class(a, draw):
    c = draw(st.integers(0, 2))
    for s in ("", "_val", "_test"):
        if "y" + s in a:
            a["y" + s] = np.full_like(a["y" + s], c)


def _non_contiguous(a, draw):
    shift = draw(st.integers(1, 7))
    for s in ("", "_val", "_test"):
        if "y" + s in a:
            a["y" + s] = a["y" + s] + shift


def _object_array(a, draw):
    key = draw(st.sampled_from(["X", "y"]))
    a[key] = np.array([{"row": i} for i in range(len(a[key]))], dtype=object)


DEFECTS = {f.__name__[1:]: f for f in (_missing_key, _wrong_rank, _length_mismatch, _width_mismatch, _not_finite,
                                       _empty_split, _one_class, _non_contiguous, _object_array)}


def _write(path, arrays):
    np.savez(path, **arrays, allow_pickle=True) if any(v.dtype == object for v in arrays.values()) else \
        np.savez(path, **arrays)


@pytest.mark.parametrize("defect", sorted(DEFECTS) + ["random_bytes", "truncated"])
@FEW
@given(data=st.data())
def test_malformed_data_file_is_refused(defect, data, tmp_path_factory):
    path = tmp_path_factory.mktemp("data") / "bad.npz"
    rng = np.random.default_rng(data.draw(st.integers(0, 2**16), label="seed"))
    explicit = defect in ("width_mismatch",) or data.draw(st.booleans(), label="explicit splits")
    arrays = _valid(rng, explicit)
    if defect == "random_bytes":
        path.write_bytes(data.draw(st.binary(min_size=0, max_size=400), label="bytes"))
    elif defect == "truncated":
        _write(path, arrays)
        whole = path.read_bytes()
        path.write_bytes(whole[: data.draw(st.integers(0, len(whole) - 1), label="cut")])
    else:
        DEFECTS[defect](arrays, data.draw)
        _write(path, arrays)
    rc, err, written = _call(["tune", "--data", f"npz:{path}", *TUNE, "--out", "{tmp}/out"])
    _assert_refused(rc, err, written, str(path))
    assert not os.path.exists(path.parent / "out")


@pytest.mark.parametrize("explicit", [False, True])
def test_the_undamaged_file_trains(explicit, tmp_path):
    """The control: the files above differ from a good one only by their defect."""
    path = tmp_path / "good.npz"
    _write(path, _valid(np.random.default_rng(0), explicit))
    rc, err, written = _call(["tune", "--data", f"npz:{path}", *TUNE, "--out", "{tmp}/out"])
    assert rc == 0, err
    assert written == ["out"]


# --- every CLI option family ------------------------------------------------------------------------------

letters = st.text(string.ascii_letters, min_size=1, max_size=8)
non_numeric = letters.filter(lambda s: s.lower() not in ("nan", "inf", "infinity"))
nonfinite = st.sampled_from(["nan", "inf", "-inf", "1e999"])
neg_int = st.integers(-10**6, -1).map(str)
nonpos_int = st.integers(-10**6, 0).map(str)
nonpos_float = st.floats(max_value=0.0, allow_nan=False, allow_infinity=False).map(repr)
neg_float = st.floats(max_value=-1e-300, allow_nan=False, allow_infinity=False).map(repr)


def unknown(*known):
    return letters.filter(lambda s: s.lower() not in known)


KNOWN_NAMES = ("digits", "mnist", "cifar", "svhn", "npz", "breast", "relu", "tanh", "adam", "sgd", "momentum",
               "numpy", "torch", "cupy", "fixed", "greedy", "exact", "ift", "l", "noise", "dropout", "ridge",
               "logistic", "quadratic", "cubic", "exponential", "loky", "dask", "ray", "threading", "sequential",
               "gtgv", "lhalf")
name = unknown(*KNOWN_NAMES)
G = ["--sizes", "4", "--epochs", "0.5", "--batch", "5", "--axis", "l2=1e-3", "--out", "{tmp}/out"]
T = [*TUNE, "--out", "{tmp}/out"]
H = ["--grid", "0", "--out", "{tmp}/out"]
Q = ["--quick", "--steps", "5", "--n-problems", "1"]
S = ["--quick", "--out", "{tmp}/out"]

OPTIONS = [  # (command and its good options, the option, a strategy of bad values)
    *[(["tune", *T], o, st.one_of(nonpos_float, nonfinite, non_numeric))
      for o in ("--epochs", "--lr", "--hyper-lr")],
    (["tune", *T], "--hyper-eps", st.one_of(neg_float, nonfinite, non_numeric)),
    # digits (the default data): T1 has 1150 examples, T2 288
    (["tune", *T], "--batch", st.one_of(nonpos_int, non_numeric, st.integers(1151, 10**6).map(str))),
    (["tune", *T], "--val-batch", st.one_of(neg_int, non_numeric, st.integers(289, 10**6).map(str))),
    *[(["tune", *T], o, st.one_of(neg_int, non_numeric))
      for o in ("--every", "--warmup", "--log-every", "--checkpoint-every", "--seed")],
    (["tune", *T], "--sizes", st.one_of(nonpos_int.map(lambda v: f"4,{v}"), non_numeric, st.just(","))),
    (["tune", *T], "--init", st.one_of(neg_float.map(lambda v: f"l2={v}"), nonfinite.map(lambda v: f"noise={v}"),
                                       name.map(lambda v: f"{v}=0.1"), non_numeric)),
    *[(["tune", *T], o, name) for o in ("--freeze", "--reg", "--method", "--activation", "--optimizer",
                                        "--hyper-optimizer", "--backend", "--dtype", "--data")],
    (["tune", *T], "--method", st.one_of(nonpos_int.map(lambda v: f"unroll{v}"),
                                         nonfinite.map(lambda v: f"clip{v}"))),
    (["tune", *T], "--resume", st.just("{tmp}/no-such-checkpoint")),
    (["grid", *G], "--axis", st.one_of(neg_float.map(lambda v: f"l2={v}"), non_numeric.map(lambda v: f"l2={v}"),
                                       name.map(lambda v: f"{v}=0.1"),
                                       nonpos_int.map(lambda v: f"l2=1e-3:1:{v}"))),
    (["grid", *G], "--jobs", st.one_of(st.integers(-10**6, -2).map(str), st.just("0"), non_numeric)),
    (["grid", *G], "--joblib-backend", name),
    (["random", *G], "--n", st.one_of(nonpos_int, non_numeric)),
    (["random", *G], "--lr", st.one_of(nonpos_float, nonfinite, non_numeric)),
    (["figure", "fig4", "--quick", "--out", "{tmp}/out"], "--jobs", st.one_of(st.just("0"), non_numeric)),
    *[(["hoag", *H], o, name) for o in ("--model", "--tol-schedule", "--data")],
    (["hoag", *H], "--split", st.one_of(non_numeric, st.just("0.5,0.5"),
                                        nonpos_float.map(lambda v: f"{v},0.5,0.5"))),
    (["hoag", *H], "--seed", st.one_of(neg_int, non_numeric)),
    (["hoag", *H], "--grid", st.one_of(neg_int, st.just("1"))),
    (["quadratic", *Q], "--methods", name),
    *[(["quadratic", *Q], o, st.one_of(nonpos_int, non_numeric)) for o in ("--n-problems", "--dim", "--steps")],
    *[(["quadratic", *Q], o, st.one_of(nonpos_float, nonfinite, non_numeric))
      for o in ("--lr", "--hyper-lr-scale")],
    (["quadratic", *Q], "--lam0", st.one_of(nonfinite, non_numeric)),
    (["quadratic", *Q], "--backend", name),
    (["quadratic", *Q], "--seed", neg_int),
    *[(["schedules", *S], o, st.one_of(nonpos_int, non_numeric)) for o in ("--hidden", "--steps", "--seeds",
                                                                          "--threads")],
    *[(["schedules", *S], o, st.one_of(nonpos_float, nonfinite, non_numeric)) for o in ("--lr", "--hyper-lr")],
    (["schedules", *S], "--values", st.one_of(non_numeric, nonfinite.map(lambda v: f"0.1,{v}"),
                                              neg_float.map(lambda v: f"0.1,{v}"))),
    (["schedules", *S], "--gap", st.one_of(non_numeric, st.just("1,2"),
                                           nonpos_int.map(lambda v: f"{v},1.5,0.5,0.1,0"))),
    (["schedules", *S], "--penalty", name),
    (["schedules", *S], "--data", name),
    (["schedules", *S], "--seed", neg_int),
    (["demo"], "--backend", name),
    (["demo"], "--seed", st.one_of(neg_int, non_numeric)),
]


@pytest.mark.parametrize("base, option, values", OPTIONS,
                         ids=[f"{b[0]}{o}-{i}" for i, (b, o, _) in enumerate(OPTIONS)])
@FEW
@given(data=st.data())
def test_bad_option_value_is_refused(base, option, values, data):
    value = data.draw(values, label=option)
    rc, err, written = _call([*base, f"{option}={value}"])
    bare = option.lstrip("-")
    _assert_refused(rc, err, written, option, bare, bare.replace("-", "_"))


def test_unknown_command_and_option_are_one_line():
    for argv in (["nosuch"], ["tune", "--nosuch", "1"], ["figure", "fig9"], ["rerun"]):
        rc, err, _ = _call(argv)
        assert rc == 2 and len(err.strip().splitlines()) == 1, (argv, err)
