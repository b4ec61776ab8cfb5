"""Every MLP derivative against central finite differences, over Hypothesis-drawn architectures.

Drawn: 1–4 hidden layers of widths 1–16, batch 1–8, each activation, with and without batch norm,
each regularizer (L2, ℓ1, ℓ½, noise, dropout) in per-layer, tied or absent form. float64, on every backend
of the fixture.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from fd import assert_close, central, host, norm
from hypothesis import assume, given
from hypothesis import strategies as st

import hyperreg
from hyperreg.hypergrad import greedy, unroll1_gtgv
from hyperreg.nn import Activation, BatchNorm

MODES = ["per-layer", "tied", None]
KINK_MARGIN = 1e-3  # ReLU-like inputs closer than this to 0 could flip under the FD step
BN_MIN_VAR = 1e-2  # batch variances near BN's ε make the function nearly singular: FD is meaningless there
# ℓ1/ℓ½ smoothing ε drawn here: ψ′ varies on the scale ε, so FD_STEP must stay ≪ ε (test_penalties.py checks
# the default ε = 1e-3 itself with an ε-scaled step)
PENALTY_EPS = [0.05, 0.3]


@dataclass
class Case:
    net: object
    theta: object
    lam: object
    X: object
    y: object
    noise: object
    rng: object


def draw_settings(draw, batchnorm, dropout, max_batch):
    """The drawn settings every architecture strategy shares: activation, regularizer modes, batch, seed."""
    return dict(
        activation=draw(st.sampled_from(["relu", "leaky_relu", "tanh"])),
        batchnorm=batchnorm,
        l2=draw(st.sampled_from(MODES)),
        l1=draw(st.sampled_from(MODES)),
        lhalf=draw(st.sampled_from(MODES)),
        penalty_eps=draw(st.sampled_from(PENALTY_EPS)),
        noise=draw(st.sampled_from(MODES)),
        dropout=draw(st.sampled_from(MODES)) if dropout else None,
        batch=draw(st.integers(2 if batchnorm else 1, max_batch)),
        seed=draw(st.integers(0, 2**20)),
    )


@st.composite
def architectures(draw, dropout=True):
    n_hidden = draw(st.integers(1, 4))
    widths = draw(st.lists(st.integers(1, 16), min_size=n_hidden, max_size=n_hidden))
    sizes = [draw(st.integers(1, 16)), *widths, draw(st.integers(2, 6))]
    batchnorm = draw(st.booleans())
    return dict(sizes=sizes, **draw_settings(draw, batchnorm, dropout, max_batch=8))


def make_case(be, arch, dtype="float64") -> Case:
    arch = dict(arch)
    batch, seed = arch.pop("batch"), arch.pop("seed")
    net = hyperreg.MLP(**arch, backend=be, dtype=dtype)
    rng = be.rng(seed)
    theta = rng.normal((net.n_params,), dtype) * 0.7  # random γ, β and biases: away from the init's symmetry
    lam = net.init_hypers(l2=0.3, noise=0.2, keep=0.8, l1=0.3, lhalf=0.3)
    lam = lam * (0.5 + rng.uniform((net.n_hypers,), dtype) * 0.5)  # distinct entries, still in range
    X = rng.normal((batch, net.sizes[0]), dtype)
    y = rng.integers(net.sizes[-1], batch)
    case = Case(net, theta, lam, X, y, net.sample_noise(batch, rng), rng)
    if arch["activation"] != "tanh":
        assume(kink_distance(case) > KINK_MARGIN)
    if arch["batchnorm"]:
        assume(bn_min_variance(case) > BN_MIN_VAR)
    return case


def bn_min_variance(c: Case) -> float:
    """Smallest batch variance entering a batch-norm layer (s = (var + ε)^(−½) blows up below ~ε)."""
    sw = c.net.at(c.theta, c.lam, c.X, c.y, c.noise).sweep
    return float(min(np.min(host(c.net.backend, cache[1])) ** -2
                     for layer, cache in zip(sw.layers, sw.caches) if isinstance(layer, BatchNorm)))


def kink_distance(c: Case, theta=None, X=None, y=None, validation=False) -> float:
    """Smallest |activation input| over hidden units (ReLU kinks are where FD is meaningless), at the
    case's training point or at (θ, X) without noise (a validation forward)."""
    theta = c.theta if theta is None else theta
    if validation:
        sw = c.net._val_sweep(theta, X, y, check=False)
    else:
        sw = c.net.at(theta, c.lam, c.X, c.y, c.noise).sweep
    dists = [np.inf] + [np.min(np.abs(host(c.net.backend, a))) for layer, a in zip(sw.layers, sw.inputs)
                        if isinstance(layer, Activation)]
    return float(min(dists))


