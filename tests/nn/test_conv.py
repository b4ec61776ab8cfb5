"""Each pass of the spatial layers (Conv, MaxPool, AvgPool, Flatten, per-channel BatchNorm) against central
finite differences of its forward (or backward) pass, over Hypothesis-drawn shapes, on every backend.

    backward:    ⟨g_out, d/ds f(x + s w)⟩ = ⟨(g_h, g_P), w⟩             (the adjoint of the forward's derivative)
    R-forward:   Rout = d/ds f(h + s Rh, P + s RP)
    R-backward:  (Rg_h, Rg_P) = d/ds backward(h + s Rh, P + s RP, g_out + s Rg_out)

Every combination of present and absent seeds (None: the identically-zero R-value) is run on each draw, so
every skipped term is exercised.
Max-pool ties are avoided by construction: the input's every k×k window gets +1 on its largest entry, so
the top two of a window differ by more than 1 and a step of 2·FD_STEP cannot reorder them.
The forwards are also checked against torch's conv2d / max_pool2d / avg_pool2d when torch is installed.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from fd import assert_close, central, host, norm
from hypothesis import given
from hypothesis import strategies as st

import hyperreg
from hyperreg.nn import AvgPool, BatchNorm, Conv, Dense, Flatten, MaxPool

BN_MIN_VAR = 1e-2  # as the MLP tests: BN is nearly singular below this batch variance


KINDS = ["conv", "maxpool", "avgpool", "flatten", "batchnorm"]


@st.composite
def spatial_layers(draw, kind):
    """(layer, input shape (C, H, W), batch) with the shape valid for the layer."""
    C = draw(st.integers(1, 3))
    batch = draw(st.integers(2 if kind == "batchnorm" else 1, 3))
    if kind == "conv":
        k = draw(st.sampled_from([1, 3, 5]))
        padding = draw(st.sampled_from(["same", "valid", 1] if k > 1 else ["same", "valid"]))
        low = 1 if padding == "same" else k if padding == "valid" else max(1, k - 2 * padding)
        H, W = draw(st.integers(low, 7)), draw(st.integers(low, 7))
        stride = draw(st.sampled_from([1, 2]))
        return Conv(draw(st.integers(1, 3)), k, stride=stride, padding=padding), (C, H, W), batch
    if kind in ("maxpool", "avgpool"):
        k = draw(st.sampled_from([2, 3, 1]))
        H, W = k * draw(st.integers(1, 3)), k * draw(st.integers(1, 3))
        return (MaxPool if kind == "maxpool" else AvgPool)(k), (C, H, W), batch
    H, W = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    return (Flatten() if kind == "flatten" else BatchNorm()), (C, H, W), batch


def untied(be, layer, h):
    """For max pooling: h with +1 on each window's largest entry (no ties within 1); else h unchanged."""
    if not isinstance(layer, MaxPool):
        return h
    x, k = host(be, h).copy(), layer.k
    n, C, H, W = x.shape
    w = x.reshape(n, C, H // k, k, W // k, k).transpose(0, 1, 2, 4, 3, 5).reshape(n, C, H // k, W // k, k * k)
    np.put_along_axis(w, np.argmax(w, axis=-1)[..., None], np.max(w, axis=-1, keepdims=True) + 1.0, axis=-1)
    x = w.reshape(n, C, H // k, W // k, k, k).transpose(0, 1, 2, 4, 3, 5).reshape(n, C, H, W)
    return be.asarray(x)


def setup(be, layer, in_shape, batch, seed):
    """Input h, parameters P (random: away from the init's symmetry), and a flat packing of (h, P)."""
    rng = be.rng(seed)
    h = untied(be, layer, rng.normal((batch, *in_shape)))
    shapes = [(batch, *in_shape), *layer.param_shapes(in_shape)]
    P = tuple(rng.normal(s) * 0.7 + (1.0 if isinstance(layer, BatchNorm) and i == 0 else 0.0)
              for i, s in enumerate(shapes[1:]))
    return rng, h, P, shapes


def pack(be, arrs):
    xp = be.xp
    return xp.concat([xp.reshape(a, (-1,)) for a in arrs])


def unpack(be, x, shapes):
    out, i = [], 0
    for s in shapes:
        size = int(np.prod(s))
        out.append(be.xp.reshape(x[i:i + size], s))
        i += size
    return out


def bn_ok(be, layer, h):
    if not isinstance(layer, BatchNorm):
        return True
    v = host(be, h).var(axis=(0, 2, 3))
    return bool(np.min(v) > BN_MIN_VAR)


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data(), seed=st.integers(0, 2**20))
def test_backward_is_the_adjoint_of_the_forward_derivative(backend, kind, data, seed):
    layer, in_shape, batch = data.draw(spatial_layers(kind))
    xp = backend.xp
    rng, h, P, shapes = setup(backend, layer, in_shape, batch, seed)
    if not bn_ok(backend, layer, h):
        h = h * 10.0
    out, cache = layer.forward(xp, h, P)
    assert tuple(out.shape) == (batch, *layer.out_shape(in_shape))
    g_out = rng.normal(tuple(out.shape))
    g_P, g_h = layer.backward(xp, cache, P, g_out, True)
    w = rng.normal((sum(int(np.prod(s)) for s in shapes),))
    w = w / norm(backend, w)
    fd = central(lambda x: _pairing(backend, layer, g_out, x, shapes), pack(backend, [h, *P]), w)
    got = pack(backend, [g_h, *g_P]) @ w
    assert_close(backend, got, fd, norm(backend, got) + norm(backend, g_out), what=f"{layer!r} backward")


def _pairing(be, layer, g_out, x, shapes):
    h, *P = unpack(be, x, shapes)
    return host(be, be.xp.sum(g_out * layer.forward(be.xp, h, tuple(P))[0]))


def seeds(be, rng, shapes, seed_h, seed_P):
    """A unit direction (Rh, RP…) with the absent seeds zero, and the same as R-values (None where absent)."""
    on = [seed_h if i == 0 else seed_P for i in range(len(shapes))]
    parts = [rng.normal(s) if o else be.xp.zeros(s, dtype=be.dtype("float64"), device=be.device)
             for o, s in zip(on, shapes)]
    scale = max(norm(be, pack(be, parts)), 1e-300)
    parts = [p / scale for p in parts]
    R = [p if o else None for o, p in zip(on, parts)]
    return pack(be, parts), R[0], tuple(R[1:])


def seed_sets(layer, in_shape, with_g=False):
    """Every combination of present seeds (input h, parameters P[, output gradient g]) the layer has."""
    has_P = bool(layer.param_shapes(in_shape))
    return [c for c in itertools.product([True, False], [True, False] if has_P else [False],
                                         [True, False] if with_g else [False])]


def _split(be, x, shapes):
    h, *P = unpack(be, x, shapes)
    return h, tuple(P)


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data(), seed=st.integers(0, 2**20))
def test_rforward_is_the_directional_derivative_of_the_forward(backend, kind, data, seed):
    layer, in_shape, batch = data.draw(spatial_layers(kind))
    xp = backend.xp
    rng, h, P, shapes = setup(backend, layer, in_shape, batch, seed)
    if not bn_ok(backend, layer, h):
        h = h * 10.0
    out, cache = layer.forward(xp, h, P)
    for seed_h, seed_P, _ in seed_sets(layer, in_shape):
        w, Rh, RP = seeds(backend, rng, shapes, seed_h, seed_P)
        Rout, _ = layer.rforward(xp, cache, P, Rh, RP)
        fd = central(lambda x: host(backend, layer.forward(xp, *_split(backend, x, shapes))[0]),
                     pack(backend, [h, *P]), w)
        what = f"{layer!r} R-forward, seeds h={seed_h} P={seed_P}"
        if Rout is None:
            assert np.max(np.abs(fd)) <= 1e-9, what
            continue
        Rout = xp.broadcast_to(Rout, tuple(out.shape))
        assert_close(backend, Rout, fd, norm(backend, Rout) + 1, what=what)


