"""Schedules hit their values at the right steps inside the tuner's loop; the gap policy raises λ on an
over-fitting case and lowers it on an under-fitting one; bad settings are refused."""

from __future__ import annotations

import math

import numpy as np
import pytest

import hyperreg
from hyperreg.optim import SGD
from hyperreg.problems.classification import MLPProblem
from hyperreg.schedules import Cosine, Exponential, GapPolicy, Linear, Piecewise, pull_down, pull_up, select


def _problem(n_train=60, hidden=8, noise=None, seed=0, n_val=200):
    from hyperreg.data import load_dataset

    ds = load_dataset("digits", seed=seed)
    net = hyperreg.MLP([64, hidden, 10], l2="per-layer", noise=noise, validate=False)
    y = ds.y_train.astype(np.int64)
    return MLPProblem(net, ds.X_train[:n_train], y[:n_train], ds.X_val[:n_val], ds.y_val[:n_val].astype(np.int64),
                      batch_size=min(50, n_train))


def _lams_used(problem, method, lam0, steps):
    """λ of each elementary step 0 … steps−1 as the tuner's loop reads them."""
    tuner = hyperreg.Tuner(problem, method, SGD(0.1), log_every=10**9)
    st = tuner.init_state(problem.net.init_params(0), lam0)
    seen = []
    for _ in range(steps):
        seen.append(problem.net.backend.to_numpy(st.lam).copy())
        tuner.step(st)
    return np.array(seen)


def test_piecewise_pull_down_hits_each_value_on_its_steps():
    prob = _problem(noise="tied")
    names = prob.hyper_names  # l2[0], l2[1], noise[input], noise[hidden]
    sched = pull_down("l2", [0.001, 0.1, 0.01], steps=3)
    assert sched.values == (0.1, 0.01, 0.001) and pull_up("l2", [0.1, 0.001], 2).values == (0.001, 0.1)
    lam0 = prob.net.init_hypers(l2=0.5, noise=0.2)
    seen = _lams_used(prob, sched, sched.lam_at(names, lam0, 0), 11)
    np.testing.assert_allclose(seen[:, 0], [0.1] * 3 + [0.01] * 3 + [0.001] * 5)
    np.testing.assert_allclose(seen[:, 1], seen[:, 0])  # the kind selects both layers
    np.testing.assert_allclose(seen[:, 2:], 0.2)  # the others are held


def test_piecewise_with_steps_per_value_and_a_single_name():
    sched = Piecewise("l2[1]", (1.0, 2.0, 3.0), steps=(1, 2, 3))
    assert [sched.value(t) for t in range(8)] == [1, 2, 2, 3, 3, 3, 3, 3] and sched.total_steps == 6
    prob = _problem()
    seen = _lams_used(prob, sched, sched.lam_at(prob.hyper_names, prob.net.init_hypers(l2=0.5), 0), 7)
    np.testing.assert_allclose(seen[:, 1], [1, 2, 2, 3, 3, 3, 3])
    np.testing.assert_allclose(seen[:, 0], 0.5)


@pytest.mark.parametrize("cls, mid", [(Linear, 0.505), (Exponential, 0.1), (Cosine, 0.505)])
def test_smooth_schedules_between_two_values(cls, mid):
    sched = cls("l2", 1.0, 0.01, steps=10)
    assert sched.value(0) == pytest.approx(1.0) and sched.value(10) == pytest.approx(0.01)
    assert sched.value(5) == pytest.approx(mid, rel=1e-12) and sched.value(99) == pytest.approx(0.01)
    vals = [sched.value(t) for t in range(11)]
    assert all(a >= b for a, b in zip(vals, vals[1:]))  # monotone from start to end
    prob = _problem()
    seen = _lams_used(prob, sched, sched.lam_at(prob.hyper_names, prob.net.init_hypers(), 0), 12)
    np.testing.assert_allclose(seen[:, 0], [sched.value(t) for t in range(12)], rtol=1e-12)
    if cls is Cosine:
        assert sched.value(1) > Linear("l2", 1.0, 0.01, 10).value(1)  # flat at the start


def _run_policy(prob, policy, lam0, steps):
    tuner = hyperreg.Tuner(prob, policy, SGD(0.1), log_every=10**9)
    res = tuner.run(prob.net.init_params(0), prob.net.init_hypers(l2=lam0), steps)
    return prob.net.backend.to_numpy(res.lam), tuner


def test_gap_policy_raises_lambda_when_overfitting():
    """20 training rows, a wide net: train accuracy 100 %, validation far below → λ goes up at every decision."""
    prob = _problem(n_train=20, hidden=64)
    policy = GapPolicy("l2", every=50, up=2.0, down=0.5, high=0.1, low=0.05)
    lam, tuner = _run_policy(prob, policy, 1e-4, 300)
    assert policy.gap(tuner, prob.net.init_params(0)) < 0.3  # at the start: no gap yet
    np.testing.assert_allclose(lam, 1e-4 * 2.0 ** 6, rtol=1e-12)


def test_gap_policy_lowers_lambda_when_underfitting():
    """λ = 3 flattens the net: train and validation accuracy alike (gap < low) → λ goes down."""
    prob = _problem(n_train=300, hidden=16)
    policy = GapPolicy("l2", every=50, up=2.0, down=0.5, high=0.1, low=0.05, lower=0.5)
    lam, _ = _run_policy(prob, policy, 3.0, 100)  # decisions after steps 49 and 99
    np.testing.assert_allclose(lam, [0.75, 0.75])
    lam, _ = _run_policy(prob, policy, 3.0, 300)
    np.testing.assert_allclose(lam, [0.5, 0.5])  # held at the policy's lower bound


def test_gap_policy_evaluation_batches_are_fixed():
    prob = _problem(n_train=100)
    tuner = hyperreg.Tuner(prob, GapPolicy(eval_size=30, seed=3), SGD(0.1))
    (X1, X2), (Y1, _) = ([b.X for b in tuner.method.eval_batches(tuner)] for _ in range(2))
    assert X1.shape == (30, 64) and X2.shape == (30, 64) and np.array_equal(X1, Y1)
    assert tuner.method.factor(0.5) == 2.0 and tuner.method.factor(0.045) == 1.0 and tuner.method.factor(0) == 0.5


@pytest.mark.parametrize("make, match", [
    (lambda: Piecewise("l2", (), 3), "empty"),
    (lambda: Piecewise("l2", (1.0, 2.0), (3,)), "one positive int per value"),
    (lambda: Exponential("l2", 0.0, 1.0, 10), "start, end > 0"),
    (lambda: Linear("l2", 0.0, 1.0, 0), "positive int"),
    (lambda: GapPolicy(low=0.1, high=0.05), "low ≤ high"),
    (lambda: GapPolicy(up=0.5), "up ≥ 1"),
])
def test_bad_settings_are_refused(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_select_by_name_or_kind():
    names = ("l2[0]", "l2[1]", "l1", "noise[input]")
    assert select(names, "l2") == [0, 1] and select(names, "l2[1]") == [1] and select(names, "l1") == [2]
    with pytest.raises(ValueError, match="selects no hyperparameter"):
        select(names, "dropout")
    assert math.isinf(GapPolicy().upper)