def unit(be, rng, n):
    w = rng.normal((n,))
    return w / norm(be, w)


def check_grad(backend, c):
    """Shared with the convolutional nets' tests (test_net_derivatives.py)."""
    w = unit(backend, c.rng, c.net.n_params)
    g = c.net.train_grad(c.theta, c.lam, c.X, c.y, c.noise)
    fd = central(lambda t: host(backend, c.net.train_loss(t, c.lam, c.X, c.y, c.noise)), c.theta, w)
    assert_close(backend, g @ w, fd, norm(backend, g) + 1, what="gᵀw")


@given(arch=architectures())
def test_train_grad_matches_finite_differences(backend, arch):
    check_grad(backend, make_case(backend, arch))


def check_hvp(backend, c):
    """Shared with the convolutional nets' tests (test_net_derivatives.py)."""
    v = unit(backend, c.rng, c.net.n_params)
    Hv = c.net.train_hvp(c.theta, c.lam, c.X, c.y, c.noise, v)
    fd = central(lambda t: host(backend, c.net.train_grad(t, c.lam, c.X, c.y, c.noise)), c.theta, v)
    assert_close(backend, Hv, fd, norm(backend, Hv) + 1, what="Hv")


@given(arch=architectures())
def test_train_hvp_matches_finite_differences_of_the_gradient(backend, arch):
    check_hvp(backend, make_case(backend, arch))


def check_hvp_symmetric(backend, c):
    """Shared with the convolutional nets' tests (test_net_derivatives.py)."""
    u, v = unit(backend, c.rng, c.net.n_params), unit(backend, c.rng, c.net.n_params)
    pt = c.net.at(c.theta, c.lam, c.X, c.y, c.noise)
    Hu, Hv = pt.hvp(u), pt.hvp(v)
    assert_close(backend, v @ Hu, u @ Hv, norm(backend, Hu) + norm(backend, Hv) + 1, tol=1e-10, what="uᵀHv")


@given(arch=architectures())
def test_train_hvp_is_symmetric(backend, arch):
    check_hvp_symmetric(backend, make_case(backend, arch))


def smooth_hyper_direction(c: Case):
    """A random direction in λ over the L2 and noise entries (keep-probabilities are estimated)."""
    u = host(c.net.backend, c.rng.normal((c.net.n_hypers,)))
    if "keep" in c.net.blocks:
        u[c.net.blocks["keep"].slice] = 0
    return c.net.backend.asarray(u / max(np.linalg.norm(u), 1e-300))


def check_mixed(backend, c):
    """Shared with the convolutional nets' tests (test_net_derivatives.py)."""
    assume(c.net.n_hypers > 0 and set(c.net.blocks) != {"keep"})
    v = unit(backend, c.rng, c.net.n_params)
    u = smooth_hyper_direction(c)
    mixed = c.net.train_mixed(c.theta, c.lam, c.X, c.y, c.noise, v)
    fd = central(lambda lam: host(backend, c.net.train_grad(c.theta, lam, c.X, c.y, c.noise) @ v), c.lam, u)
    assert_close(backend, mixed @ u, fd, norm(backend, mixed) + 1, what="uᵀ(∂g/∂λ)ᵀv")


@given(arch=architectures())
def test_train_mixed_matches_finite_differences_in_lambda(backend, arch):
    check_mixed(backend, make_case(backend, arch))


def check_mixed_jvp(backend, c):
    """Shared with the convolutional nets' tests (test_net_derivatives.py)."""
    assume(c.net.n_hypers > 0 and set(c.net.blocks) != {"keep"})
    u = smooth_hyper_direction(c)
    jvp = c.net.train_mixed_jvp(c.theta, c.lam, c.X, c.y, c.noise, u)
    fd = central(lambda lam: host(backend, c.net.train_grad(c.theta, lam, c.X, c.y, c.noise)), c.lam, u)
    assert_close(backend, jvp, fd, norm(backend, jvp) + 1, what="(∂g/∂λ)u")


