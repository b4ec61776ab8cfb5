"""Preprocessing from the papers: centering, standardizing, global contrast normalization, ZCA whitening.

Statistics (means, scales, the whitening matrix) are fitted on T1 only and applied unchanged to T1, T2 and
the test set, so neither T2 nor the test set leaks into the model. Luketina et al. (2016, §4) centre each
feature for MNIST, use GCN alone for SVHN, and GCN then whitening for CIFAR-10.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: ZCA regulariser, in units of the mean eigenvalue of the T1 covariance (so it does not depend on the
#: data's scale). 0.1 is the order of pylearn2's default ``filter_bias`` on GCN'd CIFAR-10 whose features
#: have about unit variance; it damps directions with less than ~10% of the mean variance (pixel noise)
#: instead of amplifying them. Use ~1e-8 for an (almost) exact whitening.
ZCA_EPS = 0.1
#: Per-sample scales below this are left at 1 (GCN) and per-feature ones too (standardize), so constant
#: examples or constant features (the blank border pixels of MNIST and digits) map to 0, not to inf.
MIN_DIVISOR = 1e-8
STEPS = ("center", "standardize", "gcn", "zca")


@dataclass(frozen=True)
class Affine:
    """x ↦ ((x − mean) · scale) W, fitted on T1; ``scale`` (d,) and ``W`` (d, d) are optional."""

    mean: np.ndarray
    scale: np.ndarray | None = None
    W: np.ndarray | None = None

    def __call__(self, X: np.ndarray) -> np.ndarray:
        Z = X - self.mean
        if self.scale is not None:
            Z = Z * self.scale
        return Z if self.W is None else Z @ self.W


def fit_center(X: np.ndarray) -> Affine:
    """x ↦ x − μ, μ the per-feature mean of X (n, d): the transformed X has zero mean per feature."""
    return Affine(X.mean(axis=0))


def fit_standardize(X: np.ndarray, min_std: float = MIN_DIVISOR) -> Affine:
    """x ↦ (x − μ) / s, μ and s the per-feature mean and std of X (features with s < min_std keep s = 1)."""
    std = X.std(axis=0)
    return Affine(X.mean(axis=0), 1.0 / np.where(std < min_std, 1.0, std))


def fit_zca(X: np.ndarray, eps: float = ZCA_EPS) -> Affine:
    """x ↦ (x − μ) W with W = U (S + ε s̄ I)^(−1/2) Uᵀ, where C = U S Uᵀ is the covariance of X (n, d).

    The ZCA ("zero-phase") whitening of Bell & Sejnowski (1997): among the matrices that whiten, the one
    closest to the identity, so whitened images still look like images. The covariance of the whitened X is
    U S (S + ε s̄)⁻¹ Uᵀ: the identity on directions whose variance is much larger than ε s̄ (s̄ the mean
    eigenvalue), shrunk on the low-variance ones instead of amplifying their noise.

    Parameters
    ----------
    X : ndarray (n, d)
        T1 only.
    eps : float
        Regulariser ε ≥ 0 in units of the mean eigenvalue s̄ = tr(C)/d; see ``ZCA_EPS``.
    """
    if not eps >= 0:
        raise ValueError(f"zca eps must be >= 0 (in units of the mean covariance eigenvalue), got {eps!r}")
    mean = X.mean(axis=0)
    Z = X - mean
    S, U = np.linalg.eigh(Z.T @ Z / len(X))
    S = np.clip(S, 0.0, None)  # eigh returns tiny negative eigenvalues for a singular covariance
    reg = eps * max(S.mean(), np.finfo(X.dtype).tiny)
    W = (U / np.sqrt(S + reg)) @ U.T
    return Affine(mean, W=W.astype(X.dtype, copy=False))


def gcn(X: np.ndarray, scale: float = 1.0, sqrt_bias: float = 0.0, min_divisor: float = MIN_DIVISOR):
    """x ↦ scale · (x − x̄) / √(sqrt_bias + mean((x − x̄)²)), per example (row) of X (n, d).

    Global contrast normalization (as in Goodfellow et al. 2013, maxout; cf. pylearn2's
    ``global_contrast_normalize`` with ``use_std``): each example gets zero mean over its features and
    standard deviation ``scale`` (population std, ddof 0)
    (L2 norm ``scale·√d``) when ``sqrt_bias`` is 0. It needs no statistics, so it is the same on every split.
    Examples whose divisor is below ``min_divisor`` (constant images) are only centred.
    """
    Z = X - X.mean(axis=1, keepdims=True)
    div = np.sqrt(sqrt_bias + (Z * Z).mean(axis=1, keepdims=True))
    return scale * Z / np.where(div < min_divisor, 1.0, div)


def parse_preprocess(method: str) -> tuple:
    """Steps of a pipeline string: ``"none"`` → (), ``"gcn+zca"`` → ("gcn", "zca")."""
    if not isinstance(method, str):
        raise TypeError("preprocess must be a string such as 'center' or 'gcn+zca', "
                        f"got {type(method).__name__}")
    text = method.strip().lower()
    steps = () if text in ("", "none") else tuple(s.strip() for s in text.split("+"))
    bad = [s for s in steps if s not in STEPS]
    if bad:
        raise ValueError(f"preprocess={method!r}: unknown step(s) {bad}; use 'none' or steps from "
                         f"{list(STEPS)} joined by '+', e.g. 'center', 'standardize', 'gcn', 'gcn+zca'")
    return steps


def preprocess(method: str, X_train: np.ndarray, *others: np.ndarray, zca_eps: float = ZCA_EPS,
               gcn_scale: float = 1.0) -> tuple:
    """Apply the pipeline ``method`` to T1 and to ``others`` (T2, test), every statistic fitted on T1.

    Parameters
    ----------
    method : str
        ``"none"`` or steps from ``STEPS`` joined by ``+``, applied left to right: ``"center"``,
        ``"standardize"``, ``"gcn"``, ``"zca"``, ``"gcn+zca"``... Each fitted step is fitted on T1 *as it
        stands after the previous steps*.
    X_train : ndarray (n1, d)
    *others : ndarray (n, d)
    zca_eps : float
        See ``fit_zca``.
    gcn_scale : float
        See ``gcn``.

    Returns
    -------
    tuple of ndarray: the transformed X_train followed by the transformed others.
    """
    arrays = (X_train,) + others
    for step in parse_preprocess(method):
        if step == "gcn":
            arrays = tuple(gcn(A, scale=gcn_scale) for A in arrays)
            continue
        fit = {"center": fit_center, "standardize": fit_standardize,
               "zca": lambda X: fit_zca(X, eps=zca_eps)}[step]
        transform = fit(arrays[0])
        arrays = tuple(transform(A) for A in arrays)
    return arrays