@pytest.mark.parametrize("kind", KINDS)
@given(data=st.data(), seed=st.integers(0, 2**20))
def test_rbackward_is_the_directional_derivative_of_the_backward(backend, kind, data, seed):
    layer, in_shape, batch = data.draw(spatial_layers(kind))
    xp = backend.xp
    rng, h, P, shapes = setup(backend, layer, in_shape, batch, seed)
    if not bn_ok(backend, layer, h):
        h = h * 10.0
    out, cache = layer.forward(xp, h, P)
    g_out = rng.normal(tuple(out.shape))
    x0 = pack(backend, [h, *P])
    zeros = [xp.zeros(s, dtype=x0.dtype, device=backend.device) for s in shapes]
    for seed_h, seed_P, seed_g in seed_sets(layer, in_shape, with_g=True):
        w, Rh, RP = seeds(backend, rng, shapes, seed_h, seed_P)
        Rg_out = rng.normal(tuple(out.shape)) if seed_g else None
        Rout, Rcache = layer.rforward(xp, cache, P, Rh, RP)
        Rg_P, Rg_h = layer.rbackward(xp, cache, P, g_out, Rcache, Rh, RP, Rg_out, True, True)

        def grads(s):  # (g_h, g_P) at (h, P) + s w along the seeds, g_out + s Rg_out
            hh, PP = _split(backend, x0 + s * w, shapes)
            g = g_out if Rg_out is None else g_out + s * Rg_out
            gP, gh = layer.backward(xp, layer.forward(xp, hh, PP)[1], PP, g, True)
            return host(backend, pack(backend, [gh, *gP]))

        fd = central(grads, 0.0, 1.0)
        got = pack(backend, [r if r is not None else z for r, z in zip([Rg_h, *Rg_P], zeros)])
        assert_close(backend, got, fd, norm(backend, got) + 1,
                     what=f"{layer!r} R-backward, seeds h={seed_h} P={seed_P} g={seed_g}")