@given(arch=architectures())
def test_train_mixed_jvp_matches_finite_differences_in_lambda(backend, arch):
    check_mixed_jvp(backend, make_case(backend, arch))


def check_transposes(backend, c):
    """Shared with the convolutional nets' tests (test_net_derivatives.py)."""
    assume(c.net.n_hypers > 0)
    w = unit(backend, c.rng, c.net.n_params)
    u = c.rng.normal((c.net.n_hypers,))
    pt = c.net.at(c.theta, c.lam, c.X, c.y, c.noise)
    lhs, rhs = w @ pt.mixed_jvp(u), u @ pt.mixed(w)
    assert_close(backend, lhs, rhs, abs(float(host(backend, lhs))) + norm(backend, u) + 1, tol=1e-10,
                 what="wᵀ(∂g/∂λ)u vs uᵀ(∂g/∂λ)ᵀw")


@given(arch=architectures())
def test_mixed_and_mixed_jvp_are_transposes(backend, arch):
    check_transposes(backend, make_case(backend, arch))


@given(arch=architectures(dropout=False))
def test_val_grad_matches_finite_differences(backend, arch):
    c = make_case(backend, arch)
    if arch["activation"] != "tanh":  # the validation forward has no noise: its own kinks
        assume(kink_distance(c, c.theta, c.X, c.y, validation=True) > KINK_MARGIN)
    w = unit(backend, c.rng, c.net.n_params)
    g = c.net.val_grad(c.theta, c.X, c.y)
    fd = central(lambda t: host(backend, c.net.val_loss(t, c.X, c.y)), c.theta, w)
    assert_close(backend, g @ w, fd, norm(backend, g) + 1, what="g_Vᵀw")


@given(arch=architectures(), fast=st.booleans())
def test_greedy_is_the_derivative_of_the_one_step_validation_loss(backend, arch, fast):
    c = make_case(backend, arch)
    assume(c.net.n_hypers > 0 and set(c.net.blocks) != {"keep"})
    Xv, yv = c.rng.normal(c.X.shape), c.rng.integers(c.net.sizes[-1], c.X.shape[0])
    lr = 0.3
    if arch["activation"] != "tanh":  # the one-step validation loss runs at θ' = θ − η g_T on (Xv, yv)
        theta1 = c.theta - lr * c.net.train_grad(c.theta, c.lam, c.X, c.y, c.noise)
        for theta_v in (c.theta, theta1):
            assume(kink_distance(c, theta_v, Xv, yv, validation=True) > KINK_MARGIN)
    h = greedy(c.net, c.theta, c.lam, (c.X, c.y), c.noise, (Xv, yv), lr, fast=fast, antithetic=False)
    u = smooth_hyper_direction(c)
    if fast:  # the fast variant: −η (∂g/∂λ)ᵀ ∇L_V(θ) = d/dλ of the linearised L_V(θ) − η g_Vᵀ g_T
        gv = c.net.val_grad(c.theta, Xv, yv)
        fd = central(lambda lam: host(backend, -lr * gv @ c.net.train_grad(c.theta, lam, c.X, c.y, c.noise)),
                     c.lam, u)
        gtgv = unroll1_gtgv(c.net, c.theta, c.lam, (c.X, c.y), c.noise, (Xv, yv), antithetic=False)
        assert_close(backend, gtgv * lr, h,
                     norm(backend, h) + 1, tol=1e-12, what="unroll1-gTgV = fast greedy / η")
    else:
        def one_step_val(lam):
            theta1 = c.theta - lr * c.net.train_grad(c.theta, lam, c.X, c.y, c.noise)
            return host(backend, c.net.val_loss(theta1, Xv, yv))
        fd = central(one_step_val, c.lam, u)
    assert_close(backend, h @ u, fd, norm(backend, h) + 1, what="greedy")


