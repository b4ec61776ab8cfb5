"""``Dataset``: the three splits T1 (train), T2 (validation) and test, flattened, float, labelled 0..K−1."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Dataset:
    """T1 / T2 / test splits of one dataset, ready for an MLP.

    Parameters
    ----------
    X_train, y_train : ndarray, (n1, d) float and (n1,) int64
        T1: the elementary parameters θ are trained on it.
    X_val, y_val : ndarray, (n2, d) and (n2,)
        T2: the hyperparameters λ are tuned on its (unregularised) cost (Luketina et al. 2016, §2).
    X_test, y_test : ndarray, (n3, d) and (n3,)
        Held out from both; reported only.
    n_classes : int
        K; every label lies in 0..K−1.
    name : str
        The spec the data came from (``"digits"``, ``"npz:/path/file.npz"``, ...).
    feature_shape : tuple of int
        Shape of one example before flattening (``(28, 28)`` for MNIST, ``(3, 32, 32)`` for CIFAR-10 and
        SVHN — channels first), with ``prod(feature_shape) == d``.
    preprocess : str
        The preprocessing pipeline applied (fitted on T1 only), e.g. ``"gcn+zca"``.
    seed : int or None
        The seed the splits were drawn from; None when nothing was drawn (explicit npz splits).
    indices : dict of str to ndarray
        Rows of the source arrays each split came from: ``"train"`` and ``"val"`` index the training pool
        (the official training set, or the whole data when there is no official test set); ``"test"``
        indexes the official test set when there is one, else the same pool as train and val.
    """

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int
    name: str
    feature_shape: tuple
    preprocess: str = "none"
    seed: int | None = None
    indices: dict = field(default_factory=dict, repr=False)

    def __post_init__(self):
        self.validate()

    def validate(self):
        """Raise ValueError, naming the data and the fix, unless every split is a non-empty (n, d) X with n
        labels, all with the same d, T1 holds two classes or more, and the labels are exactly 0..K−1 with
        every class occurring (K = n_classes): labels {5, 6, 7} would train a net whose outputs 0..4 never
        occur."""
        splits = {"T1": (self.X_train, self.y_train), "T2": (self.X_val, self.y_val),
                  "test": (self.X_test, self.y_test)}
        for split, (X, y) in splits.items():
            if X.ndim != 2 or y.ndim != 1 or len(X) != len(y):
                raise ValueError(f"{self.name}: {split} must be X (n, d) and y (n,), got {X.shape} and {y.shape}")
            if len(y) == 0:
                raise ValueError(f"{self.name}: {split} is empty; every split needs examples (give more data, "
                                 "or larger val_size / test_size)")
            if X.shape[1] != self.X_train.shape[1]:
                raise ValueError(f"{self.name}: {split} has {X.shape[1]} features, T1 has "
                                 f"{self.X_train.shape[1]}; all splits need the same features")
        present = np.unique(np.concatenate([y for _, y in splits.values()]))
        if len(np.unique(self.y_train)) < 2:
            raise ValueError(f"{self.name}: T1 holds one class only ({present.tolist()} over all splits); a "
                             "classifier needs two classes or more")
        if present.tolist() != list(range(self.n_classes)):
            shown = present.tolist() if len(present) <= 12 else f"{present[:12].tolist()}…"
            raise ValueError(f"{self.name}: labels must be 0..K-1 with every class present, got {shown}; "
                             "encode them with y = np.unique(y_all, return_inverse=True)[1] over all splits "
                             "together, then split")

    @property
    def n_features(self) -> int:
        """d, the length of one flattened example."""
        return int(self.X_train.shape[1])

    def sizes(self) -> dict:
        """``{"train": n1, "val": n2, "test": n3}``."""
        return {"train": len(self.y_train), "val": len(self.y_val), "test": len(self.y_test)}

    def summary(self) -> str:
        """One line for logs: name, split sizes, features, classes, preprocessing, seed."""
        s = self.sizes()
        return (f"{self.name}: T1 {s['train']}, T2 {s['val']}, test {s['test']} examples; "
                f"{self.n_features} features {tuple(self.feature_shape)}, {self.n_classes} classes; "
                f"preprocess={self.preprocess}, seed={self.seed}")

    def __repr__(self) -> str:
        return f"Dataset({self.summary()})"
