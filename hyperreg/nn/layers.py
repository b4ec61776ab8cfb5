"""The MLP's layers, each as four passes side by side: forward, backward, R-forward, R-backward.

Every R-line is the product rule applied to its plain twin (Pearlmutter 1994), so read them pairwise.
``None`` stands for an R-value that is identically zero: the term is skipped, not multiplied by zeros,
so an unseeded sweep costs exactly a plain one.

dense:       a = h W + b            g_W = hᵀ g_a,   g_b = Σ g_a,   g_h = g_a Wᵀ
R-forward:   Ra = Rh W + h RW + Rb
R-backward:  Rg_W = Rhᵀ g_a + hᵀ Rg_a,   Rg_b = Σ Rg_a,   Rg_h = Rg_a Wᵀ + g_a RWᵀ
activation:  z = φ(a)   g_a = φ′·g_z   Rz = φ′·Ra   Rg_a = φ′·Rg_z + φ″·g_z·Ra
"""

from __future__ import annotations

BN_EPS = 1e-5  # added to the batch variance before the square root


def _sum(*terms):
    """Sum of the terms that are not None (None: an identically-zero R-value)."""
    terms = [t for t in terms if t is not None]
    if not terms:
        return None
    out = terms[0]
    for t in terms[1:]:
        out = out + t
    return out


def _mm(a, b):
    return None if a is None or b is None else a @ b


def _mul(a, b):
    return None if a is None or b is None else a * b


# --- dense: a = h W + b -------------------------------------------------------------------------


def dense_forward(xp, h, W, b):
    """a = h W + b;  h (n, d_in), W (d_in, d_out), b (d_out,)."""
    return h @ W + b


def dense_backward(xp, h, W, g_a, need_g_h=True):
    """g_W = hᵀ g_a,  g_b = Σ_rows g_a,  g_h = g_a Wᵀ (skipped when ``need_g_h`` is False)."""
    return h.T @ g_a, xp.sum(g_a, axis=0), (g_a @ W.T if need_g_h else None)


def dense_rforward(xp, h, W, Rh, RW, Rb):
    """Ra = Rh W + h RW + Rb."""
    return _sum(_mm(Rh, W), _mm(h, RW), Rb)


def dense_rbackward(xp, h, W, g_a, Rh, RW, Rg_a, need_g_h=True, need_g_params=True):
    """Rg_W = Rhᵀ g_a + hᵀ Rg_a,  Rg_b = Σ Rg_a,  Rg_h = Rg_a Wᵀ + g_a RWᵀ (each only when needed)."""
    Rg_W = Rg_b = None
    if need_g_params:
        Rg_W = _sum(_mm(None if Rh is None else Rh.T, g_a), _mm(h.T, Rg_a))
        Rg_b = None if Rg_a is None else xp.sum(Rg_a, axis=0)
    Rg_h = _sum(_mm(Rg_a, W.T), _mm(g_a, None if RW is None else RW.T)) if need_g_h else None
    return Rg_W, Rg_b, Rg_h


# --- activations: given (φ, φ′, φ″), written once -----------------------------------------------

LEAKY_SLOPE = 0.01


def _relu(xp, a):
    step = xp.astype(a > 0, a.dtype)
    return a * step, step, None  # φ″ = 0 away from the kink


def _leaky_relu(xp, a):
    step = xp.astype(a > 0, a.dtype)
    d1 = LEAKY_SLOPE + (1.0 - LEAKY_SLOPE) * step
    return a * d1, d1, None


def _tanh(xp, a):
    z = xp.tanh(a)
    d1 = 1.0 - z * z
    return z, d1, -2.0 * z * d1  # φ″ = −2 tanh(a) (1 − tanh²(a))


ACTIVATIONS = {"relu": _relu, "leaky_relu": _leaky_relu, "tanh": _tanh}


def act_forward(xp, name, a):
    """z = φ(a); also returns φ′(a) and φ″(a) (None where φ″ ≡ 0) for the other three passes."""
    return ACTIVATIONS[name](xp, a)


def act_backward(d1, g_z):
    """g_a = φ′·g_z."""
    return d1 * g_z


def act_rforward(d1, Ra):
    """Rz = φ′·Ra."""
    return _mul(d1, Ra)


def act_rbackward(d1, d2, g_z, Ra, Rg_z):
    """Rg_a = φ′·Rg_z + φ″·g_z·Ra."""
    return _sum(_mul(d1, Rg_z), _mul(d2, _mul(g_z, Ra)))


