"""The estimator microscope (``hypergrad.horizon``, ``experiments.compare``): the reference hypergradient is
the closed form on the quadratic toy and a finite difference on the MLP, forward and reverse mode agree,
the reported metrics are what the draws give, and a planted biased estimator is reported as biased."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pytest

import hyperreg
from hyperreg.experiments.compare import STREAMS, CompareConfig, agreement, checkpoint_steps, compare
from hyperreg.experiments.compare_setup import build_setup, lambda_path
from hyperreg.hypergrad import Estimator, Greedy, register
from hyperreg.hypergrad.greedy import greedy_step
from hyperreg.hypergrad.horizon import horizon_forward, horizon_reverse
from hyperreg.hypergrad.registry import make_estimator
from hyperreg.optim import Annealed
from hyperreg.problems.classification import MLPProblem, MLPSample
from hyperreg.problems.quadratic import Quadratic
from hyperreg.testing import TOL, assert_close, directional, host, norm

# --- the reference -------------------------------------------------------------------------------------


def closed_form(q, be, theta0, lam, lr, T):
    """dL_V(θ_T)/dλ for SGD on the toy: θ_T = θ* + a^T(θ_0 − θ*), a = 1 − η(1 + λ)h (a geometric sum), so
    dθ_T/dλ = (dθ*/dλ)(1 − a^T) − T a^{T−1} η h (θ_0 − θ*), with θ* = θ̄/(1 + λ), dθ*/dλ = −θ̄/(1 + λ)²."""
    h, tb, th, t0, lam = (host(be, x) for x in (q.h, q.theta_bar, q.theta_hat, theta0, lam))
    a = 1.0 - lr * (1.0 + lam) * h
    star, dstar = tb / (1.0 + lam), -tb / (1.0 + lam) ** 2
    theta_T = star + a**T * (t0 - star)
    dtheta_T = dstar * (1.0 - a**T) - T * a ** (T - 1) * lr * h * (t0 - star)
    return np.sum(h * (theta_T - th) * dtheta_T, axis=-1, keepdims=True)


@pytest.mark.parametrize("start", ["zero", "random"])
def test_reference_is_the_closed_form_on_the_quadratic(backend, start):
    q = Quadratic.sample_problems(3, 6, 1, backend=backend)
    theta0 = q.zeros_theta() if start == "zero" else q.zeros_theta() + backend.rng(5).normal((3, 6))
    lam, lr, T = q.full_lam(0.3), 2e-3, 300
    fwd = horizon_forward(q, theta0, lam, lr, [None] * T, horizons=(1, 7, 0, T + 5))
    assert sorted(fwd) == [1, 7, T]  # 0 and T + 5 are no horizons of T = 300 steps
    for n, h in fwd.items():
        want = closed_form(q, backend, theta0, lam, lr, n)
        assert_close(backend, h, want, 1 + np.abs(want).max(), 1e-11, f"forward T={n}")
    rev = horizon_reverse(q, theta0, lam, lr, [None] * T)
    want = closed_form(q, backend, theta0, lam, lr, T)
    assert_close(backend, rev, want, 1 + np.abs(want).max(), 1e-11, "reverse")
    assert np.abs(want).min() > 1e-3  # a nonzero target: the comparison can fail


def small_mlp(be, seed=0, T=5, batch=4):
    """A 3-5-3 tanh MLP (no kinks under the FD step), per-layer L2 and noise, T fixed training samples."""
    net = hyperreg.MLP([3, 5, 3], activation="tanh", l2="per-layer", noise="per-layer", backend=be)
    rng = be.rng(seed)
    data = [(rng.normal((batch, 3)), rng.integers(3, batch)) for _ in range(T + 1)]
    problem = MLPProblem(net, *data[0], *data[-1], batch_size=batch)
    samples = [MLPSample(X, y, net.sample_noise(batch, rng)) for X, y in data[:-1]]
    theta = net.init_params(seed) + 0.3 * rng.normal((net.n_params,))
    lam = net.init_hypers(l2=0.05, noise=0.3) * (0.5 + rng.uniform((net.n_hypers,)))
    return problem, theta, lam, samples


def test_reverse_equals_forward_on_a_small_mlp(backend):
    problem, theta, lam, samples = small_mlp(backend)
    fwd = horizon_forward(problem, theta, lam, 0.3, samples, problem.val_sample(), horizons=(2,))
    rev = horizon_reverse(problem, theta, lam, 0.3, samples, problem.val_sample())
    assert fwd[5].shape == rev.shape == lam.shape
    assert_close(backend, rev, fwd[5], 1 + norm(backend, fwd[5]), 1e-12, "reverse vs forward")
    rev2 = horizon_reverse(problem, theta, lam, 0.3, samples[:2], problem.val_sample())
    assert_close(backend, rev2, fwd[2], 1 + norm(backend, fwd[2]), 1e-12, "reverse vs forward at T = 2")


def test_reference_is_the_finite_difference_of_unrolled_sgd(numpy_backend):
    be = numpy_backend
    problem, theta, lam, samples = small_mlp(be, seed=3)
    rates, vs = [0.3, 0.25, 0.2, 0.1, 0.05], problem.val_sample()  # a schedule: one η per step

    def val_after(lam_):
        th = theta
        for s, eta in zip(samples, rates):
            th = th - eta * problem.train_grad(th, lam_, s)
        return host(be, problem.val_loss(th, vs))

    u = be.rng(9).normal((problem.n_hypers,))
    fd = directional(val_after, lam, u)
    for h in (horizon_reverse(problem, theta, lam, rates, samples, vs),
              horizon_forward(problem, theta, lam, rates, samples, vs)[5]):
        got = float(host(be, h) @ host(be, u))
        assert abs(got - fd) <= TOL * norm(be, u) * (abs(got) + 1), (got, fd)
    with pytest.raises(ValueError, match="one learning rate per sample"):
        horizon_reverse(problem, theta, lam, rates[:3], samples, vs)


# --- the metrics ---------------------------------------------------------------------------------------


def test_agreement_of_a_scaled_and_a_shifted_estimate():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(6, 3)) + np.array([2.0, -1.0, 0.5])
    twice = agreement(2 * ref, ref)
    assert twice["cosine"] == pytest.approx(1.0) and twice["rel_error"] == pytest.approx(1.0)
    assert twice["sign_agreement"] == [1.0, 1.0, 1.0]
    same = agreement(ref, ref)
    assert same["rel_error"] == 0.0 and same["biased"] == [False] * 3
    flipped = agreement(-ref, ref)
    assert flipped["cosine"] == pytest.approx(-1.0) and flipped["sign_agreement"] == [0.0] * 3
    shifted = agreement(ref + np.array([0.0, 5.0, 0.0]), ref)
    np.testing.assert_allclose(shifted["bias"], [0.0, 5.0, 0.0], atol=1e-12)
    assert shifted["biased"] == [False, True, False]
    noisy = agreement(ref + 0.1 * rng.normal(size=ref.shape), ref)  # zero-mean error: no bias at 3 se
    assert noisy["biased"] == [False] * 3


def recompute(est, ref):
    """The metrics from the draws, written independently of ``agreement`` (one draw at a time)."""
    cos = [float(np.dot(e, r) / math.sqrt(np.dot(e, e) * np.dot(r, r))) for e, r in zip(est, ref)]
    rel = [float(math.sqrt(np.sum((e - r) ** 2) / np.dot(r, r))) for e, r in zip(est, ref)]
    signs = [float(np.mean([(e[j] > 0) == (r[j] > 0) for e, r in zip(est, ref)])) for j in range(len(ref[0]))]
    return np.mean(cos), np.std(cos), np.mean(rel), signs


QUICK_MLP = dict(problem="mlp", sizes=(8,), train_rows=200, val_rows=100, steps=12, checkpoints=2, horizon=4,
                 draws=3, horizons=(1, 2), estimators=("greedy", "unroll2", "clip5", "exact", "ift"))


@pytest.fixture(scope="module")
def mlp_doc():
    return compare(CompareConfig(**QUICK_MLP, mode="both"))


def test_reported_metrics_are_what_the_draws_give(mlp_doc):
    doc = mlp_doc
    assert [r["step"] for r in doc["checkpoints"]] == doc["setup"]["checkpoint_steps"] == [1, 11]
    for rec in doc["checkpoints"]:
        ref = np.array(rec["reference"]["draws"])
        assert ref.shape == (3, len(doc["setup"]["hyper_names"]))
        np.testing.assert_allclose(rec["reference"]["mean"], ref.mean(axis=0), rtol=1e-12)
        assert rec["reference"]["reverse_rel_diff"] < 1e-10  # mode both: forward and reverse cross-checked
        for name, e in rec["estimators"].items():
            est = np.array(e["draws"])
            cos, cos_sd, rel, signs = recompute(est, ref)
            assert e["cosine"] == pytest.approx(cos, rel=1e-12)
            assert e["cosine_std"] == pytest.approx(cos_sd, abs=1e-12)
            assert e["rel_error"] == pytest.approx(rel, rel=1e-12)
            assert e["sign_agreement"] == pytest.approx(signs)
            np.testing.assert_allclose(e["mean"], est.mean(axis=0), rtol=1e-12)
            np.testing.assert_allclose(e["std"], est.std(axis=0), rtol=1e-12, atol=1e-300)
            assert e["seconds"] > 0
    assert set(doc["cost"]) == set(QUICK_MLP["estimators"])


@pytest.mark.parametrize("anneal", [False, True])
def test_estimates_are_replayed_from_the_same_state_and_draws(anneal):
    """Both checkpoints by hand: θ after c SGD steps of the run's stream (η_t annealed or not), then the
    draws of T samples and a validation sample from the draw stream; greedy and the reference from them,
    the reference's T steps at η_c … η_{c+T−1}."""
    cfg = CompareConfig(**{**QUICK_MLP, "estimators": ("greedy", "unroll2")}, anneal=anneal)
    doc = compare(cfg)
    setup = build_setup(cfg)
    prob, be = setup.problem, setup.problem.backend
    eta = Annealed(setup.lr, 6, 12, 0.1) if anneal else (lambda t: setup.lr)
    theta, lam = setup.theta0, setup.lam_at(0)
    run, draws = be.rng(cfg.seed + STREAMS["run"]), be.rng(cfg.seed + STREAMS["draws"])
    t = 0
    for rec in doc["checkpoints"]:
        for t in range(t, rec["step"]):
            theta = theta - eta(t) * prob.train_grad(theta, lam, prob.sample(run))
        t = rec["step"]
        for d in range(cfg.draws):
            samples = [prob.sample(draws) for _ in range(cfg.horizon)]
            vs = prob.val_sample(draws)
            ref = horizon_reverse(prob, theta, lam, [eta(t + i) for i in range(cfg.horizon)], samples, vs)
            np.testing.assert_allclose(rec["reference"]["draws"][d], host(be, ref), rtol=1e-10)
            g = greedy_step(prob, theta, lam, samples[0], vs, eta(t))
            np.testing.assert_allclose(rec["estimators"]["greedy"]["draws"][d], host(be, g), rtol=1e-12)
    assert anneal == (eta(11) != setup.lr)  # the second checkpoint is in the annealed half


