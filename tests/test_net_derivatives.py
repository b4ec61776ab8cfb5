"""Every primitive of a convolutional ``Net`` against central finite differences, end to end, over
Hypothesis-drawn architectures, at the MLP's tolerances (tests/fd.py), on every backend of the fixture.

Drawn: input (C, H, W) with C 1–3 and sides 2–8 (mostly even); one or two Conv layers (1–3 channels,
kernel 1/3/5, stride 1/2, "same"/"valid"), the first followed by a max or average pool (window 2 or 3,
where the sides allow), the second by either or none; maybe a hidden Dense; the Dense logits; each
activation, with and without batch norm, each regularizer (L2, ℓ1, ℓ½, noise, dropout) per-layer, tied or
absent; batch 1–4.

Max-pool ties: the draw is rejected (as for ReLU kinks) when the top two inputs of any max-pool window are
closer than TIE_MARGIN, so no FD step can change a window's arg-max. Windows whose inputs are all exactly 0
are ReLU outputs of pre-activations below −KINK_MARGIN: locally constant, so their tie is harmless and kept.
"""

from __future__ import annotations

import numpy as np
import test_mlp_derivatives as mlp
from fd import assert_close, central, host, norm
from hypothesis import assume, given
from hypothesis import strategies as st
from test_mlp_derivatives import Case, smooth_hyper_direction, unit

import hyperreg
from hyperreg.hypergrad import greedy
from hyperreg.nn import Activation, AvgPool, Conv, Dense, MaxPool

KINK_MARGIN = mlp.KINK_MARGIN
TIE_MARGIN = 1e-3  # as the kink margin: the FD steps move a pool input by far less


@st.composite
def conv_architectures(draw, dropout=True):
    sides = st.sampled_from([4, 6, 8, 2, 3, 5, 7])  # mostly even, so that most convolutions can be pooled
    shape = (draw(st.integers(1, 3)), draw(sides), draw(sides))
    input_shape, layers = shape, []
    for block in range(draw(st.integers(1, 2))):
        k = draw(st.sampled_from([3, 1, 5]))
        padding = draw(st.sampled_from(["same", "valid"]))
        if padding == "valid" and k > min(shape[1:]):
            padding = "same"
        conv = Conv(draw(st.integers(1, 3)), k, stride=draw(st.sampled_from([1, 1, 2])), padding=padding)
        layers.append(conv)
        shape = conv.out_shape(shape)
        pool = draw(st.sampled_from([MaxPool, AvgPool] + ([None] if block else [])))
        windows = [w for w in (2, 3) if shape[1] % w == 0 and shape[2] % w == 0]
        if pool is not None and windows:
            layers.append(pool(draw(st.sampled_from(windows))))
            shape = layers[-1].out_shape(shape)
    if draw(st.booleans()):
        layers.append(Dense(draw(st.integers(1, 6))))
    layers.append(Dense(draw(st.integers(2, 5))))
    batchnorm = draw(st.booleans())
    return dict(input_shape=input_shape, layers=layers, **mlp.draw_settings(draw, batchnorm, dropout, max_batch=4))


