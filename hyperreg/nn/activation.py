"""Activations, given (φ, φ′, φ″) and written once for every one of them.

activation:  z = φ(a)   g_a = φ′·g_z   Rz = φ′·Ra   Rg_a = φ′·Rg_z + φ″·g_z·Ra
"""

from __future__ import annotations

from ._rvalues import Layer, _mul, _sum

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


class Activation(Layer):
    """z = φ(a) elementwise; the cache is (φ′(a), φ″(a)), and Ra is the R-input the driver hands back."""

    def __init__(self, name):
        if name not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
        self.name = name

    def __repr__(self):
        return f"Activation({self.name!r})"

    def forward(self, xp, a, P):
        z, d1, d2 = act_forward(xp, self.name, a)
        return z, (d1, d2)

    def backward(self, xp, cache, P, g_z, need_g_in):
        return (), act_backward(cache[0], g_z)

    def rforward(self, xp, cache, P, Ra, RP):
        return act_rforward(cache[0], Ra), None

    def rbackward(self, xp, cache, P, g_z, Rcache, Ra, RP, Rg_z, need_g_in, need_g_P):
        return (), act_rbackward(cache[0], cache[1], g_z, Ra, Rg_z)
