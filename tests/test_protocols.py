"""The papers' protocol options reach the hyper step: per-kind natural-unit rates, the c·η_t coupling of
ICLR-2018 Algorithm 1, the presets, and the one-line errors (tiny nets on digits)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from hyperreg.cli import main
from hyperreg.cli._tune import add_config_options, config_from_args
from hyperreg.experiments.protocols import PROTOCOLS
from hyperreg.experiments.tune import TuneConfig, build
from hyperreg.hypergrad.forward import ClipR
from hyperreg.hypergrad.greedy import Unroll1GTGV
from hyperreg.optim import SGD, Coupled, PerKind, StepDecay
from hyperreg.tuner import Tuner

SEEN = []  # the hypergradients h the spies below handed to the tuner


@dataclass(frozen=True)
class SpyGTGV(Unroll1GTGV):
    def hypergradient(self, state, step):
        h, state = super().hypergradient(state, step)
        SEEN.append(np.asarray(h, dtype=np.float64).copy())
        return h, state


@dataclass(frozen=True)
class SpyClip(ClipR):
    def hypergradient(self, state, step):
        h, state = super().hypergradient(state, step)
        SEEN.append(np.asarray(h, dtype=np.float64).copy())
        return h, state


@pytest.fixture(autouse=True)
def _setup():
    SEEN.clear()
    with threadpool_limits(1):
        yield


def _host(x):
    return np.asarray(x, dtype=np.float64).copy()


def test_natural_per_kind_sgd_step_is_lambda_minus_rate_times_h():
    """λ_i ← λ_i − r_kind(i) · h_i, in natural units, with Luketina's rates 1e-4 (L2) and 1e-1 (noise)."""
    config = TuneConfig(sizes=(8,), epochs=1, method="unroll1-gtgv", antithetic=False, hyper_optimizer="sgd",
                        hyper_param="natural", hyper_lr={"l2": 1e-4, "noise": 1e-1}, val_batch=50)
    run = build(config)
    tuner = run.tuner
    assert isinstance(tuner.hyper_optimizer, PerKind)
    tuner.method = SpyGTGV(antithetic=False)
    rates = np.array([1e-4 if n.startswith("l2") else 1e-1 for n in run.net.hyper_names])
    st = tuner.init_state(run.theta0, run.lam0)
    for _ in range(4):
        before = _host(st.lam)
        tuner.step(st)
        expected = before - rates * SEEN[-1]
        np.testing.assert_allclose(_host(st.lam), expected, rtol=1e-12, atol=1e-300)
        assert np.all(np.abs(_host(st.lam) - before) > 0)  # every entry moved: the check can fail
    assert len(SEEN) == 4


def test_coupled_hyper_rate_follows_the_elementary_step_decay():
    """Algorithm 1: λ ← λ − c·η_t·h with η_t = StepDecay at the *elementary* step t (every = 2, so the
    hyper-step count would give a different η after the first decay)."""
    run = build(TuneConfig(sizes=(6, 6), reg=("l2",), tied=True, optimizer="sgd", epochs=1, val_batch=50,
                           init={"l2": 0.5}))
    schedule, c = StepDecay(0.2, 3, 0.5), 0.01
    tuner = Tuner(run.problem, SpyClip(5.0), SGD(schedule), SGD(Coupled(c, schedule)), every=2,
                  hyper_param="natural", log_every=100, seed=0)
    st = tuner.init_state(run.theta0, run.lam0)
    rates = []
    for t in range(8):
        before = _host(st.lam)
        tuner.step(st)
        if tuner.hyper_due(t):
            expected = before - c * schedule(t) * SEEN[-1]
            np.testing.assert_allclose(_host(st.lam), expected, rtol=1e-12)
            assert not np.allclose(_host(st.lam), before, rtol=1e-14, atol=0)
            rates.append(c * schedule(t))
    assert rates == [c * 0.2, c * 0.1, c * 0.1, c * 0.05]  # t = 1, 3, 5, 7: η halves at t = 3 and 6


