"""Finite-difference helpers shared by the derivative tests (float64, central differences).

Errors are scaled by the norms involved — ‖w‖(‖jvp‖ + ‖v‖) in STYLE.md's words — never by the
result alone, which would make a small result flaky.
"""

from __future__ import annotations

import numpy as np

FD_STEP = 1e-4  # 5-point stencil: truncation O(h⁴) ~ 1e-16 · f⁽⁵⁾, round-off O(1e-16 / h) ~ 1e-12
TOL = 1e-6


def host(be, x):
    return np.asarray(be.to_numpy(x), dtype=np.float64)


def central(f, x, w, h=FD_STEP):
    """d/ds f(x + s w) at s = 0 by the fourth-order central stencil
    (8[f(x+hw) − f(x−hw)] − [f(x+2hw) − f(x−2hw)]) / 12h, for array-valued or scalar f (host float64).

    Fourth order because batch norm on tiny batches is curved enough that the second-order
    stencil's truncation error can reach the 1e-6 tolerance."""
    return (8 * (f(x + h * w) - f(x - h * w)) - (f(x + 2 * h * w) - f(x - 2 * h * w))) / (12 * h)


def assert_close(be, got, want, scale, tol=TOL, what=""):
    """‖got − want‖ ≤ tol · scale, where scale combines the norms of the direction and results."""
    got, want = host(be, got), host(be, want)
    err = float(np.linalg.norm(got - want))
    assert err <= tol * scale, f"{what}: error {err:.3e} > {tol:.0e} × scale {scale:.3e}\ngot  {got}\nwant {want}"


def norm(be, x):
    return float(np.linalg.norm(host(be, x)))
