"""The problem each method is timed on: a size × batch × dtype on one backend, with random data.

    sizes A 784-100-100-100-10,  B 784-1000-1000-1000-10,  C 784-4000-2000-1000-500-250-10
    CNNs  cnn28     1×28×28  c16k3-mp2-c32k3-mp2-d10 (the README's MNIST-sized CNN)
          allcnn32  3×32×32  c32k3-c32k3-c32k3s2-c64k3-c64k3-c64k3s2-c64k3-c64k1-ap8-d10: All-CNN-C
                    (Springenberg et al. 2015, Luketina et al.'s CIFAR-10 net) at a third of its widths
                    (96 → 32, 192 → 64 channels) to fit a CPU; its last 1×1 conv to 10 classes and the global
                    average pool are written as ap8-d10 (the same linear map: pooling commutes with it)

A CNN size is spelled ``CxHxW:arch`` (``hyperreg tune --arch``'s grammar), e.g. ``1x8x8:c4k3-mp2-d3``.
The values do not change the cost; the networks use ``validate=False``, the hot-loop setting
(validation reads every input back to the host).
"""

from __future__ import annotations

from dataclasses import dataclass

SIZES = {
    "A": (784, 100, 100, 100, 10),
    "B": (784, 1000, 1000, 1000, 10),
    "C": (784, 4000, 2000, 1000, 500, 250, 10),
    "cnn28": "1x28x28:c16k3-mp2-c32k3-mp2-d10",
    "allcnn32": "3x32x32:c32k3-c32k3-c32k3s2-c64k3-c64k3-c64k3s2-c64k3-c64k1-ap8-d10",
}
LR = 0.05  # η of the SGD step (its value does not change the cost)
TANGENT_SCALE = 1e-3  # a small tangent: a plausible Y after a few steps
BENCH_BACKENDS = ("numpy", "cupy", "torch")

# Modes: the grids each covers (one backend per run).
QUICK = {"sizes": ("A", "B"), "batches": (100,), "dtypes": ("float32",), "repeats": 3, "warmup": 1,
         "min_time": 0.0}
FULL = {"sizes": ("A", "B", "C"), "batches": (100, 1000), "dtypes": ("float32", "float64"),
        "repeats": 5, "warmup": 2, "min_time": 0.3}


@dataclass
class Case:
    """One size × batch × dtype on one backend: the two networks, θ, λ, a batch, noise, tangents, v."""

    backend: object
    sizes: tuple  # MLP widths, or a CNN's "CxHxW:arch"
    batch: int
    dtype: str
    net_l2: object  # L2 per layer
    net_noise: object  # L2 and additive noise per layer
    theta: object
    theta_out: object  # where the plain step writes θ' (the tuner's second θ buffer)
    lam_l2: object
    lam_noise: object
    X: object
    y: object
    Xv: object
    yv: object
    noise: list  # ε_l, shaped as each parametrized layer's input (batch, d_l) or (batch, C, H, W)
    tangent_l2: object  # Y = dθ/dλ, (n_params, K)
    tangent_noise: object
    v: object  # the direction of the HVP, (n_params,)


def make_case(backend, sizes, batch, dtype, seed=0):
    """A ``Case`` drawn from ``backend.rng(seed)``: X, X_V ~ N(0, I), labels uniform, θ from ``init_params``;
    ``sizes`` MLP widths or a CNN's ``"CxHxW:arch"`` (``parse_size``)."""
    nets = [make_net(sizes, backend, dtype, noise) for noise in (None, "per-layer")]
    rng = backend.rng(seed)
    theta = nets[0].init_params(seed)
    shape, n_out = nets[0].input_shape, nets[0].n_classes
    X, Xv = rng.normal((batch, *shape), dtype), rng.normal((batch, *shape), dtype)
    y, yv = rng.integers(n_out, batch), rng.integers(n_out, batch)

    def tangent(net):  # column-contiguous (n_params, K), the layout hypergrad.forward keeps Y in
        return backend.xp.matrix_transpose(rng.normal((net.n_hypers, net.n_params), dtype) * TANGENT_SCALE)

    return Case(backend, sizes if isinstance(sizes, str) else tuple(sizes), batch, dtype, nets[0], nets[1], theta,
                backend.xp.zeros_like(theta),
                nets[0].init_hypers(l2=1e-3), nets[1].init_hypers(l2=1e-3, noise=0.1),
                X, y, Xv, yv, nets[1].sample_noise(batch, rng), tangent(nets[0]), tangent(nets[1]),
                rng.normal((nets[0].n_params,), dtype) * TANGENT_SCALE)