def test_the_forwards_match_torch():
    """An independent oracle: torch's conv2d (cross-correlation), max_pool2d, avg_pool2d, flatten."""
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    be = hyperreg.get_backend("numpy")
    rng = be.rng(3)
    h = rng.normal((2, 3, 9, 6))
    W, b = rng.normal((4, 3, 3, 3)), rng.normal((4,))
    th = [torch.from_numpy(np.asarray(a)) for a in (h, W, b)]
    for conv in (Conv(4, 3), Conv(4, 3, stride=2), Conv(4, 3, padding="valid"), Conv(4, 3, 2, padding=2)):
        got = conv.forward(be.xp, h, (W, b))[0]
        want = F.conv2d(*th, stride=conv.stride, padding=conv.pad).numpy()
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=repr(conv))
    np.testing.assert_array_equal(MaxPool(3).forward(be.xp, h, ())[0], F.max_pool2d(th[0], 3).numpy())
    np.testing.assert_allclose(AvgPool(3).forward(be.xp, h, ())[0], F.avg_pool2d(th[0], 3).numpy(), rtol=1e-14)
    np.testing.assert_array_equal(Flatten().forward(be.xp, h, ())[0], torch.flatten(th[0], 1).numpy())


def test_maxpool_routes_the_gradient_to_the_first_arg_max():
    """Where a window ties, the forward's arg-max (the first) takes the whole gradient, in every pass."""
    be = hyperreg.get_backend("numpy")
    h = be.asarray(np.ones((1, 1, 2, 2)))
    z, M = MaxPool(2).forward(be.xp, h, ())
    g = be.asarray(np.full((1, 1, 1, 1), 3.0))
    (_, g_h), (_, Rg_h) = MaxPool(2).backward(be.xp, M, (), g, True), MaxPool(2).rbackward(
        be.xp, M, (), g, None, h, (), g, True, True)
    np.testing.assert_array_equal(g_h, [[[[3.0, 0.0], [0.0, 0.0]]]])
    np.testing.assert_array_equal(Rg_h, g_h)


