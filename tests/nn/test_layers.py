"""Each layer of hyperreg/nn/layers.py, its four passes against finite differences (hyperreg.testing):

    backward:    ⟨backward(x, g_y), w⟩ = ⟨g_y, d/ds forward(x + s w)⟩
    R-forward:   rforward(x, w) = d/ds forward(x + s w)
    R-backward:  rbackward(x, g_y, w, Rg_y) = d/ds backward(x + s w, g_y + s Rg_y)

x is the layer's inputs and parameters as a tuple in the order of its forward. Drawn: shapes and a seed; the
R-checks run once fully seeded and once with a drawn subset of the seeds left None (the unseeded paths).
float64, on every backend of the fixture, tolerance 1e-6 of ‖w‖(‖Jŵ‖ + 1) or ‖w‖(‖Jᵀv‖ + ‖v‖).
"""

from __future__ import annotations

import numpy as np
from hypothesis import assume, given
from hypothesis import strategies as st

from hyperreg.nn.layers import (
    ACTIVATIONS,
    LEAKY_SLOPE,
    act_backward,
    act_forward,
    act_rbackward,
    act_rforward,
    bn_backward,
    bn_forward,
    bn_rbackward,
    bn_rforward,
    ce_backward,
    ce_forward,
    ce_rbackward,
    dense_backward,
    dense_forward,
    dense_rbackward,
    dense_rforward,
)
from hyperreg.testing import check_jvp, check_layer, host

KINK_GAP = 1e-2  # |a| ≥ this for ReLU-like φ: the FD steps (≤ 2e-4) never cross the kink
BN_MIN_VAR = 1e-2  # batch variances near BN's ε make the layer nearly singular: FD is meaningless there

batch = st.integers(1, 8)
width = st.integers(1, 6)
seeds = st.integers(0, 2**20)


def normals(rng, x):
    """Fresh standard-normal arrays shaped like the tuple x (a direction or a cotangent)."""
    return tuple(rng.normal(tuple(v.shape)) for v in x)


def subset(x, on):
    """x with the parts whose flag is off replaced by None (an unseeded R-value)."""
    return tuple(v if keep else None for v, keep in zip(x, on))


def check_seeded_and_unseeded(forward, backward, rforward, rbackward, x, g_y, rng, on, Rg_y_on=True):
    """All passes with every seed drawn, then the R-passes again with the seeds ``on`` keeps."""
    w, Rg_y = normals(rng, x), rng.normal(tuple(g_y.shape))
    check_layer(forward, x, g_y, backward, rforward, rbackward, w=w, Rv=Rg_y)
    w, Rg_y = subset(w, on), (Rg_y if Rg_y_on else None)
    if rforward is not None:
        check_jvp(forward, x, w, rforward(x, w), what="R-forward, some seeds None")
    check_jvp(lambda xv: backward(*xv), (x, g_y), (w, Rg_y), rbackward(x, g_y, w, Rg_y),
              what="R-backward, some seeds None")


# --- dense: a = h W + b ---------------------------------------------------------------------------


def dense_passes(xp):
    def backward(x, g_a):
        g_W, g_b, g_h = dense_backward(xp, x[0], x[1], g_a)
        return g_h, g_W, g_b

    def rforward(x, w):
        return dense_rforward(xp, x[0], x[1], *w)

    def rbackward(x, g_a, w, Rg_a):
        Rg_W, Rg_b, Rg_h = dense_rbackward(xp, x[0], x[1], g_a, w[0], w[1], Rg_a)
        return Rg_h, Rg_W, Rg_b

    return (lambda x: dense_forward(xp, *x)), backward, rforward, rbackward


@given(n=batch, d_in=width, d_out=width, seed=seeds, on=st.lists(st.booleans(), min_size=4, max_size=4))
def test_dense_passes_match_finite_differences(backend, n, d_in, d_out, seed, on):
    rng = backend.rng(seed)
    x = (rng.normal((n, d_in)), rng.normal((d_in, d_out)), rng.normal((d_out,)))  # h, W, b
    check_seeded_and_unseeded(*dense_passes(backend.xp), x, rng.normal((n, d_out)), rng, on[:3], on[3])


@given(n=batch, d_in=width, d_out=width, seed=seeds)
def test_dense_need_flags_skip_exactly_their_terms(backend, n, d_in, d_out, seed):
    """need_g_h=False drops g_h (the first layer's), need_g_params=False Rg_W and Rg_b; the rest is unchanged."""
    xp, rng = backend.xp, backend.rng(seed)
    h, W, g_a, Rh, RW, Rg_a = (rng.normal(s) for s in [(n, d_in), (d_in, d_out), (n, d_out), (n, d_in),
                                                       (d_in, d_out), (n, d_out)])
    full = dense_backward(xp, h, W, g_a)
    part = dense_backward(xp, h, W, g_a, need_g_h=False)
    assert part[2] is None and full[2] is not None
    for a, b in zip(part[:2], full[:2]):
        np.testing.assert_array_equal(host(backend, a), host(backend, b))
    full = dense_rbackward(xp, h, W, g_a, Rh, RW, Rg_a)
    no_h = dense_rbackward(xp, h, W, g_a, Rh, RW, Rg_a, need_g_h=False)
    no_params = dense_rbackward(xp, h, W, g_a, Rh, RW, Rg_a, need_g_params=False)
    assert no_h[2] is None and no_params[:2] == (None, None)
    for a, b in [(no_h[0], full[0]), (no_h[1], full[1]), (no_params[2], full[2])]:
        np.testing.assert_array_equal(host(backend, a), host(backend, b))