# --- planted estimators --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Planted(Estimator):
    """c · (the reference itself, recomputed from the step: the toy is deterministic) + shift."""

    horizon: int = 5
    c: float = 1.0
    shift: float = 0.0

    def hypergradient(self, state, s):
        h = horizon_forward(s.problem, s.theta, s.lam, s.lr, [None] * self.horizon)[self.horizon]
        return self.c * h + self.shift, state


register(r"test-planted-(\d+)x(\d+)", lambda c, shift: Planted(5, float(c), float(shift)))
register("test-greedy-single", lambda: Greedy(antithetic=False))


def test_planted_biased_estimators_are_reported_biased():
    doc = compare(CompareConfig(problem="quadratic", dim=5, steps=30, checkpoints=3, horizon=5, draws=2,
                                estimators=("test-planted-1x0", "test-planted-2x0", "test-planted-1x3")))
    for rec in doc["checkpoints"]:
        ref = rec["reference"]["mean"][0]
        copy, twice, shifted = (rec["estimators"][n] for n in ("test-planted-1x0", "test-planted-2x0",
                                                                "test-planted-1x3"))
        assert copy["rel_error"] == pytest.approx(0.0, abs=1e-12) and copy["biased"] == [False]
        assert twice["cosine"] == pytest.approx(1.0) and twice["rel_error"] == pytest.approx(1.0)
        assert twice["biased"] == [True] and twice["bias"][0] == pytest.approx(ref)
        assert shifted["biased"] == [True] and shifted["bias"][0] == pytest.approx(3.0)
        assert shifted["rel_error"] == pytest.approx(3.0 / abs(ref))