@pytest.mark.parametrize("make, match", [
    (lambda: Conv(0, 3), "out_channels must be a positive integer"),
    (lambda: Conv(4, 2.5), "kernel must be a positive integer"),
    (lambda: Conv(4, 3, stride=0), "stride must be a positive integer"),
    (lambda: Conv(4, 2), "padding='same' needs an odd kernel"),
    (lambda: Conv(4, 3, padding="full"), "padding must be one of"),
    (lambda: Conv(4, 3, padding=3), "padding must be one of"),
    (lambda: MaxPool(0), r"MaxPool\(k\) needs a positive integer window"),
    (lambda: AvgPool(True), r"AvgPool\(k\) needs a positive integer window"),
])
def test_bad_layer_arguments_raise_one_clear_error(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("shape, layers, match", [
    ((1, 7, 7), [Conv(2, 3), MaxPool(2), Dense(3)], r"MaxPool\(2\) needs the image sides divisible by 2, got 7×7"),
    ((1, 4, 4), [Conv(2, 5, padding="valid"), Dense(3)], "leaves no output pixels"),
    ((16,), [Conv(2, 3), Dense(3)], r"needs a \(C, H, W\) input, got shape \(16,\)"),
    ((1, 4, 4), [Dense(5), Conv(2, 3), Dense(3)], r"needs a \(C, H, W\) input, got shape \(5,\)"),
    ((1, 4, 4), [Conv(2, 3)], "must end in a Dense layer"),
    ((1, 4, 4), [Conv(2, 3), MaxPool(2)], "must end in a parametrized layer"),
])
def test_bad_architectures_raise_one_clear_error(shape, layers, match):
    with pytest.raises(ValueError, match=match):
        hyperreg.Net(shape, layers)


def test_flatten_goes_before_the_first_dense_after_a_spatial_layer():
    net = hyperreg.Net((2, 4, 4), [Conv(3, 3), AvgPool(2), Dense(5), Dense(3)], batchnorm=True)
    assert [type(layer).__name__ for layer in net.layers] == [
        "Conv", "BatchNorm", "Activation", "AvgPool", "Flatten", "Dense", "BatchNorm", "Activation", "Dense"]
    assert [tuple(s) for s in net.in_shapes] == [(2, 4, 4), (3, 4, 4), (3, 4, 4), (3, 4, 4), (3, 2, 2), (12,),
                                                 (5,), (5,), (5,)]
    theta = net.init_params(0)
    shapes = [[tuple(a.shape) for a in pair] for pair in net.unflatten(theta)]
    assert shapes == [[(3, 2, 3, 3), (3,)], [(12, 5), (5,)], [(5, 3), (3,)], [(3,), (3,)], [(5,), (5,)]]
    eps = net.sample_noise(7, 0)
    assert [tuple(e.shape) for e in eps] == [(7, 2, 4, 4), (7, 12), (7, 5)]


def test_running_statistics_of_a_conv_batch_norm_are_per_channel():
    """After one update (the batch's own μ, var per channel), prediction with the running statistics gives
    the batch-statistics logits; the statistics have one entry per channel."""
    net = hyperreg.Net((2, 6, 6), [Conv(3, 3), MaxPool(2), Dense(4)], batchnorm=True)
    rng = net.backend.rng(0)
    theta, X = net.init_params(0) + 0.3 * rng.normal((net.n_params,)), rng.normal((9, 2, 6, 6))
    batch_stats = host(net.backend, net.logits(theta, X))
    net.update_running_stats(theta, X)
    assert [tuple(m.shape) for m, v in net.running_stats] == [(3,)]
    running = host(net.backend, net.logits(theta, X))
    np.testing.assert_allclose(running, batch_stats, rtol=1e-6, atol=1e-6)
    X2 = 2 * rng.normal((9, 2, 6, 6)) + 1  # another batch: the running statistics are X's, not its own
    with_running = host(net.backend, net.logits(theta, X2))
    net.running_stats = None
    assert not np.allclose(with_running, host(net.backend, net.logits(theta, X2)), rtol=1e-3)