def margin(c: Case, theta=None, X=None, y=None, validation=False) -> float:
    """The smallest distance to a non-smooth point: |activation input| (not for tanh) and the gap between
    the top two inputs of each max-pool window (all-zero windows excepted), at the training point or at a
    validation forward (θ, X)."""
    theta = c.theta if theta is None else theta
    sw = (c.net._val_sweep(theta, X, y, check=False) if validation
          else c.net.at(theta, c.lam, c.X, c.y, c.noise).sweep)
    dists = [np.inf]
    for layer, h in zip(sw.layers, sw.inputs):
        h = host(c.net.backend, h)
        if isinstance(layer, Activation) and layer.name != "tanh":
            dists.append(np.min(np.abs(h)))
        if isinstance(layer, MaxPool) and layer.k > 1:
            n, C, H, W = h.shape
            k = layer.k
            w = np.sort(h.reshape(n, C, H // k, k, W // k, k).transpose(0, 1, 2, 4, 3, 5)
                        .reshape(-1, k * k), axis=1)
            gaps = w[:, -1] - w[:, -2]
            dists.append(np.min(np.where(w[:, -1] == 0, np.inf, gaps), initial=np.inf))
    return float(min(dists))


def make_case(be, arch, dtype="float64") -> Case:
    arch = dict(arch)
    batch, seed = arch.pop("batch"), arch.pop("seed")
    net = hyperreg.Net(**arch, backend=be, dtype=dtype)
    rng = be.rng(seed)
    theta = rng.normal((net.n_params,), dtype) * 0.7  # random γ, β and biases: away from the init's symmetry
    lam = net.init_hypers(l2=0.3, noise=0.2, keep=0.8, l1=0.3, lhalf=0.3)
    lam = lam * (0.5 + rng.uniform((net.n_hypers,), dtype) * 0.5)  # distinct entries, still in range
    X = rng.normal((batch, *net.input_shape), dtype)
    y = rng.integers(net.n_classes, batch)
    case = Case(net, theta, lam, X, y, net.sample_noise(batch, rng), rng)
    assume(margin(case) > max(KINK_MARGIN, TIE_MARGIN))
    if arch["batchnorm"]:
        assume(mlp.bn_min_variance(case) > mlp.BN_MIN_VAR)
    return case


@given(arch=conv_architectures())
def test_train_grad_matches_finite_differences(backend, arch):
    mlp.check_grad(backend, make_case(backend, arch))


@given(arch=conv_architectures())
def test_train_hvp_matches_finite_differences_of_the_gradient(backend, arch):
    mlp.check_hvp(backend, make_case(backend, arch))


@given(arch=conv_architectures())
def test_train_hvp_is_symmetric(backend, arch):
    mlp.check_hvp_symmetric(backend, make_case(backend, arch))


@given(arch=conv_architectures())
def test_train_mixed_matches_finite_differences_in_lambda(backend, arch):
    mlp.check_mixed(backend, make_case(backend, arch))


@given(arch=conv_architectures())
def test_train_mixed_jvp_matches_finite_differences_in_lambda(backend, arch):
    mlp.check_mixed_jvp(backend, make_case(backend, arch))


@given(arch=conv_architectures())
def test_mixed_and_mixed_jvp_are_transposes(backend, arch):
    mlp.check_transposes(backend, make_case(backend, arch))


@given(arch=conv_architectures())
def test_joint_jvp_matches_finite_differences_in_theta_and_lambda(backend, arch):
    c = make_case(backend, arch)
    v = unit(backend, c.rng, c.net.n_params)
    pt = c.net.at(c.theta, c.lam, c.X, c.y, c.noise)
    u = smooth_hyper_direction(c) if c.net.n_hypers else None
    got = pt.jvp(v, u)
    lam_dir = 0.0 if u is None else u
    fd = central(lambda s: host(backend, c.net.train_grad(c.theta + s * v, c.lam + s * lam_dir, c.X, c.y,
                                                          c.noise)), 0.0, 1.0)
    assert_close(backend, got, fd, norm(backend, got) + 1, what="jvp vs FD in (θ, λ)")


@given(arch=conv_architectures(dropout=False))
def test_val_grad_matches_finite_differences(backend, arch):
    c = make_case(backend, arch)
    assume(margin(c, c.theta, c.X, c.y, validation=True) > max(KINK_MARGIN, TIE_MARGIN))
    w = unit(backend, c.rng, c.net.n_params)
    g = c.net.val_grad(c.theta, c.X, c.y)
    fd = central(lambda t: host(backend, c.net.val_loss(t, c.X, c.y)), c.theta, w)
    assert_close(backend, g @ w, fd, norm(backend, g) + 1, what="g_Vᵀw")


@given(arch=conv_architectures())
def test_greedy_is_the_derivative_of_the_one_step_validation_loss(backend, arch):
    c = make_case(backend, arch)
    assume(c.net.n_hypers > 0 and set(c.net.blocks) != {"keep"})
    Xv, yv = c.rng.normal(c.X.shape), c.rng.integers(c.net.n_classes, c.X.shape[0])
    lr = 0.3
    theta1 = c.theta - lr * c.net.train_grad(c.theta, c.lam, c.X, c.y, c.noise)
    for theta_v in (c.theta, theta1):
        assume(margin(c, theta_v, Xv, yv, validation=True) > max(KINK_MARGIN, TIE_MARGIN))
    h = greedy(c.net, c.theta, c.lam, (c.X, c.y), c.noise, (Xv, yv), lr, antithetic=False)  # one sample
    u = smooth_hyper_direction(c)

    def one_step_val(lam):
        step = c.theta - lr * c.net.train_grad(c.theta, lam, c.X, c.y, c.noise)
        return host(backend, c.net.val_loss(step, Xv, yv))
    fd = central(one_step_val, c.lam, u)
    assert_close(backend, h @ u, fd, norm(backend, h) + 1, what="greedy")


def test_the_contract_example_runs_and_predicts():
    """The issue's constructor, verbatim, on 8×8 images: shapes of θ, ε, the logits and the predictions."""
    net = hyperreg.Net(input_shape=(1, 8, 8), layers=[Conv(16, 3), MaxPool(2), Conv(32, 3), MaxPool(2),
                                                      Dense(10)],
                       activation="relu", batchnorm=False, l2="per-layer", noise="per-layer", dropout=None,
                       backend="numpy", dtype="float64")
    theta = net.init_params(0)
    pairs = net.unflatten(theta)
    assert [tuple(W.shape) for W, _ in pairs] == [(16, 1, 3, 3), (32, 16, 3, 3), (128, 10)]
    assert list(net.hyper_names) == ["l2[0]", "l2[1]", "l2[2]", "noise[0]", "noise[1]", "noise[2]"]
    X = net.backend.rng(1).normal((5, 1, 8, 8))
    assert [tuple(e.shape) for e in net.sample_noise(5, 0)] == [(5, 1, 8, 8), (5, 16, 4, 4), (5, 128)]
    assert tuple(net.logits(theta, X).shape) == (5, 10)
    assert tuple(net.predict(theta, X).shape) == (5,)
