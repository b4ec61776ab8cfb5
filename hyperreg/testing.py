"""⟨v, J w⟩ = ⟨Jᵀv, w⟩ = ⟨v, d/ds f(x + s w)⟩: finite-difference checks of hand-written derivatives.

A layer's four passes (STYLE.md) are checked against float64 fourth-order central differences along a
direction w:

    backward (VJP):    ⟨backward(x, v), w⟩   = ⟨v, d/ds f(x + s w)⟩
    R-forward (JVP):   rforward(x, w)        = d/ds f(x + s w)
    R-backward:        rbackward(x, v, w, Rv) = d/ds backward(x + s w, v + s Rv)

The error is scaled by the norms involved — ‖w‖(‖Jᵀv‖ + ‖v‖) for a VJP, ‖w‖(‖J ŵ‖ + 1) for a JVP, ŵ = w/‖w‖ —
never by the result alone, which would make a small result flaky. The stencil steps h = 1e-4 along ŵ, so its
truncation error O(h⁴) ~ 1e-16 and its round-off O(1e-16/h) ~ 1e-12 both sit far below the tolerance 1e-6.

Arrays may live on any backend (numpy, cupy, torch, array_api_strict): they are moved to the host only to be
compared. An input, direction or result may be one array or a (nested) tuple of arrays, and ``None`` stands for
an identically-zero direction or result, as it does in ``hyperreg/nn/layers.py``.

Examples
--------
Check a dense layer, a = h W + b, given as functions of the tuple x = (h, W, b):

>>> from hyperreg import get_backend
>>> from hyperreg.nn.layers import dense_backward, dense_forward, dense_rbackward, dense_rforward
>>> be = get_backend("numpy")
>>> xp, rng = be.xp, be.rng(0)
>>> x = (rng.normal((4, 3)), rng.normal((3, 2)), rng.normal((2,)))       # h, W, b
>>> def backward(x, g_a):                                               # in the order of x
...     g_W, g_b, g_h = dense_backward(xp, x[0], x[1], g_a)
...     return g_h, g_W, g_b
>>> def rbackward(x, g_a, w, Rg_a):
...     Rg_W, Rg_b, Rg_h = dense_rbackward(xp, x[0], x[1], g_a, w[0], w[1], Rg_a)
...     return Rg_h, Rg_W, Rg_b
>>> errors = check_layer(lambda x: dense_forward(xp, *x), x, rng.normal((4, 2)), backward=backward,
...                      rforward=lambda x, w: dense_rforward(xp, x[0], x[1], *w), rbackward=rbackward)
>>> sorted(errors), all(e < TOL for e in errors.values())
(['backward', 'rbackward', 'rforward'], True)
"""

from __future__ import annotations

import numpy as np

from .backends import backend_of, get_backend

FD_STEP = 1e-4  # 5-point stencil: truncation O(h⁴) ~ 1e-16 · f⁽⁵⁾, round-off O(1e-16 / h) ~ 1e-12
TOL = 1e-6

_HOST = (np.ndarray, np.generic, float, int)


# --- host values and norms ------------------------------------------------------------------------


def host(be, x):
    """``x`` as a float64 NumPy array on the host; ``be`` (a Backend, or None to find it from ``x``)
    does the transfer. Tuples are returned as tuples, ``None`` stays ``None``."""
    if x is None:
        return None
    if isinstance(x, (tuple, list)):
        return tuple(host(be, v) for v in x)
    if isinstance(x, _HOST):
        return np.asarray(x, dtype=np.float64)
    return np.asarray((be or backend_of(x)).to_numpy(x), dtype=np.float64)


def _flat(x) -> np.ndarray:
    """All leaves of a host value, raveled and concatenated (None leaves contribute nothing)."""
    if x is None:
        return np.zeros(0)
    if isinstance(x, tuple):
        return np.concatenate([_flat(v) for v in x] + [np.zeros(0)])
    return np.ravel(x)


def norm(be, x) -> float:
    """‖x‖₂ over all entries of an array or tuple of arrays (None counts as zero)."""
    return float(np.linalg.norm(_flat(host(be, x))))


