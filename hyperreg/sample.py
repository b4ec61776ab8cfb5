"""A network's noise sample for one minibatch: ε for the additive noise, U for the dropout masks."""

from __future__ import annotations

from dataclasses import dataclass

from . import _checks as chk


@dataclass
class Noise:
    """A noise sample for one minibatch: ε_l for the additive noise and U_l for the dropout masks.

    A plain list of ε arrays is accepted wherever a ``Noise`` is, when dropout is off.
    """

    eps: list | None = None
    uniform: list | None = None


def noise_parts(noise, blocks, shapes, dtype, check):
    """(ε list or None, U list or None) from a ``Noise``, a list of ε or None; checked against ``shapes``
    (one per parametrized layer's input) when ``check``."""
    eps = uniform = None
    if isinstance(noise, Noise):
        eps, uniform = noise.eps, noise.uniform
    elif noise is not None:
        eps = noise
    for kind, arrs, what in (("noise", eps, "ε"), ("keep", uniform, "dropout uniforms")):
        if kind not in blocks:
            continue
        if arrs is None or len(arrs) != len(shapes):
            raise ValueError(
                f"noise must carry {len(shapes)} {what} arrays (one per parametrized layer) for this "
                f"network's {kind!r} hyperparameters; draw them with net.sample_noise(n, rng)")
        if check:
            for i, (a, shape) in enumerate(zip(arrs, shapes)):
                chk.check_shape(a, shape, f"noise[{i}] ({what})")
                chk.check_float(a, dtype, f"noise[{i}] ({what})")
    return eps, uniform
