"""``hyperreg tune --arch``: a convolutional net tuned like the MLP, on digits as 8×8 images (tiny runs)."""

from __future__ import annotations

import json

import pytest

from hyperreg.cli import main
from hyperreg.experiments.tune import TuneConfig, build
from hyperreg.nn import AvgPool, Conv, Dense, MaxPool
from hyperreg.nn.arch import arch_input_shape, parse_arch

ARCH = "c4k3-mp2-d10"


pytestmark = pytest.mark.usefixtures("one_blas_thread")  # conftest.py


def test_the_arch_spelling_gives_the_layers():
    layers = parse_arch("c16k3-mp2-c32k5s2v-ap2-d64-d10")
    assert [repr(layer) for layer in layers] == [repr(x) for x in (
        Conv(16, 3), MaxPool(2), Conv(32, 5, stride=2, padding="valid"), AvgPool(2), Dense(64), Dense(10))]
    assert arch_input_shape(layers, (8, 8)) == (1, 8, 8)
    assert arch_input_shape(layers, (3, 32, 32)) == (3, 32, 32)
    assert arch_input_shape(parse_arch("d32-d10"), (8, 8)) == (64,)


@pytest.mark.parametrize("spec, needle", [
    ("c16k3-pool-d10", "'pool' is not a layer"),
    ("c16k4-d10", "needs an odd kernel"),
    ("c16k3-mp0-d10", "needs a positive integer window"),
    ("c16k3-mp2", "must end in a dense layer"),
    ("", "non-empty string"),
])
def test_a_bad_arch_is_one_clear_error(spec, needle):
    with pytest.raises(ValueError, match=needle):
        parse_arch(spec)


def test_the_cnn_run_tunes_and_reruns(tmp_path, capsys):
    """tune --arch on digits: λ per parametrized layer, the images enter as (n, 1, 8, 8), the rerun
    replays the same net, and the summary names the arch."""
    out = tmp_path / "run"
    argv = ["tune", "--arch", ARCH, "--epochs", "2", "--reg", "l2,noise,dropout", "--no-progress"]
    assert main([*argv, "--out", str(out)]) == 0
    with open(out / "run.json") as f:
        doc = json.load(f)
    assert doc["config"]["arch"] == ARCH
    assert set(doc["lambda"]) == {"l2[0]", "l2[1]", "noise[0]", "noise[1]", "keep[0]", "keep[1]"}
    assert doc["lambda"] != doc["lambda_init"]  # the tuner moved λ
    assert f"CNN {ARCH}" in capsys.readouterr().out
    run = build(TuneConfig.from_json(doc["config"]))
    assert tuple(run.problem.X_train.shape[1:]) == (1, 8, 8)
    assert run.net.input_shape == (1, 8, 8)
    assert main(["rerun", str(out / "run.json")]) == 0


@pytest.mark.parametrize("argv, needle", [
    (["--arch", "c4k3-zz-d10"], "'zz' is not a layer"),
    (["--arch", "c4k3-mp2-d7"], "--arch must end in d10 for the 10 classes of digits"),
    (["--arch", "c4k3-mp3-d10"], "MaxPool(3) needs the image sides divisible by 3, got 8×8"),
    (["--arch", ARCH, "--sizes", "32"], "not both"),
])
def test_bad_arch_options_give_one_line_and_exit_2(argv, needle, capsys, tmp_path):
    assert main(["tune", *argv, "--epochs", "1", "--no-progress", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert needle in err and len(err.splitlines()) == 1


def test_a_cnn_run_resumes_bit_identical(tmp_path):
    """Checkpoint after step 8 of a conv run with dropout and batch norm, resume: the same θ, λ and history."""
    from hyperreg.experiments.tune import tune

    config = TuneConfig(arch=ARCH, epochs=1, batch=100, batchnorm=True, reg=("l2", "noise", "dropout"),
                        log_every=4)
    whole = tune(config)
    path = str(tmp_path / "c.pkl")
    tune(config, checkpoint=path, checkpoint_every=4, stop_after=10)
    resumed = tune(None, resume=path)
    for key in ("lambda", "val_loss", "val_error", "test_loss", "test_error"):
        assert resumed[key] == whole[key]
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in whole["history"]]
    assert [{k: v for k, v in r.items() if k != "seconds"} for r in resumed["history"]] == strip
