"""The smoothed ℓ1 and ℓ½ penalties: ψ, ψ′, ψ″ against finite differences at the default ε and others (an
ε-scaled step, since ψ varies on the scale ε), and how they enter the MLP: on W only, after the L2 block.

The MLP's derivative primitives with ℓ1/ℓ½ drawn are checked in test_mlp_derivatives.py.
"""

from __future__ import annotations

import numpy as np
import pytest
from fd import assert_close, central, host, norm
from hypothesis import given
from hypothesis import strategies as st

import hyperreg
from hyperreg.regularizers import PENALTY_EPS, PSI

KINDS = sorted(PSI)


@given(kind=st.sampled_from(KINDS), eps=st.sampled_from([PENALTY_EPS, 1e-2, 0.3]),
       scale=st.sampled_from([0.3, 3.0, 30.0]), seed=st.integers(0, 2**20))
def test_psi_derivatives_match_finite_differences(backend, kind, eps, scale, seed):
    """w spread over |w| ≲ scale·ε, where the smoothing bends ψ; FD step ε/100 elementwise."""
    value, grad, curv = PSI[kind]
    xp, rng = backend.xp, backend.rng(seed)
    W = rng.normal((5, 7)) * (scale * eps)
    ones = xp.ones_like(W)
    h = eps / 100
    # Σ ψ(W + s·1) differentiated in s, one entry at a time: ψ acts elementwise
    fd_grad = np.array([central(lambda s, i=i: host(backend, value(xp, W[i:i + 1, :] + s, eps)), 0.0, 1.0, h)
                        for i in range(W.shape[0])])
    assert_close(backend, xp.sum(grad(xp, W, eps), axis=1), fd_grad, 1.0 + np.abs(fd_grad).sum(), what="ψ′")
    fd_curv = central(lambda s: host(backend, grad(xp, W + s * ones, eps)), 0.0, 1.0, h)
    c = curv(xp, W, eps)
    assert_close(backend, c, fd_curv, norm(backend, c) + 1, what="ψ″")


@pytest.mark.parametrize("kind", KINDS)
def test_psi_is_the_smoothed_power(numpy_backend, kind):
    """Away from 0, ψ → |w| (ℓ1) or |w|^½ (ℓ½), ψ′ → its sign-weighted derivative; at 0 ψ′ = 0."""
    xp, (value, grad, curv) = numpy_backend.xp, PSI[kind]
    p = 1.0 if kind == "l1" else 0.5
    w = np.array([-2.0, -0.5, 0.5, 2.0])
    np.testing.assert_allclose(value(xp, w, 1e-6), np.sum(np.abs(w) ** p), rtol=1e-9)
    np.testing.assert_allclose(grad(xp, w, 1e-6), p * np.sign(w) * np.abs(w) ** (p - 1), rtol=1e-9)
    assert grad(xp, np.zeros(1), PENALTY_EPS)[0] == 0 and curv(xp, np.zeros(1), PENALTY_EPS)[0] > 0


@pytest.mark.parametrize("mode", ["per-layer", "tied"])
def test_penalties_act_on_weights_only_and_follow_the_l2_block(numpy_backend, mode):
    """L_T and g_T grow by exactly λ Σ ψ(W) and λ ψ′(W): biases and batch-norm γ, β are unpenalized."""
    kw = dict(sizes=[3, 4, 5, 2], batchnorm=True, noise="tied", backend=numpy_backend)
    plain = hyperreg.MLP(l2="per-layer", **kw)
    net = hyperreg.MLP(l2="per-layer", l1=mode, lhalf=mode, **kw)
    L = net.n_layers
    tail = ["noise[input]", "noise[hidden]"]
    l1_names = [f"l1[{l}]" for l in range(L)] if mode == "per-layer" else ["l1"]
    lhalf_names = [f"lhalf[{l}]" for l in range(L)] if mode == "per-layer" else ["lhalf"]
    assert net.hyper_names == (*plain.hyper_names[:L], *l1_names, *lhalf_names, *tail)
    rng = np.random.default_rng(0)
    theta = rng.normal(size=net.n_params)
    X, y = rng.normal(size=(6, 3)), rng.integers(0, 2, 6)
    noise = net.sample_noise(6, 1)
    lam = net.init_hypers(l2=0.1, noise=0.2, l1=0.05, lhalf=0.02)
    lam0 = plain.init_hypers(l2=0.1, noise=0.2)
    Ws = [W for W, _ in net.unflatten(theta)[:L]]
    eps = net.penalty_eps
    extra = sum(0.05 * PSI["l1"][0](np, W, eps) + 0.02 * PSI["lhalf"][0](np, W, eps) for W in Ws)
    diff = net.train_loss(theta, lam, X, y, noise) - plain.train_loss(theta, lam0, X, y, noise)
    np.testing.assert_allclose(diff, extra, rtol=1e-12)
    dpsi = [(0.05 * PSI["l1"][1](np, W, eps) + 0.02 * PSI["lhalf"][1](np, W, eps), np.zeros(W.shape[1]))
            for W in Ws]
    want = net.flatten(dpsi + [(np.zeros(d), np.zeros(d)) for d in net.sizes[1:-1]])
    diff = net.train_grad(theta, lam, X, y, noise) - plain.train_grad(theta, lam0, X, y, noise)
    np.testing.assert_allclose(diff, want, atol=1e-12)


def test_l1_and_lhalf_strengths_must_be_nonnegative(numpy_backend):
    net = hyperreg.MLP([2, 3, 2], l2=None, l1="tied", lhalf="tied", backend=numpy_backend)
    with pytest.raises(ValueError, match="ℓ½ strength"):
        net.init_hypers(l1=0.1, lhalf=-1.0)
    with pytest.raises(ValueError, match="l1 must be one of"):
        hyperreg.MLP([2, 3, 2], l1="layerwise")
    with pytest.raises(ValueError, match="penalty_eps"):
        hyperreg.MLP([2, 3, 2], l1="tied", penalty_eps=0.0)


def test_parametrization_is_log_with_bounds_for_the_new_kinds():
    from hyperreg.optim import Parametrization

    p = Parametrization.for_names(("l2", "l1[0]", "lhalf"))
    assert p.kinds == ("log", "log", "log") and p.lower[1] > 0 and p.upper[2] < np.inf
