"""``MLP(sizes, …)``: the public constructor of a dense stack — a ``Net`` of ``Dense`` layers.

    L_T(θ, λ) = mean_B CE(f(x; θ, σ, ε, m), y) + Σ_l (λ_l / 2) ‖W_l‖² [+ Σ_l λ_l Σ ψ(W_l) for ℓ1, ℓ½]
    L_V(θ)    = mean CE(f(x; θ, 0), y)
"""

from __future__ import annotations

from . import _checks as chk
from .net import Net
from .nn.dense import Dense
from .regularizers import PENALTY_EPS
from .sample import Noise


class MLP(Net):
    """A multilayer perceptron whose regularization strengths are differentiable hyperparameters.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths ``[d_in, h_1, …, n_classes]``; L = len(sizes) − 1 dense layers.
    activation, batchnorm, l2, l1, lhalf, noise, dropout, backend, dtype, keep_delta, penalty_eps, validate
        As for ``Net`` (here ``noise`` defaults to None: no noise hyperparameters).

    θ holds W_0, b_0, …, W_{L−1}, b_{L−1} (W_l of shape (sizes[l], sizes[l+1])), then (γ_l, β_l) per hidden
    layer with batch norm.
    """

    def __init__(self, sizes, activation="relu", batchnorm=False, l2="per-layer", noise=None,
                 dropout=None, backend="numpy", dtype="float64", keep_delta=0.05, validate=True, l1=None,
                 lhalf=None, penalty_eps=PENALTY_EPS, **more):
        sizes = [int(chk.check_positive_int(s, f"sizes[{i}]")) for i, s in enumerate(sizes)]
        if len(sizes) < 2:
            raise ValueError(f"sizes must list at least an input and an output width, got {sizes}")
        self.sizes = tuple(sizes)
        super().__init__((sizes[0],), [Dense(s) for s in sizes[1:]], activation=activation, batchnorm=batchnorm,
                         l2=l2, noise=noise, dropout=dropout, backend=backend, dtype=dtype, keep_delta=keep_delta,
                         validate=validate, l1=l1, lhalf=lhalf, penalty_eps=penalty_eps, **more)

    def __repr__(self):
        regs = ", ".join(f"{k}={len(b.names)}" for k, b in self.blocks.items())
        return (f"MLP(sizes={list(self.sizes)}, activation={self.activation!r}, "
                f"batchnorm={self.batchnorm}, {regs or 'no hyperparameters'}, backend={self.backend.name!r})")


__all__ = ["MLP", "Noise"]