# --- batch norm over the batch (training statistics): â = (a − μ)/√(var + eps), y = γ â + β -------


def bn_forward(xp, a, gamma, beta):
    """y = γ â + β with â = (a − μ) s, s = (var + eps)^(−½); returns y and the cache (c, s, â)."""
    c = a - xp.mean(a, axis=0)
    s = 1.0 / xp.sqrt(xp.mean(c * c, axis=0) + BN_EPS)
    ahat = c * s
    return gamma * ahat + beta, (c, s, ahat)


def _bn_project(xp, g, ahat, s):
    """s (g − mean g − â mean(g â)): the batch-norm Jacobian applied to g (the backward core)."""
    return s * (g - xp.mean(g, axis=0) - ahat * xp.mean(g * ahat, axis=0))


def bn_backward(xp, cache, gamma, g_y):
    """g_γ = Σ g_y â,  g_β = Σ g_y,  g_a = s (g_â − mean g_â − â mean(g_â â)) with g_â = γ g_y."""
    c, s, ahat = cache
    g_ahat = gamma * g_y
    return xp.sum(g_y * ahat, axis=0), xp.sum(g_y, axis=0), _bn_project(xp, g_ahat, ahat, s)


def bn_rforward(xp, cache, gamma, Ra, Rgamma, Rbeta):
    """Rc = Ra − mean Ra,  Rs = −s³ mean(c Rc),  Râ = Rc s + c Rs,  Ry = Rγ â + γ Râ + Rβ."""
    c, s, ahat = cache
    if Ra is None:
        Rahat = Rs = None
    else:
        Rc = Ra - xp.mean(Ra, axis=0)
        Rs = -(s * s * s) * xp.mean(c * Rc, axis=0)  # R{var} = 2 mean(c Rc), R{s} = −½ s³ R{var}
        Rahat = Rc * s + c * Rs
    return _sum(_mul(Rgamma, ahat), _mul(gamma, Rahat), Rbeta), (Rs, Rahat)


def bn_rbackward(xp, cache, gamma, g_y, Rcache, Rgamma, Rg_y):
    """R of bn_backward: Rg_γ = Σ(Rg_y â + g_y Râ),  Rg_β = Σ Rg_y,
    Rg_a = Rs·P(g_â) + s (Rg_â − mean Rg_â − Râ mean(g_â â) − â mean(Rg_â â + g_â Râ)),
    with Rg_â = Rγ g_y + γ Rg_y and P the projection of ``_bn_project``."""
    c, s, ahat = cache
    Rs, Rahat = Rcache
    g_ahat = gamma * g_y
    Rg_gamma = _sum(_mul(Rg_y, ahat), _mul(g_y, Rahat))
    Rg_gamma = None if Rg_gamma is None else xp.sum(Rg_gamma, axis=0)
    Rg_beta = None if Rg_y is None else xp.sum(Rg_y, axis=0)
    Rg_ahat = _sum(_mul(Rgamma, g_y), _mul(gamma, Rg_y))
    inner = None
    if Rg_ahat is not None:
        inner = Rg_ahat - xp.mean(Rg_ahat, axis=0) - ahat * xp.mean(Rg_ahat * ahat, axis=0)
    if Rahat is not None:
        m = xp.mean(g_ahat * ahat, axis=0)
        inner = _sum(inner, -Rahat * m - ahat * xp.mean(g_ahat * Rahat, axis=0))
    Rg_a = _sum(_mul(Rs, _bn_project(xp, g_ahat, ahat, 1.0) if Rs is not None else None),
                _mul(s, inner))
    return Rg_gamma, Rg_beta, Rg_a


# --- softmax cross-entropy, mean over the batch ---------------------------------------------------


def ce_forward(xp, o, Y):
    """L = −mean_i Σ_k Y_ik log softmax(o_i)_k;  Y one-hot (n, k). Returns L and p = softmax(o)."""
    m = xp.max(o, axis=1, keepdims=True)
    e = xp.exp(o - m)
    s = xp.sum(e, axis=1, keepdims=True)
    logp = o - m - xp.log(s)
    return -xp.sum(Y * logp) / o.shape[0], e / s


def ce_backward(p, Y):
    """g_o = (p − Y) / n."""
    return (p - Y) / p.shape[0]


def ce_rbackward(xp, p, Ro):
    """Rg_o = (p ⊙ Ro − p Σ_k p_k Ro_k) / n  (the softmax Jacobian applied to Ro)."""
    pRo = p * Ro
    return (pRo - p * xp.sum(pRo, axis=1, keepdims=True)) / p.shape[0]