def test_iclr2018_preset_couples_the_hyper_rate_to_thetas_schedule():
    run = build(TuneConfig(**{**PROTOCOLS["iclr2018"], "sizes": (6,), "epochs": 2, "val_batch": 50}))
    hyper, opt = run.tuner.hyper_optimizer, run.tuner.optimizer
    assert run.tuner.hyper_clock == "elementary" and set(run.tuner.param.kinds) == {"identity"}
    for t in (0, run.steps // 2 + 3, run.steps - 1):
        assert hyper.lr(t) == pytest.approx(0.1 * opt.lr(t), rel=1e-15)
    assert opt.lr(run.steps - 1) < 0.5 * opt.lr(0)  # the schedule decays: the coupling is visible


def _parse(argv):
    p = argparse.ArgumentParser()
    add_config_options(p)
    return config_from_args(p.parse_args(argv))


@pytest.mark.parametrize("name", sorted(PROTOCOLS))
def test_presets_set_what_they_claim_and_options_beside_them_win(name):
    config = _parse(["--protocol", name])
    assert config.protocol == name
    for key, value in PROTOCOLS[name].items():
        assert getattr(config, key) == value, key
    assert _parse(["--protocol", name, "--epochs", "7", "--hyper-lr", "0.5"]).epochs == 7
    assert _parse(["--protocol", name, "--hyper-lr", "0.5"]).hyper_lr == 0.5


def test_luketina2016_preset_states_the_papers_numbers():
    config = _parse(["--protocol", "luketina2016"])
    assert (config.hyper_optimizer, config.hyper_param, config.hyper_lr) == ("sgd", "natural",
                                                                           {"l2": 1e-4, "noise": 0.1})
    assert (config.batch, config.val_batch, config.optimizer, config.lr, config.antithetic) == (
        100, 100, "adam", 1e-3, False)
    assert _parse(["--protocol", "luketina2016", "--antithetic"]).antithetic is True
    default = _parse([])
    assert (default.protocol, default.hyper_param, default.coupling) == ("hyperreg", "log", 0)


def test_hyperregs_default_hyper_optimizer_is_unchanged():
    """One rate, no coupling: the ε-free Adam at that rate, as before the protocol options."""
    run = build(TuneConfig(sizes=(6,), epochs=1))
    assert not isinstance(run.tuner.hyper_optimizer, PerKind)
    assert run.tuner.hyper_optimizer.lr == 0.02 and run.tuner.hyper_optimizer.eps == 0.0
    assert run.tuner.hyper_clock == "hyper"


def test_train_size_cuts_t1_only():
    full, cut = build(TuneConfig(sizes=(6,), epochs=1)), build(TuneConfig(sizes=(6,), epochs=1, train_size=200))
    assert cut.problem.subset("train").X.shape[0] == 200 < full.problem.subset("train").X.shape[0]
    assert cut.problem.subset("val").X.shape == full.problem.subset("val").X.shape
    with pytest.raises(ValueError, match="--train-size must be at most"):
        build(TuneConfig(sizes=(6,), epochs=1, train_size=10**6))


@pytest.mark.parametrize("argv, words", [
    (["--hyper-lr", "l2=-1e-4,noise=0.1"], "--hyper-lr must be"),
    (["--hyper-lr", "l2=1e-4"], "no rate for noise"),
    (["--hyper-lr", "l2=abc"], "--hyper-lr must be a number"),
    (["--hyper-param", "exp"], "--hyper-param must be log or natural, got 'exp'"),
    (["--coupling", "0.1"], "use --hyper-optimizer sgd"),
    (["--coupling", "-1", "--hyper-optimizer", "sgd"], "--coupling must be a number ≥ 0, got -1"),
    (["--protocol", "luketina"], "--protocol must be one of"),
    (["--train-size", "-3"], "--train-size must be ≥ 0"),
])
def test_bad_protocol_options_exit_2_with_one_line(argv, words, capsys, tmp_path):
    assert main(["tune", *argv, "--sizes", "4", "--epochs", "1", "--out", str(tmp_path), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1 and "Traceback" not in err
