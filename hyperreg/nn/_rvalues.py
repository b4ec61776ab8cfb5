"""R-value arithmetic where ``None`` stands for an identically-zero R-value: the term is skipped, not
multiplied by zeros, so an unseeded sweep costs exactly a plain one."""

from __future__ import annotations


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


class Layer:
    """One layer of a network's stack: its parameter shapes and its four passes, in one uniform shape.

    The sweep driver (``nn.sweep``) calls, with P the layer's parameter arrays (a tuple, maybe empty),
    ``g_out`` the gradient at the layer's output and R-values None where identically zero:

        forward(xp, h, P)                      -> (out, cache)
        backward(xp, cache, P, g_out, need_g_in[, out])  -> (g_P, g_in)
        rforward(xp, cache, P, Rh, RP)         -> (Rout, Rcache)
        rbackward(xp, cache, P, g_out, Rcache, Rh, RP, Rg_out, need_g_in, need_g_P[, out]) -> (Rg_P, Rg_in)

    ``out`` (layers with parameters may accept it): the views of the flat gradient buffer where g_P goes;
    a layer that writes there returns those views, one that does not returns fresh arrays (the driver
    copies them in).

    ``hooked`` layers (dense, conv) are the *parametrized layers* of the hyperparameters: the noise and
    dropout act on their input and the weight penalties on their first parameter (the weights W).
    """

    hooked = False
    writes_out = False  # whether backward/rbackward take ``out=`` (the gradient buffer's views)
    group = 0  # where the parameters sit in θ: group 0 (the hooked layers' W, b) first, then group 1 (BN)

    def param_shapes(self, in_shape):
        return []

    def out_shape(self, in_shape):
        return in_shape

    def init(self, rng, in_shape, dtype, gain):
        """Initial parameters (arrays in ``dtype``), drawn from ``rng`` in a fixed order."""
        return []

    def eval_forward(self, xp, h, P, stats=None):
        """The forward pass at evaluation (batch norm: running statistics when given)."""
        return self.forward(xp, h, P)[0]