def make_net(sizes, backend, dtype, noise=None):
    """The benchmark's network: ``MLP(sizes)``, or the ``Net`` of a ``"CxHxW:arch"``; L2 per layer, ``noise``
    None or "per-layer", ``validate=False``."""
    from ..mlp import MLP

    if not isinstance(sizes, str):
        return MLP(sizes, l2="per-layer", noise=noise, backend=backend, dtype=dtype, validate=False)
    from ..net import Net
    from ..nn.arch import parse_arch

    head, _, arch = sizes.partition(":")
    return Net(tuple(int(s) for s in head.split("x")), parse_arch(arch), l2="per-layer", noise=noise,
               backend=backend, dtype=dtype, validate=False)


def resolve_backend(name="numpy", device=None):
    """The backend, checked usable here (a clear error otherwise); torch goes to CUDA when it can."""
    from ..backends import BACKENDS, get_backend

    if name not in BENCH_BACKENDS:
        raise ValueError(f"--backend must be one of {BENCH_BACKENDS} (known backends: {BACKENDS}), got {name!r}")
    if name == "torch" and device is None:
        from ..backends._torch import _import_torch

        device = "cuda" if _import_torch().cuda.is_available() else "cpu"
    be = get_backend(name, device)  # MissingBackendError (an ImportError) names the pip extra
    try:
        be.rng(0).normal((1,))
        be.synchronize()
    except Exception as exc:  # noqa: BLE001 - e.g. CuPy installed but no usable GPU or driver
        raise ValueError(
            f"backend {name!r} is installed but not usable here: {type(exc).__name__}: {exc}") from exc
    return be


def parse_size(spec):
    """'A' / 'B' / 'C' / 'cnn28' / 'allcnn32', widths joined by '-' (e.g. '20-8-8-3') or a CNN
    'CxHxW:arch' (e.g. '1x8x8:c4k3-mp2-d3') → (label, sizes); sizes a tuple of widths or the CNN string."""
    if isinstance(spec, (list, tuple)):
        return "-".join(map(str, spec)), tuple(int(s) for s in spec)
    if spec in SIZES:
        return spec, SIZES[spec]
    if ":" in str(spec):
        return spec, _parse_cnn(spec)
    try:
        sizes = tuple(int(s) for s in str(spec).split("-"))
    except ValueError:
        sizes = ()
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError(f"size must be one of {sorted(SIZES)}, widths like 784-100-10 or a CNN "
                         f"CxHxW:arch like 1x28x28:c16k3-mp2-d10, got {spec!r}")
    return spec, sizes


def _parse_cnn(spec):
    """A CNN size 'CxHxW:arch', checked: the shape's three positive ints, the arch parsed and built on it."""
    from ..net import build_stack
    from ..nn.arch import parse_arch

    head, _, arch = spec.partition(":")
    try:
        shape = tuple(int(s) for s in head.split("x"))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(f"a CNN size is CxHxW:arch with C, H, W positive integers (e.g. 1x28x28:c16k3-mp2-d10), "
                         f"got {spec!r}")
    try:
        build_stack(parse_arch(arch), "relu", False, shape)
    except ValueError as exc:
        raise ValueError(f"size {spec!r}: {exc}") from None
    return f"{head}:{arch}"
