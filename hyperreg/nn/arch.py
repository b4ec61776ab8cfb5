"""An architecture as one string, e.g. ``"c16k3-mp2-c32k3-mp2-d10"`` (``hyperreg tune --arch``).

Layers joined by ``-``:

    c<C>k<k>[s<s>][v]   Conv(C, k, stride=s, padding="valid" if v else "same")
    mp<k>, ap<k>        MaxPool(k), AvgPool(k)
    d<n>                Dense(n); the last layer is Dense(number of classes)
"""

from __future__ import annotations

import re

from .conv import Conv
from .dense import Dense
from .pool import AvgPool, MaxPool

GRAMMAR = ("layers joined by '-': c<channels>k<kernel>[s<stride>][v] (convolution; v: valid padding, "
           "default same), mp<k> / ap<k> (max / average pool), d<width> (dense); e.g. c16k3-mp2-c32k3-mp2-d10")
_TOKENS = [
    (re.compile(r"c(\d+)k(\d+)(?:s(\d+))?(v?)"),
     lambda m: Conv(int(m[1]), int(m[2]), stride=int(m[3] or 1), padding="valid" if m[4] else "same")),
    (re.compile(r"mp(\d+)"), lambda m: MaxPool(int(m[1]))),
    (re.compile(r"ap(\d+)"), lambda m: AvgPool(int(m[1]))),
    (re.compile(r"d(\d+)"), lambda m: Dense(int(m[1]))),
]


def parse_arch(spec: str) -> list:
    """The layer objects of ``spec`` (see the module docstring); ValueError naming the bad token otherwise."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"arch must be a non-empty string of {GRAMMAR}; got {spec!r}")
    layers = []
    for token in spec.strip().lower().split("-"):
        for pattern, make in _TOKENS:
            m = pattern.fullmatch(token)
            if m:
                try:
                    layers.append(make(m))
                except ValueError as exc:
                    raise ValueError(f"arch {spec!r}: layer {token!r}: {exc}") from None
                break
        else:
            raise ValueError(f"arch {spec!r}: {token!r} is not a layer; write {GRAMMAR}")
    if not isinstance(layers[-1], Dense):
        raise ValueError(f"arch {spec!r} must end in a dense layer d<classes> that gives the logits, e.g. "
                         f"{spec}-d10")
    return layers


def arch_input_shape(layers, feature_shape) -> tuple:
    """One example's shape for ``layers`` from a dataset's ``feature_shape``: (C, H, W) when a layer is
    spatial ((H, W) images get one channel), else the flattened (d,)."""
    shape = tuple(int(s) for s in feature_shape)
    if all(isinstance(layer, Dense) for layer in layers):
        size = 1
        for s in shape:
            size *= s
        return (size,)
    if len(shape) == 2:
        return (1, *shape)
    if len(shape) == 3:
        return shape
    raise ValueError(f"a convolutional arch needs image data with examples of shape (H, W) or (C, H, W), got "
                     f"{shape}; use --sizes for an MLP on these features")
