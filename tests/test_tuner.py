"""The online loop: determinism, hyper-step cadence, divergence reported, forward tangents exact."""

from __future__ import annotations

import numpy as np
import pytest

import hyperreg
from hyperreg import DivergenceError
from hyperreg.hypergrad import ClipR, Discounted, Estimator, ExactKStep, UnrollK
from hyperreg.hypergrad.forward import unroll
from hyperreg.optim import SGD, Adam, Momentum
from hyperreg.problems import MLPProblem
from hyperreg.tuner import IFT, Fixed, Greedy, Tuner, Unroll1GTGV, parse_method


def problem(be, batch=8, **kw):
    kw.setdefault("l2", "per-layer")
    kw.setdefault("noise", "tied")
    net = hyperreg.MLP([5, 6, 3], activation="tanh", backend=be, **kw)
    rng = be.rng(0)
    X, Xv = rng.normal((40, 5)), rng.normal((20, 5))
    y = be.asarray((be.to_numpy(X[:, 0]) > 0).astype(np.int64) + (be.to_numpy(X[:, 1]) > 1))
    yv = be.asarray((be.to_numpy(Xv[:, 0]) > 0).astype(np.int64))
    return MLPProblem(net, X, y, Xv, yv, batch_size=batch), net


def run(prob, net, method="greedy", steps=30, seed=0, **kw):
    kw.setdefault("log_every", 10)
    tuner = Tuner(prob, method, seed=seed, **kw)
    return tuner, tuner.run(net.init_params(0), net.init_hypers(l2=1e-3, noise=0.1), steps)


def test_runs_are_bit_identical_for_equal_seeds(backend):
    prob, net = problem(backend)
    a, b = run(prob, net, seed=3)[1], run(prob, net, seed=3)[1]
    np.testing.assert_array_equal(backend.to_numpy(a.theta), backend.to_numpy(b.theta))
    np.testing.assert_array_equal(backend.to_numpy(a.lam), backend.to_numpy(b.lam))
    strip = [{k: v for k, v in r.items() if k != "seconds"} for r in a.history]
    assert strip == [{k: v for k, v in r.items() if k != "seconds"} for r in b.history]
    c = run(prob, net, seed=4)[1]
    assert not np.array_equal(backend.to_numpy(a.theta), backend.to_numpy(c.theta))


def test_history_records_every_interval(numpy_backend):
    prob, net = problem(numpy_backend)
    _, res = run(prob, net, steps=25, log_every=10)
    assert [r["step"] for r in res.history] == [10, 20, 25]
    rec = res.history[-1]
    assert set(rec) >= {"step", "lambda", "train_loss", "val_loss", "val_error", "seconds"}
    assert list(rec["lambda"]) == list(net.hyper_names)
    assert 0 <= rec["val_error"] <= 1 and rec["train_loss"] > 0


def test_fixed_keeps_lambda_and_greedy_moves_it_every_k(numpy_backend):
    prob, net = problem(numpy_backend)
    lam0 = net.hypers_dict(net.init_hypers(l2=1e-3, noise=0.1))
    tuner, res = run(prob, net, "fixed")
    assert res.history[-1]["lambda"] == pytest.approx(lam0, rel=1e-12)
    assert res.state.hyper_steps == 0
    tuner, res = run(prob, net, "greedy", steps=30, every=4, warmup=6)
    assert res.state.hyper_steps == len([t for t in range(30) if t >= 6 and (t + 1 - 6) % 4 == 0])
    assert res.history[-1]["lambda"] != pytest.approx(lam0, rel=1e-6)


