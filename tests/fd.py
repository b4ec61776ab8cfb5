"""The finite-difference helpers of the derivative tests: ``hyperreg.testing``, re-exported under the
names the test files import (one home for the stencil, the host transfer and the scaled comparison)."""

from __future__ import annotations

from hyperreg.testing import (  # noqa: F401
    FD_STEP,
    TOL,
    assert_close,
    central,
    check_jvp,
    check_layer,
    check_vjp,
    directional,
    host,
    norm,
    random_direction,
)
