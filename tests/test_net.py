"""The network as a stack of layer objects: θ's layout and its views, ``MLP`` as a ``Net`` of ``Dense``
layers, the in-place gradient buffers, and a regularizer added as one class and a registry line."""

from __future__ import annotations

import numpy as np
import pytest
from fd import assert_close, central, host, norm

import hyperreg
from hyperreg import regularizers as regs
from hyperreg.nn import Activation, BatchNorm, Dense


def test_layout_views_are_views_and_flatten_inverts_them(backend):
    """Writing into a per-layer view changes θ (no copy) on the libraries with views; flatten ∘ views = id."""
    net = hyperreg.MLP([4, 3, 2], batchnorm=True, backend=backend)
    theta = net.init_params(0)
    P = net.layout.views(theta)
    assert [type(layer) for layer in net.layers] == [Dense, BatchNorm, Activation, Dense]
    np.testing.assert_array_equal(host(backend, net.layout.flatten(P, theta)), host(backend, theta))
    # θ's order: W_0, b_0, W_1, b_1, then γ_1, β_1
    sizes = [a.shape for pair in net.unflatten(theta) for a in pair]
    assert sizes == [(4, 3), (3,), (3, 2), (2,), (3,), (3,)]
    if backend.name in ("numpy", "torch", "cupy"):
        W0 = P[0][0]
        W0[0, 0] = 7.0
        assert float(host(backend, theta)[0]) == 7.0


def test_mlp_is_a_net_of_dense_layers(numpy_backend):
    """``MLP(sizes)`` and ``Net((d,), [Dense(h)…])`` are one network: same θ layout, same primitives."""
    be = numpy_backend
    mlp = hyperreg.MLP([5, 4, 3], noise="tied", backend=be)
    net = hyperreg.Net((5,), [Dense(4), Dense(3)], noise="tied", backend=be)
    assert (net.n_params, net.hyper_names) == (mlp.n_params, mlp.hyper_names)
    rng = be.rng(1)
    theta, X, y = mlp.init_params(2), rng.normal((6, 5)), rng.integers(3, 6)
    lam, eps = mlp.init_hypers(), mlp.sample_noise(6, 3)
    np.testing.assert_array_equal(net.init_params(2), theta)
    np.testing.assert_array_equal(net.train_grad(theta, lam, X, y, eps), mlp.train_grad(theta, lam, X, y, eps))


def test_gradients_land_in_one_buffer_on_in_place_backends(numpy_backend):
    """On NumPy the sweep writes g_W, g_b into the views of one flat array: grad owns its memory, and the
    weight slots of the buffer are the arrays the sweep returned (no flatten copy)."""
    net = hyperreg.MLP([6, 5, 3], backend=numpy_backend)
    rng = numpy_backend.rng(0)
    point = net.at(net.init_params(0), net.init_hypers(l2=0.1), rng.normal((4, 6)), rng.integers(3, 4))
    g_W0 = point.sweep.g_P[0][0]
    assert np.shares_memory(g_W0, point.grad)
    Rg = point.hvp(rng.normal((net.n_params,)))
    assert Rg.base is None or Rg.base.size == net.n_params


class Quartic(regs.WeightPenalty):
    """λ Σ w⁴/4: a regularizer of one's own (ψ′ = w³, ψ″ = 3w²)."""

    kind, what, default, bounds = "quartic", "a quartic strength", 0.1, (1e-8, 1.0)

    def value(self, xp, W, eps):
        return xp.sum(W * W * W * W) / 4

    def dgrad(self, xp, W, eps):
        return W * W * W

    def curv(self, xp, W, eps):
        return 3 * W * W


def test_a_new_regularizer_is_one_class_and_a_registry_line(numpy_backend, monkeypatch):
    """Registered, the quartic penalty gets a λ block, and its gradient, HVP and mixed terms match finite
    differences of L_T: the primitives call the object's own terms, nothing else changes."""
    monkeypatch.setitem(regs.REGULARIZERS, "quartic", Quartic())
    be = numpy_backend
    net = hyperreg.MLP([3, 4, 2], l2=None, quartic="per-layer", backend=be)
    assert net.hyper_names == ("quartic[0]", "quartic[1]")
    rng = be.rng(5)
    theta, X, y = net.init_params(0) * 3, rng.normal((5, 3)), rng.integers(2, 5)
    lam = net.init_hypers(quartic=[0.2, 0.3])
    w, v = rng.normal((net.n_params,)), rng.normal((net.n_params,))
    point = net.at(theta, lam, X, y)
    fd_g = central(lambda s: host(be, net.train_loss(theta + s * w, lam, X, y)), 0.0, 1.0)
    assert_close(be, point.grad @ w, fd_g, norm(be, w) * (norm(be, point.grad) + 1), what="gᵀw")
    fd_h = central(lambda s: host(be, net.train_grad(theta + s * v, lam, X, y)), 0.0, 1.0)
    assert_close(be, point.hvp(v), fd_h, norm(be, v) * (norm(be, fd_h) + 1), what="Hv")
    u = np.array([1.0, -0.5])
    fd_m = central(lambda s: host(be, net.train_grad(theta, lam + s * u, X, y)), 0.0, 1.0)
    assert_close(be, point.mixed_jvp(u), fd_m, norm(be, fd_m) + 1, what="(∂g/∂λ)u")


def test_unknown_regularizer_names_are_refused(numpy_backend):
    with pytest.raises(ValueError, match="quintic"):
        hyperreg.MLP([3, 2], quintic="per-layer", backend=numpy_backend)


def test_loss_and_error_in_chunks_equals_one_pass(numpy_backend):
    """Without batch norm the rows are independent: chunks of 7 rows give the one-pass loss and error."""
    be = numpy_backend
    net = hyperreg.MLP([4, 6, 3], backend=be)
    rng = be.rng(3)
    theta, X, y = net.init_params(1), rng.normal((30, 4)), rng.integers(3, 30)
    whole = net.loss_and_error(theta, X, y, error=True, chunk=None)
    parts = net.loss_and_error(theta, X, y, error=True, chunk=7)
    np.testing.assert_allclose(float(parts[0]), float(whole[0]), rtol=1e-13)
    assert float(parts[1]) == float(whole[1])
    pred = host(be, net.predict(theta, X))
    assert float(whole[1]) == float(np.mean(pred != host(be, y)))
    assert float(whole[0]) == float(net.val_loss(theta, X, y))
