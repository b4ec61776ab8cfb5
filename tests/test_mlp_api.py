"""The MLP's contract: names, layout, bad input refused loudly, float32, batch norm, dropout estimate."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fd import host

import hyperreg
from hyperreg import MLP, Noise


def small(be, **kw):
    kw.setdefault("l2", "per-layer")
    net = MLP([3, 4, 5, 2], backend=be, **kw)
    rng = be.rng(0)
    X, y = rng.normal((6, 3)), rng.integers(2, 6)
    return net, net.init_params(0), X, y, rng


def test_hyper_names_per_layer_and_tied():
    net = MLP([3, 4, 5, 2], l2="per-layer", noise="per-layer", dropout="per-layer")
    assert net.hyper_names == ("l2[0]", "l2[1]", "l2[2]", "noise[0]", "noise[1]", "noise[2]",
                               "keep[0]", "keep[1]", "keep[2]")
    tied = MLP([3, 4, 5, 2], l2="tied", noise="tied", dropout="tied")
    assert tied.hyper_names == ("l2", "noise[input]", "noise[hidden]", "keep")
    assert tied.n_hypers == 4 and net.n_hypers == 9


def test_init_hypers_natural_units_in_name_order():
    net = MLP([3, 4, 2], l2="tied", noise="per-layer", dropout="tied")
    lam = net.init_hypers(l2=1e-3, noise=[0.1, 0.2], keep=0.5)
    assert net.hypers_dict(lam) == pytest.approx({"l2": 1e-3, "noise[0]": 0.1, "noise[1]": 0.2, "keep": 0.5})
    lam = net.init_hypers(noise={"noise[0]": 0.3, "noise[1]": 0.0})
    assert net.hypers_dict(lam)["noise[0]"] == pytest.approx(0.3)


def test_flatten_unflatten_roundtrip_and_layout(backend):
    net = MLP([3, 4, 5, 2], batchnorm=True, backend=backend)
    theta = net.init_params(1)
    pairs = net.unflatten(theta)
    assert [tuple(p[0].shape) for p in pairs] == [(3, 4), (4, 5), (5, 2), (4,), (5,)]
    assert net.n_params == 3 * 4 + 4 + 4 * 5 + 5 + 5 * 2 + 2 + 2 * (4 + 5)
    np.testing.assert_array_equal(host(backend, net.flatten(pairs)), host(backend, theta))


def test_tied_equals_per_layer_with_equal_values(backend):
    """Tying is a linear map: the tied mixed term is the sum of the per-layer ones it ties."""
    kw = dict(activation="tanh", backend=backend)
    per, tied = MLP([3, 4, 5, 2], l2="per-layer", noise="per-layer", **kw), MLP(
        [3, 4, 5, 2], l2="tied", noise="tied", **kw)
    rng = backend.rng(3)
    theta, X, y = per.init_params(0), rng.normal((6, 3)), rng.integers(2, 6)
    noise = per.sample_noise(6, rng)
    lp, lt = per.init_hypers(l2=0.1, noise=0.2), tied.init_hypers(l2=0.1, noise=0.2)
    np.testing.assert_allclose(host(backend, per.train_grad(theta, lp, X, y, noise)),
                               host(backend, tied.train_grad(theta, lt, X, y, noise)), rtol=1e-12)
    v = rng.normal((per.n_params,))
    mp, mt = host(backend, per.train_mixed(theta, lp, X, y, noise, v)), host(
        backend, tied.train_mixed(theta, lt, X, y, noise, v))
    np.testing.assert_allclose(mt, [mp[:3].sum(), mp[3], mp[4:].sum()], rtol=1e-12)


def test_float32_runs_in_float32_and_agrees_with_float64(backend):
    out = {}
    for dtype in ("float32", "float64"):
        net = MLP([3, 4, 5, 2], activation="tanh", l2="per-layer", noise="tied", backend=backend, dtype=dtype)
        rng, xp = backend.rng(0), backend.xp

        def draw(shape):  # the same numbers in both dtypes
            return xp.astype(rng.normal(shape), net.dtype)

        theta, X, y = net.init_params(0), draw((6, 3)), rng.integers(2, 6)
        lam, noise = net.init_hypers(), [draw((6, d)) for d in net.sizes[:-1]]
        pt = net.at(theta, lam, X, y, noise)
        v = draw((net.n_params,))
        res = [pt.grad, pt.hvp(v), pt.mixed(v), pt.mixed_jvp(draw((net.n_hypers,)))]
        assert all(r.dtype == net.dtype for r in res), "a float32 computation was upcast"
        out[dtype] = [host(backend, r) for r in res]
    for a, b in zip(out["float32"], out["float64"]):
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=1e-4)


def test_unseeded_directions_vanish(backend):
    net, theta, X, y, rng = small(backend, noise="per-layer")
    lam, noise = net.init_hypers(), net.sample_noise(6, rng)
    pt = net.at(theta, lam, X, y, noise)
    zero = backend.xp.zeros_like(theta)
    assert float(host(backend, backend.xp.max(backend.xp.abs(pt.hvp(zero))))) == 0.0


# --- dropout: the coupled-mask estimate -------------------------------------------------------------


def test_keep_mixed_is_the_coupled_central_difference(backend):
    """Wiring: the estimate equals (vᵀg(p₊) − vᵀg(p₋)) / (p₊ − p₋) with masks from the same uniforms."""
    net, theta, X, y, rng = small(backend, dropout="per-layer", activation="tanh")
    lam, noise = net.init_hypers(keep=0.7), net.sample_noise(6, rng)
    v = rng.normal((net.n_params,))
    mixed = host(backend, net.train_mixed(theta, lam, X, y, noise, v))
    lam_h = host(backend, lam)
    for j, name in enumerate(net.hyper_names):
        if not name.startswith("keep"):
            continue
        p_plus, p_minus = min(lam_h[j] + net.keep_delta, 1.0), max(lam_h[j] - net.keep_delta, lam_h[j] / 2)
        vals = []
        for p in (p_plus, p_minus):
            shifted = lam_h.copy()
            shifted[j] = p
            vals.append(float(host(backend, net.train_grad(theta, backend.asarray(shifted), X, y, noise) @ v)))
        # the same float64 sums up to rounding (~1e-15 apart), amplified by 1/(p₊ − p₋) = 10
        assert mixed[j] == pytest.approx((vals[0] - vals[1]) / (p_plus - p_minus), rel=1e-12, abs=1e-14)


def test_keep_estimate_is_unbiased_for_the_central_difference_of_the_expectation(numpy_backend):
    """E_U[estimate] = (F(p₊) − F(p₋)) / (p₊ − p₋) with F(p) = E_m vᵀg(θ; m ~ Bernoulli(p)), F computed
    exactly by enumerating all masks of a tiny net; the estimate averages N rows of independent masks."""
    be = numpy_backend
    net = MLP([2, 2, 2], activation="tanh", l2=None, dropout="tied", backend=be)
    rng = be.rng(5)
    theta, x, label = net.init_params(2) + 0.3, rng.normal((1, 2)), 1
    v = rng.normal((net.n_params,))
    p = 0.6
    p_plus, p_minus = p + net.keep_delta, p - net.keep_delta

    def F(keep):  # exact expectation over the 4 mask bits (2 input units, 2 hidden units)
        total = 0.0
        for bits in range(16):
            m = [(bits >> i) & 1 for i in range(4)]
            U = [be.asarray([[0.0 if m[0] else 0.999, 0.0 if m[1] else 0.999]]),
                 be.asarray([[0.0 if m[2] else 0.999, 0.0 if m[3] else 0.999]])]
            prob = math.prod(keep if b else 1 - keep for b in m)
            g = net.train_grad(theta, be.asarray([keep]), x, be.asarray([label]), Noise(None, U))
            total += prob * float(g @ v)
        return total

    exact = (F(p_plus) - F(p_minus)) / (p_plus - p_minus)
    n, reps = 4000, 10
    X = be.xp.concat([x] * n)
    ys = be.asarray(np.full(n, label))
    estimates = [float(net.train_mixed(theta, be.asarray([p]), X, ys, net.sample_noise(n, rng), v)[0])
                 for _ in range(reps)]
    mean, se = np.mean(estimates), np.std(estimates, ddof=1) / np.sqrt(reps)
    assert abs(mean - exact) <= 4 * se + 1e-12, f"mean {mean}, exact {exact}, standard error {se}"
    assert se < 0.2 * abs(exact) + 1e-3  # the test has power: the noise is well below the signal


# --- batch norm running averages ------------------------------------------------------------------


def test_batchnorm_running_stats_drive_predict(backend):
    net, theta, X, y, rng = small(backend, batchnorm=True)
    batch_mode = host(backend, net.logits(theta, X))
    net.update_running_stats(theta, X, momentum=1.0)  # running = this batch's statistics
    atol = 1e-12 * np.abs(batch_mode).max()  # the same float64 arithmetic up to rounding: ~1e-15 apart
    np.testing.assert_allclose(host(backend, net.logits(theta, X)), batch_mode, rtol=1e-12, atol=atol)
    single = host(backend, net.logits(theta, X[:1, :]))  # one example: only running stats make sense
    np.testing.assert_allclose(single, batch_mode[:1], rtol=1e-12, atol=atol)
    assert host(backend, net.predict(theta, X)).shape == (6,)


# --- bad input is refused loudly -------------------------------------------------------------------


def test_bad_constructor_arguments():
    with pytest.raises(ValueError, match="activation"):
        MLP([3, 2], activation="sigmoid")
    with pytest.raises(ValueError, match="backend"):
        MLP([3, 2], backend="jax")
    with pytest.raises(ValueError, match="sizes"):
        MLP([3])
    with pytest.raises(ValueError, match=r"sizes\[1\]"):
        MLP([3, 0, 2])
    with pytest.raises(ValueError, match="noise"):
        MLP([3, 2], noise="shared")
    with pytest.raises(ValueError, match="dtype"):
        MLP([3, 2], dtype="float16")


def test_bad_hyperparameters(backend):
    net, theta, X, y, rng = small(backend, noise="per-layer", dropout="tied")
    noise = net.sample_noise(6, rng)
    good = host(backend, net.init_hypers())
    for idx, value, match in [(3, -0.1, "noise"), (6, 0.0, "keep"), (6, 1.5, "keep"), (0, -1.0, "L2"),
                              (0, np.nan, "NaN")]:
        bad = good.copy()
        bad[idx] = value
        with pytest.raises(ValueError, match=match):
            net.train_grad(theta, backend.asarray(bad), X, y, noise)
    with pytest.raises(ValueError, match="lam must have shape"):
        net.train_grad(theta, backend.asarray(good[:-1]), X, y, noise)
    with pytest.raises(ValueError, match="keep-probability"):
        net.init_hypers(keep=0.0)


def test_bad_data(backend):
    net, theta, X, y, rng = small(backend)
    lam = net.init_hypers()
    Xh = host(backend, X)
    for bad in (np.nan, np.inf):
        Xb = Xh.copy()
        Xb[2, 1] = bad
        with pytest.raises(ValueError, match="X contains NaN or Inf"):
            net.train_grad(theta, lam, backend.asarray(Xb), y)
    with pytest.raises(ValueError, match=r"X must have shape \(n, 3\)"):
        net.train_grad(theta, lam, backend.asarray(Xh[:, :2]), y)
    with pytest.raises(ValueError, match=r"labels in \[0, 1\]"):
        net.train_grad(theta, lam, X, backend.asarray(np.array([0, 1, 2, 0, 1, 0])))
    with pytest.raises(ValueError, match="y must have shape"):
        net.train_grad(theta, lam, X, backend.asarray(np.array([0, 1])))
    with pytest.raises(TypeError, match="integer class labels"):
        net.train_grad(theta, lam, X, backend.asarray(np.zeros(6)))
    with pytest.raises(ValueError, match="theta must have shape"):
        net.train_grad(theta[:-1], lam, X, y)
    with pytest.raises(TypeError, match="must be an array"):
        net.train_grad(list(host(backend, theta)), lam, X, y)


def test_wrong_noise(backend):
    net, theta, X, y, rng = small(backend, noise="per-layer")
    lam = net.init_hypers()
    with pytest.raises(ValueError, match="noise must carry 3"):
        net.train_grad(theta, lam, X, y, None)
    good, short = net.sample_noise(6, rng), net.sample_noise(5, rng)
    with pytest.raises(ValueError, match=r"noise\[1\] \(ε\) must have shape \(6, 4\)"):
        net.train_grad(theta, lam, X, y, [good[0], short[1], good[2]])


def test_wrong_dtype_is_refused(backend):
    net, theta, X, y, rng = small(backend, dtype="float32")
    with pytest.raises(TypeError, match="dtype"):
        net.train_grad(theta, net.init_hypers(), rng.normal((6, 3), "float64"), y)


def test_unknown_backend_name():
    with pytest.raises(ValueError, match="backend must be one of"):
        hyperreg.get_backend("tensorflow")