@pytest.mark.parametrize("momentum", [None, 0.8])
def test_forward_tangent_in_the_tuner_is_the_exact_unrolled_one(numpy_backend, momentum):
    """With a zero hyper learning rate λ stays put, and the tuner's Y must equal ``unroll``'s."""
    prob, net = problem(numpy_backend)
    opt = SGD(0.05) if momentum is None else Momentum(0.05, mu=momentum)
    tuner = Tuner(prob, "exact", optimizer=opt, hyper_optimizer=SGD(0.0), seed=5, log_every=100)
    theta0, lam0 = net.init_params(0), net.init_hypers(l2=1e-3, noise=0.1)
    res = tuner.run(theta0, lam0, 6)
    rng = numpy_backend.rng(5)
    samples = [prob.sample(rng) for _ in range(6)]
    theta, Y = unroll(prob, theta0, lam0, samples, 0.05, momentum=momentum)
    np.testing.assert_allclose(res.theta, theta, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(res.state.tangent, Y, rtol=1e-10, atol=1e-14)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")  # the overflow is the point of the test
def test_divergence_is_reported_with_step_and_lambda(numpy_backend):
    prob, net = problem(numpy_backend)
    tuner = Tuner(prob, "greedy", optimizer=SGD(1e6), log_every=2, seed=0)
    with pytest.raises(DivergenceError, match=r"diverged at step \d+.*λ = \{'l2\[0\]'") as info:
        tuner.run(net.init_params(0), net.init_hypers(l2=1e-3, noise=0.1), 200)
    assert info.value.step is not None and "l2[0]" in info.value.lam
    assert isinstance(info.value.history, list)


def test_adam_with_forward_methods_is_refused(numpy_backend):
    prob, _ = problem(numpy_backend)
    with pytest.raises(ValueError, match="SGD or momentum"):
        Tuner(prob, "clip5", optimizer=Adam(1e-3))


@pytest.mark.parametrize("name,expected", [
    ("fixed", Fixed()), ("greedy", Greedy()), ("greedy-fast", Greedy(True)), ("unroll1-gtgv", Unroll1GTGV()),
    ("gtgv", Unroll1GTGV()), ("unroll5", UnrollK(5)), ("clip2.5", ClipR(2.5)), ("exact", ExactKStep()),
    ("discounted0.99", Discounted(0.99)), ("discounted", Discounted()), ("ift", IFT()),
    ("ift-neumann", IFT(solver="neumann")), (" Clip5 ", ClipR(5.0)),
])
def test_parse_method(name, expected):
    assert parse_method(name) == expected
    assert parse_method(expected) is expected  # estimators pass through


def test_parse_method_refuses_unknown():
    with pytest.raises(ValueError, match="method must be"):
        parse_method("bayesopt")
    with pytest.raises(ValueError):
        Tuner(problem(hyperreg.get_backend("numpy"))[0], "greedy", every=0)


def test_gradient_free_methods_propose_lambda(numpy_backend):
    prob, net = problem(numpy_backend)

    class Double:  # a toy schedule: doubles λ every 10 steps
        def propose(self, tuner, st, point):
            return st.lam * 2 if st.step % 10 == 9 else None

    _, res = run(prob, net, Double(), steps=30)
    assert res.history[-1]["lambda"]["l2[0]"] == pytest.approx(8e-3)


def test_ift_method_is_the_warm_started_implicit_hypergradient(numpy_backend):
    """One hyper step of the IFT method equals ift_hypergradient at (θ_t, λ_t) on the same sample."""
    from hyperreg.hypergrad import ift_hypergradient
    from hyperreg.tuner import IFT

    prob, net = problem(numpy_backend)
    method = IFT(maxiter=50, tol=1e-12, damping=0.5)
    tuner = Tuner(prob, method, hyper_optimizer=SGD(1.0), seed=2, log_every=100)
    theta0, lam0 = net.init_params(0), net.init_hypers(l2=1e-3, noise=0.1)
    res = tuner.run(theta0, lam0, 1)
    sample = prob.sample(numpy_backend.rng(2))
    want = ift_hypergradient(prob, theta0, lam0, sample, prob.val_sample(None), maxiter=50, tol=1e-12,
                             damping=0.5)
    grad_phi = tuner.param.grad_phi(lam0, want.h)  # SGD(1.0) on φ = log λ: φ₁ = φ₀ − ∂L/∂φ
    np.testing.assert_allclose(res.state.phi, tuner.param.to_phi(lam0) - grad_phi, rtol=1e-10)
    np.testing.assert_allclose(res.state.method_state["q"], want.q, rtol=1e-8, atol=1e-14)


@pytest.mark.parametrize("antithetic", [True, False])
def test_greedy_hyper_step_uses_the_antithetic_pair_estimate(numpy_backend, antithetic):
    """With hyper-SGD(1) on φ = log λ the first hyper step reveals h = (φ₀ − φ₁)/λ₀: it is greedy_step's
    estimate on the tuner's own draws, over the pair (ε, −ε) or the single sample."""
    from hyperreg.hypergrad import greedy_step

    be = numpy_backend
    prob, net = problem(be, l2="per-layer", noise="per-layer")
    theta, lam = net.init_params(0), net.init_hypers(l2=1e-3, noise=0.1)
    tuner = Tuner(prob, Greedy(antithetic=antithetic), SGD(0.05), SGD(1.0), log_every=10, seed=5)
    st = tuner.init_state(theta, lam)
    phi0 = be.to_numpy(st.phi).copy()
    tuner.step(st)
    h_tuner = (phi0 - be.to_numpy(st.phi)) / be.to_numpy(lam)
    rng = be.rng(5)
    sample = prob.sample(rng)
    h = be.to_numpy(greedy_step(prob, theta, lam, sample, prob.val_sample(rng), 0.05, antithetic=antithetic))
    np.testing.assert_allclose(h_tuner, h, rtol=1e-9, atol=1e-15)
    other = be.to_numpy(greedy_step(prob, theta, lam, sample, prob.val_sample(rng), 0.05,
                                    antithetic=not antithetic))
    noise = net.blocks["noise"].slice
    assert not np.allclose(other[noise], h[noise], rtol=1e-6)  # the pair changes the noise rows
    np.testing.assert_allclose(other[net.blocks["l2"].slice], h[net.blocks["l2"].slice], rtol=1e-12)


class Counting(Estimator):
    """h = 0, recording the steps t of its hyper steps (the cadence, seen from inside an estimator)."""

    def __init__(self, every=1, warmup=0):
        self.every, self.warmup, self.calls = every, warmup, []

    def hypergradient(self, state, step):
        self.calls.append(len(self.calls))
        return 0.0 * step.lam, state


@pytest.mark.parametrize("every,warmup,first", [(10, 5, 14), (10, 0, 9), (1, 0, 0), (3, 2, 4)])
def test_one_cadence_first_hyper_step_after_a_full_window(numpy_backend, every, warmup, first):
    """Warm-up w, every k: hyper steps at t = w + k − 1, w + 2k − 1, … — the estimator's own settings or
    the tuner's, and the same in the quadratic experiment (which runs on this tuner)."""
    prob, net = problem(numpy_backend)
    want = [t for t in range(40) if t >= warmup and (t + 1 - warmup) % every == 0]
    assert want[0] == first
    for tuner in (Tuner(prob, Counting(every, warmup)), Tuner(prob, Counting(), every=every, warmup=warmup)):
        assert [t for t in range(40) if tuner.hyper_due(t)] == want
        res = tuner.run(net.init_params(0), net.init_hypers(l2=1e-3, noise=0.1), 40)
        assert res.state.hyper_steps == len(want) == len(tuner.method.calls)


def test_unrollk_hyper_steps_every_k_and_resets_its_tangent(numpy_backend):
    prob, net = problem(numpy_backend)
    tuner = Tuner(prob, "unroll3", optimizer=SGD(0.05), seed=1)
    st = tuner.init_state(net.init_params(0), net.init_hypers(l2=1e-3, noise=0.1))
    for t in range(6):
        tuner.step(st)
        zero = not np.any(st.method_state["tangent"])
        assert zero == (t % 3 == 2) and st.hyper_steps == (t + 1) // 3


def test_divergence_is_checked_at_the_record_not_inside_the_step(numpy_backend):
    """λ = NaN mid-run: the step goes on (no host read there); the next record raises."""
    prob, net = problem(numpy_backend)
    tuner = Tuner(prob, "fixed", log_every=5)
    st = tuner.init_state(net.init_params(0), net.init_hypers(l2=1e-3, noise=0.1))
    tuner.step(st)
    st.lam = st.lam * np.nan
    tuner.step(st)
    with pytest.raises(DivergenceError, match="diverged at step 2"):
        tuner.record(st)
    assert not np.isfinite(Tuner(prob, "fixed", check_finite=False).record(st)["val_loss"])


@pytest.mark.filterwarnings("ignore::hyperreg.ConvergenceWarning")  # IFT's short online solves
@pytest.mark.parametrize("method", ["ift", "unroll3", "avg"])
def test_estimator_state_survives_a_checkpoint(numpy_backend, tmp_path, method):
    """The estimator's state (IFT's warm start q, UnrollK's tangent mid-window, a user's running mean) is
    saved and restored with the rest: the resumed run ends bit-identical."""
    from hyperreg.checkpoint import load_checkpoint, restore_state, save_checkpoint

    class Avg(Estimator):
        def init_state(self, problem, theta, momentum=None):
            return {"avg": None, "count": 0}

        def hypergradient(self, state, s):
            g = s.point.mixed(s.problem.val_grad(s.theta, s.val_sample))
            avg = g if state["avg"] is None else 0.5 * (state["avg"] + g)
            return avg, {"avg": avg, "count": state["count"] + 1}

    prob, net = problem(numpy_backend)
    make = (lambda: Tuner(prob, Avg(), SGD(0.05), log_every=4, seed=1)) if method == "avg" else (
        lambda: Tuner(prob, method, SGD(0.05), log_every=4, seed=1))
    theta0, lam0 = net.init_params(0), net.init_hypers(l2=1e-3, noise=0.1)
    whole = make().run(theta0, lam0, 12).state
    path = str(tmp_path / "ckpt.pkl")
    save_checkpoint(path, make().run(theta0, lam0, 12, stop_after=7).state, {}, numpy_backend)
    tuner = make()
    resumed = tuner.run(None, None, 12, state=restore_state(load_checkpoint(path), tuner)).state
    np.testing.assert_array_equal(resumed.theta, whole.theta)
    np.testing.assert_array_equal(resumed.lam, whole.lam)
    assert set(resumed.method_state) == set(whole.method_state)
    for k, v in whole.method_state.items():
        np.testing.assert_array_equal(resumed.method_state[k], v)