def _pair(got, want):
    """The two host values flattened side by side: broadcast to each other, None read as zeros."""
    if got is None and want is None:
        return np.zeros(0), np.zeros(0)
    if got is None or want is None:
        other = _flat(want if got is None else got)
        return (np.zeros_like(other), other) if got is None else (other, np.zeros_like(other))
    if isinstance(got, tuple) or isinstance(want, tuple):
        got = got if isinstance(got, tuple) else (got,)
        want = want if isinstance(want, tuple) else (want,)
        if len(got) != len(want):
            raise ValueError(f"results must have the same structure: {len(got)} parts against {len(want)}")
        parts = [_pair(g, w) for g, w in zip(got, want)]
        return (np.concatenate([p[0] for p in parts] + [np.zeros(0)]),
                np.concatenate([p[1] for p in parts] + [np.zeros(0)]))
    try:  # an R-value may be broadcastable, not broadcast: Ra = Rb when only the bias is seeded
        got, want = np.broadcast_arrays(got, want)
    except ValueError:
        shapes = f"{np.shape(got)} against {np.shape(want)}"
        raise ValueError(f"results must have broadcastable shapes: {shapes}") from None
    return np.ravel(got), np.ravel(want)


def _inner(be, a, b) -> float:
    """⟨a, b⟩ over all leaves (None: zero)."""
    a, b = _pair(host(be, a), host(be, b))
    return float(a @ b)


def assert_close(be, got, want, scale, tol=TOL, what=""):
    """‖got − want‖ ≤ tol · scale, where scale combines the norms of the direction and the results.

    ``got`` and ``want`` are arrays (any backend, or host), numbers, or tuples of them; None is zero."""
    g, w = _pair(host(be, got), host(be, want))
    err = float(np.linalg.norm(g - w))
    if err > tol * scale:
        worst = int(np.argmax(np.abs(g - w)))
        raise AssertionError(f"{what}: error {err:.3e} > {tol:.0e} × scale {scale:.3e}; worst entry {worst} of "
                             f"{g.size}: got {g[worst]:.6e}, want {w[worst]:.6e}")
    return err


# --- finite differences ---------------------------------------------------------------------------


def central(f, x, w, h=FD_STEP):
    """d/ds f(x + s w) at s = 0 by the fourth-order central stencil
    (8[f(x+hw) − f(x−hw)] − [f(x+2hw) − f(x−2hw)]) / 12h, for array-valued or scalar f (host float64).

    Fourth order because batch norm on tiny batches is curved enough that the second-order
    stencil's truncation error can reach the 1e-6 tolerance."""
    return (8 * (f(x + h * w) - f(x - h * w)) - (f(x + 2 * h * w) - f(x - 2 * h * w))) / (12 * h)


def _step(x, s, w):
    """x + s w leaf by leaf (a None direction leaves its input unchanged)."""
    if w is None:
        return x
    if isinstance(x, (tuple, list)):
        if not isinstance(w, (tuple, list)) or len(w) != len(x):
            raise ValueError("the direction w must have the structure of x (None for an unperturbed part)")
        return tuple(_step(a, s, b) for a, b in zip(x, w))
    return x + s * w


def _map(fn, x):
    if x is None:
        return None
    return tuple(_map(fn, v) for v in x) if isinstance(x, tuple) else fn(x)


def _unflat(flat, like):
    """``flat`` cut back into the structure and shapes of the host value ``like`` (inverse of ``_flat``)."""
    start = 0

    def cut(leaf):
        nonlocal start
        if isinstance(leaf, tuple):
            return tuple(cut(v) for v in leaf)
        if leaf is None:
            return None
        start += leaf.size
        return np.reshape(flat[start - leaf.size:start], leaf.shape)

    return cut(like)


def directional(f, x, w, h=FD_STEP):
    """d/ds f(x + s w) at s = 0, host float64, by ``central`` along ŵ = w/‖w‖ (then times ‖w‖), so the
    step in x is h whatever the size of w. ``x``, ``w`` and f's result may be tuples; w's None parts stay put."""
    nw = norm(None, w)
    if nw == 0.0:
        return _map(np.zeros_like, host(None, f(x)))
    seen = []

    def along(s):  # f(x + s ŵ) as one host vector
        seen.append(host(None, f(_step(x, s / nw, w))))
        return _flat(seen[-1])

    return _unflat(nw * central(along, 0.0, 1.0, h), seen[-1])


def random_direction(x, seed=0):
    """A standard-normal float64 direction shaped like ``x`` (an array or tuple), drawn on x's backend."""
    leaves = [v for v in _leaves(x) if not isinstance(v, _HOST)]
    rng = (backend_of(leaves[0]) if leaves else get_backend("numpy")).rng(seed)

    def draw(v):
        if v is None:
            return None
        if isinstance(v, _HOST):
            return np.asarray(host(None, rng.normal(np.shape(v))))
        return rng.normal(tuple(v.shape))

    return _map(draw, tuple(x) if isinstance(x, list) else x)