def test_dense_unseeded_r_passes_are_none(numpy_backend):
    """No seed at all: the R-passes return None (skipped, not multiplied by zeros: a plain step's cost)."""
    xp, rng = numpy_backend.xp, numpy_backend.rng(0)
    h, W, g_a = rng.normal((3, 2)), rng.normal((2, 4)), rng.normal((3, 4))
    assert dense_rforward(xp, h, W, None, None, None) is None
    assert dense_rbackward(xp, h, W, g_a, None, None, None) == (None, None, None)


# --- activations: z = φ(a), given (φ, φ′, φ″) -------------------------------------------------------


def act_passes(xp, name):
    def backward(x, g_z):
        return (act_backward(act_forward(xp, name, x[0])[1], g_z),)

    def rforward(x, w):
        return act_rforward(act_forward(xp, name, x[0])[1], w[0])

    def rbackward(x, g_z, w, Rg_z):
        _, d1, d2 = act_forward(xp, name, x[0])
        return (act_rbackward(d1, d2, g_z, w[0], Rg_z),)

    return (lambda x: act_forward(xp, name, x[0])[0]), backward, rforward, rbackward


@given(name=st.sampled_from(sorted(ACTIVATIONS)), n=batch, d=width, seed=seeds,
       on=st.lists(st.booleans(), min_size=2, max_size=2))
def test_activation_passes_match_finite_differences(backend, name, n, d, seed, on):
    """φ′ through backward and R-forward, φ″ through R-backward; ReLU-like inputs drawn away from the kink."""
    xp, rng = backend.xp, backend.rng(seed)
    a = rng.normal((n, d))
    a = a + KINK_GAP * xp.sign(a)
    check_seeded_and_unseeded(*act_passes(xp, name), (a,), rng.normal((n, d)), rng, on[:1], on[1])


# --- batch norm over the batch: y = γ (a − μ)/√(var + eps) + β ---------------------------------------


def bn_passes(xp):
    def backward(x, g_y):
        a, gamma, _ = x
        g_gamma, g_beta, g_a = bn_backward(xp, bn_forward(xp, a, gamma, x[2])[1], gamma, g_y)
        return g_a, g_gamma, g_beta

    def rforward(x, w):
        a, gamma, beta = x
        return bn_rforward(xp, bn_forward(xp, a, gamma, beta)[1], gamma, *w)[0]

    def rbackward(x, g_y, w, Rg_y):
        a, gamma, beta = x
        cache = bn_forward(xp, a, gamma, beta)[1]
        Rcache = bn_rforward(xp, cache, gamma, *w)[1]
        Rg_gamma, Rg_beta, Rg_a = bn_rbackward(xp, cache, gamma, g_y, Rcache, w[1], Rg_y)
        return Rg_a, Rg_gamma, Rg_beta

    return (lambda x: bn_forward(xp, *x)[0]), backward, rforward, rbackward


@given(n=st.integers(2, 8), d=width, seed=seeds, on=st.lists(st.booleans(), min_size=4, max_size=4))
def test_batchnorm_passes_match_finite_differences(backend, n, d, seed, on):
    """Rs (the R of s = (var + eps)^(−½)) and the projection's â mean(g â) terms included."""
    xp, rng = backend.xp, backend.rng(seed)
    a = rng.normal((n, d)) * 2.0 + rng.normal((d,))
    assume(float(np.min(np.var(host(backend, a), axis=0))) > BN_MIN_VAR)
    x = (a, rng.normal((d,)), rng.normal((d,)))  # a, γ, β
    check_seeded_and_unseeded(*bn_passes(xp), x, rng.normal((n, d)), rng, on[:3], on[3])


# --- softmax cross-entropy, mean over the batch ---------------------------------------------------


@given(n=batch, k=st.integers(2, 6), seed=seeds)
def test_softmax_cross_entropy_passes_match_finite_differences(backend, n, k, seed):
    """g_o = (p − Y)/n is the gradient of L (cotangent g_L = 1, as in a sweep); Rg_o its R-value along Ro."""
    xp, rng = backend.xp, backend.rng(seed)
    o = rng.normal((n, k)) * 3.0
    labels = rng.integers(k, n)
    Y = xp.astype(labels[:, None] == xp.arange(k, device=backend.device)[None, :], o.dtype)

    def forward(x):
        return ce_forward(xp, x[0], Y)[0]

    def backward(x, g_L):
        return (g_L * ce_backward(ce_forward(xp, x[0], Y)[1], Y),)

    def rbackward(x, g_L, w, Rg_L):  # R{g_L} = 0: the loss's seed is the constant 1
        return (g_L * ce_rbackward(xp, ce_forward(xp, x[0], Y)[1], w[0]),)

    check_layer(forward, (o,), 1.0, backward, rbackward=rbackward, w=(rng.normal((n, k)),), Rv=0.0)


@given(n=batch, d=width, seed=seeds)
def test_activations_are_the_named_functions(backend, n, d, seed):
    """φ itself (the FD tests only check φ′, φ″ against φ): ReLU, leaky ReLU with its slope, tanh."""
    a = backend.rng(seed).normal((n, d))
    ah = host(backend, a)
    want = {"relu": np.maximum(ah, 0.0), "leaky_relu": np.where(ah > 0, ah, LEAKY_SLOPE * ah), "tanh": np.tanh(ah)}
    for name in sorted(ACTIVATIONS):
        np.testing.assert_allclose(host(backend, act_forward(backend.xp, name, a)[0]), want[name], rtol=1e-15,
                                   atol=1e-300)