def test_single_sample_greedy_is_the_unbiased_horizon_one_reference():
    """Over random minibatches and noise, greedy with one noise sample is the T = 1 reference draw by draw:
    no bias; twice it is reported biased where the reference's mean is clear of its noise (the L2 rows; the
    noise rows' mean is within a few standard errors of 0 over 4 draws, so doubling it is not detectable)."""
    register("test-greedy-single-2x", lambda: Doubled())
    doc = compare(CompareConfig(**{**QUICK_MLP, "horizon": 1, "horizons": (), "draws": 4,
                                   "estimators": ("test-greedy-single", "test-greedy-single-2x")}))
    l2 = [i for i, n in enumerate(doc["setup"]["hyper_names"]) if n.startswith("l2")]
    for rec in doc["checkpoints"]:
        single, double = rec["estimators"]["test-greedy-single"], rec["estimators"]["test-greedy-single-2x"]
        assert np.std(np.array(single["draws"])[:, 0]) > 0  # the draws differ
        assert single["rel_error"] < 1e-10 and single["biased"] == [False] * len(single["bias"])
        assert all(double["biased"][i] for i in l2) and double["rel_error"] == pytest.approx(1.0)


@dataclass(frozen=True)
class Doubled(Estimator):
    def hypergradient(self, state, s):
        h, state = Greedy(antithetic=False).hypergradient(state, s)
        return 2.0 * h, state


# --- the run ----------------------------------------------------------------------------------------------


def test_checkpoints_are_hyper_steps_of_every_estimator():
    ests = [make_estimator(n) for n in ("greedy", "unroll5", "unroll2")]
    cps = checkpoint_steps(100, 5, ests)
    assert cps == sorted(set(cps)) and all((c + 1) % 10 == 0 for c in cps) and cps[0] == 9 and cps[-1] == 99


def test_lambda_path_follows_the_history(tmp_path):
    setup = build_setup(CompareConfig(problem="quadratic", dim=3))
    path = tmp_path / "run.json"
    path.write_text(json.dumps({"lambda_init": {"lam": 0.1}, "history": [{"step": 5, "lambda": {"lam": 0.2}},
                                                                         {"step": 9, "lambda": {"lam": 0.4}}]}))
    lam_at = lambda_path(str(path), setup.problem)
    assert [float(host(None, lam_at(t))[0]) for t in (0, 4, 5, 8, 9, 100)] == [0.1, 0.1, 0.2, 0.2, 0.4, 0.4]
    path.write_text(json.dumps({"lambda_init": {"l2": 0.1}, "history": []}))
    with pytest.raises(ValueError, match="lambda-path"):
        lambda_path(str(path), setup.problem)