def _leaves(x):
    if isinstance(x, (tuple, list)):
        return [leaf for v in x for leaf in _leaves(v)]
    return [x]


# --- the checks -----------------------------------------------------------------------------------


def check_jvp(f, x, w, jvp, tol=TOL, h=FD_STEP, what="jvp"):
    """J w = d/ds f(x + s w): assert ‖jvp − FD‖ ≤ tol ‖w‖(‖J ŵ‖ + 1) and return that error over the scale.

    Parameters
    ----------
    f : callable
        x ↦ f(x), an array or tuple of arrays.
    x, w : array or tuple of arrays
        The point and the direction (None parts of w are not perturbed).
    jvp : array or tuple of arrays
        The derivative to check, shaped like f(x) (None parts: identically zero).
    """
    scale = norm(None, jvp) + norm(None, w) or 1.0  # ‖w‖(‖J ŵ‖ + 1)
    err = assert_close(None, jvp, directional(f, x, w, h), scale, tol, what)
    return err / scale


def check_vjp(f, x, v, vjp, w, tol=TOL, h=FD_STEP, what="vjp"):
    """⟨Jᵀv, w⟩ = ⟨v, d/ds f(x + s w)⟩: assert the gap ≤ tol ‖w‖(‖Jᵀv‖ + ‖v‖); return gap over the scale.

    Parameters
    ----------
    f : callable
        x ↦ f(x), an array or tuple of arrays.
    x, w : array or tuple of arrays
        The point and the direction.
    v : array or tuple of arrays
        The cotangent, shaped like f(x) (a scalar for a loss).
    vjp : array or tuple of arrays
        The gradient to check, Jᵀv, shaped like x (None parts: identically zero).
    """
    got, want = _inner(None, vjp, w), _inner(None, v, directional(f, x, w, h))
    scale = norm(None, w) * (norm(None, vjp) + norm(None, v)) or 1.0
    assert_close(None, got, want, scale, tol, what)
    return abs(got - want) / scale


RANDOM = "random"  # check_layer's default directions: drawn by random_direction


def check_layer(forward, x, v, backward=None, rforward=None, rbackward=None, w=RANDOM, Rv=RANDOM, seed=0,
                tol=TOL, h=FD_STEP):
    """Check a layer's passes against finite differences of its forward (and of its backward).

    backward:    ⟨backward(x, v), w⟩ = ⟨v, d/ds forward(x + s w)⟩
    R-forward:   rforward(x, w) = d/ds forward(x + s w)
    R-backward:  rbackward(x, v, w, Rv) = d/ds backward(x + s w, v + s Rv)

    Parameters
    ----------
    forward : callable
        x ↦ y, an array or tuple of arrays.
    x : array or tuple of arrays
        The layer's inputs and parameters, float64.
    v : array or tuple of arrays
        The cotangent g_y, shaped like y.
    backward, rforward, rbackward : callable, optional
        The passes to check (a pass left out is not checked); each returns values shaped like x
        (backward, rbackward) or y (rforward), None for an identically-zero part.
    w, Rv : array or tuple of arrays, optional
        The directions in x and in v; by default drawn by ``random_direction`` from ``seed`` (pick a seed
        other than your data's). None, or a None part, is an unseeded (identically zero) R-value, as in
        ``hyperreg/nn/layers.py``.

    Returns
    -------
    dict
        For each pass checked, its error over its scale (each ≤ tol, else AssertionError).
    """
    w = random_direction(x, seed) if isinstance(w, str) and w == RANDOM else w
    errors = {}
    if backward is not None:
        errors["backward"] = check_vjp(forward, x, v, backward(x, v), w, tol, h, "backward")
    if rforward is not None:
        errors["rforward"] = check_jvp(forward, x, w, rforward(x, w), tol, h, "R-forward")
    if rbackward is not None:
        if backward is None:
            raise ValueError("rbackward is checked against finite differences of backward: pass backward too")
        Rv = random_direction(v, seed + 1) if isinstance(Rv, str) and Rv == RANDOM else Rv
        errors["rbackward"] = check_jvp(lambda xv: backward(*xv), (x, v), (w, Rv), rbackward(x, v, w, Rv),
                                        tol, h, "R-backward")
    return errors


__all__ = ["FD_STEP", "RANDOM", "TOL", "assert_close", "central", "check_jvp", "check_layer", "check_vjp",
           "directional", "host", "norm", "random_direction"]