@given(arch=architectures(), fast=st.booleans())
def test_antithetic_greedy_is_the_derivative_over_the_noise_pair(backend, arch, fast):
    """h = −η ½[(∂g/∂λ)(ε) + (∂g/∂λ)(−ε)]ᵀ v, v = ∇L_V at the step made from ε: FD of λ ↦ −η ½[g(ε) + g(−ε)]ᵀ v."""
    c = make_case(backend, arch)
    assume(c.net.n_hypers > 0 and "noise" in c.net.blocks)
    pair = dataclasses.replace(c, noise=c.net.antithetic_noise(c.noise))
    if arch["activation"] != "tanh":
        assume(kink_distance(pair) > KINK_MARGIN)
    if arch["batchnorm"]:
        assume(bn_min_variance(pair) > BN_MIN_VAR)
    Xv, yv = c.rng.normal(c.X.shape), c.rng.integers(c.net.sizes[-1], c.X.shape[0])
    lr = 0.3
    theta_v = c.theta if fast else c.theta - lr * c.net.train_grad(c.theta, c.lam, c.X, c.y, c.noise)
    v = c.net.val_grad(theta_v, Xv, yv)
    h = greedy(c.net, c.theta, c.lam, (c.X, c.y), c.noise, (Xv, yv), lr, fast=fast, antithetic=True)
    u = smooth_hyper_direction(c)

    def pair_mean(lam):
        g = (c.net.train_grad(c.theta, lam, c.X, c.y, c.noise)
             + c.net.train_grad(c.theta, lam, c.X, c.y, pair.noise))
        return host(backend, -lr * 0.5 * (g @ v))
    fd = central(pair_mean, c.lam, u)
    assert_close(backend, h @ u, fd, norm(backend, h) + 1, what="antithetic greedy")


@given(arch=architectures(dropout=False))
def test_antithetic_pair_cancels_the_noise_term_at_sigma_zero(backend, arch):
    """At σ = 0, ∂g/∂σ_l = (∂²L/∂θ∂h̃_l) ε_l is odd in ε: the pair's noise rows are 0, the single sample's
    are not; the L2 rows (∂g/∂λ_l = W_l) are the same for both."""
    c = make_case(backend, arch)
    assume("noise" in c.net.blocks)
    lam = backend.to_numpy(c.lam).copy()
    rows = c.net.blocks["noise"].slice
    lam[rows] = 0.0
    lam = backend.asarray(lam)
    v = unit(backend, c.rng, c.net.n_params)
    single = c.net.at(c.theta, lam, c.X, c.y, c.noise).mixed(v)
    partner = c.net.at(c.theta, lam, c.X, c.y, c.net.antithetic_noise(c.noise)).mixed(v)
    pair = host(backend, 0.5 * (single + partner))
    single = host(backend, single)
    scale = np.linalg.norm(single) + 1
    assert np.max(np.abs(pair[rows])) <= 1e-12 * scale
    assert np.max(np.abs(single[rows])) > 1e-6 * scale  # the test can fail: the single sample is not odd-free
    keep = np.ones(len(pair), bool)
    keep[rows] = False
    np.testing.assert_allclose(pair[keep], single[keep], rtol=1e-12, atol=1e-14 * scale)


@given(arch=architectures())
def test_joint_jvp_is_hvp_plus_mixed_jvp_in_one_sweep(backend, arch):
    c = make_case(backend, arch)
    v = unit(backend, c.rng, c.net.n_params)
    u = c.rng.normal((c.net.n_hypers,))
    pt = c.net.at(c.theta, c.lam, c.X, c.y, c.noise)
    both = pt.jvp(v, u)
    assert_close(backend, both, pt.hvp(v) + pt.mixed_jvp(u), norm(backend, both) + 1, tol=1e-10, what="jvp")
    if c.net.n_hypers and set(c.net.blocks) != {"keep"}:
        u = smooth_hyper_direction(c)
        fd = central(lambda s: host(backend, c.net.train_grad(c.theta + s * v, c.lam + s * u, c.X, c.y, c.noise)),
                     0.0, 1.0)
        assert_close(backend, pt.jvp(v, u), fd, norm(backend, both) + 1, what="jvp vs FD in (θ, λ)")


@given(arch=architectures())
def test_jvp_with_an_index_is_the_unit_direction(backend, arch):
    c = make_case(backend, arch)
    assume(c.net.n_hypers > 0)
    v = unit(backend, c.rng, c.net.n_params)
    pt = c.net.at(c.theta, c.lam, c.X, c.y, c.noise)
    eye = host(backend, backend.xp.eye(c.net.n_hypers, dtype=c.net.dtype))
    for j in range(c.net.n_hypers):
        dense = pt.jvp(v, backend.asarray(eye[j]))
        assert_close(backend, pt.jvp(v, j), dense, norm(backend, dense) + 1, tol=1e-12, what=f"jvp(v, {j})")
