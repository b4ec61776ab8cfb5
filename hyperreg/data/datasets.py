"""``load_dataset(spec)``: the dataset registry; read, scale, split into T1 / T2 / test, preprocess."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from . import formats
from .dataset import Dataset
from .download import ensure_mnist, resolve_cache_dir
from .idx import FASHION_MNIST_DIR, read_fashion_mnist
from .preprocess import ZCA_EPS, parse_preprocess
from .preprocess import preprocess as apply_preprocess
from .splits import split_indices


@dataclass(frozen=True)
class Source:
    """Arrays as read, before scaling and splitting; the optional pairs are official / explicit splits."""

    X: np.ndarray
    y: np.ndarray
    origin: str
    X_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    X_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    pixel_max: float = 1.0


@dataclass(frozen=True)
class DatasetInfo:
    """One registry entry: how to read the data and the papers' defaults for it.

    ``read(arg, cache_dir, download)`` gets the text after ``name:`` in the spec (or None).
    ``test_size`` is None where the data come with an official test set.
    """

    name: str
    description: str
    read: Callable
    val_size: float | int
    test_size: float | int | None
    preprocess: str


def _read_sklearn(loader_name: str, pixel_max: float):
    def read(arg, cache_dir, download):
        import sklearn.datasets

        X, y = getattr(sklearn.datasets, loader_name)(return_X_y=True)
        if loader_name == "load_digits":
            X = X.reshape(-1, 8, 8)
        return Source(X, y, f"sklearn.datasets.{loader_name}", pixel_max=pixel_max)
    return read


def _directory(arg, cache_dir: Path, default: str) -> Path:
    return Path(arg).expanduser() if arg else cache_dir / default


def _read_mnist(arg, cache_dir, download):
    directory = ensure_mnist(_directory(arg, cache_dir, "mnist"), download)
    X, y, X_test, y_test = formats.read_mnist(directory)
    return Source(X, y, str(directory), X_test=X_test, y_test=y_test, pixel_max=255.0)


def _read_fashion_mnist(arg, cache_dir, download):
    directory = Path(arg).expanduser() if arg else FASHION_MNIST_DIR
    X, y, X_test, y_test = read_fashion_mnist(directory)
    return Source(X, y, str(directory), X_test=X_test, y_test=y_test, pixel_max=255.0)


def _read_cifar10(arg, cache_dir, download):
    directory = _directory(arg, cache_dir, "cifar-10-batches-py")
    X, y, X_test, y_test = formats.read_cifar10(directory)
    return Source(X, y, str(directory), X_test=X_test, y_test=y_test, pixel_max=255.0)


def _read_svhn(arg, cache_dir, download):
    directory = _directory(arg, cache_dir, "svhn")
    X, y, X_test, y_test = formats.read_svhn(directory)
    return Source(X, y, str(directory), X_test=X_test, y_test=y_test, pixel_max=255.0)


def _read_npz(arg, cache_dir, download):
    if not arg:
        raise ValueError("dataset 'npz' needs a path: give 'npz:PATH' with PATH an .npz holding "
                         "arrays X and y")
    a = formats.read_npz(Path(arg).expanduser())
    return Source(a["X"], a["y"], str(arg), a.get("X_val"), a.get("y_val"), a.get("X_test"), a.get("y_test"))


DATASETS = {info.name: info for info in (
    DatasetInfo("digits", "scikit-learn's bundled 8×8 digits (1797 examples, 10 classes), pixels scaled to "
                "[0, 1]; no network", _read_sklearn("load_digits", 16.0), 0.2, 0.2, "center"),
    DatasetInfo("breast_cancer", "scikit-learn's bundled Wisconsin breast cancer (569 examples, 30 features, "
                "2 classes)", _read_sklearn("load_breast_cancer", 1.0), 0.2, 0.2, "standardize"),
    DatasetInfo("mnist", "MNIST IDX files (60000 + 10000 test, 28×28), pixels in [0, 1]; mnist:DIR reads DIR",
                _read_mnist, 5000, None, "center"),
    DatasetInfo("fashion-mnist", "Zalando's Fashion-MNIST IDX files (60000 + 10000 test, 28×28, 10 classes), "
                f"from Debian's dataset-fashion-mnist in {FASHION_MNIST_DIR}; fashion-mnist:DIR reads DIR; "
                "T1 / T2 = 55000 / 5000 drawn from the seed, as for MNIST", _read_fashion_mnist, 5000, None,
                "center"),
    DatasetInfo("cifar10", "CIFAR-10 python batches (50000 + 10000 test, 3×32×32) in cifar-10-batches-py/; "
                "cifar10:DIR reads DIR", _read_cifar10, 5000, None, "gcn+zca"),
    DatasetInfo("svhn", "SVHN cropped digits train_32x32.mat / test_32x32.mat (73257 + 26032 test, 3×32×32); "
                "svhn:DIR reads DIR", _read_svhn, 8257, None, "gcn"),
    DatasetInfo("npz", "npz:PATH, arrays X, y (and optionally X_val, y_val, X_test, y_test)", _read_npz,
                0.2, 0.2, "none"),
)}


def _features(X, origin: str, key: str, pixel_max: float, dtype) -> np.ndarray:
    """X (n, ...) as (n, d) floats divided by ``pixel_max``; refuses NaN and inf."""
    if X.dtype.kind not in "biuf":
        raise ValueError(f"{origin}: {key} must hold numbers, got dtype {X.dtype}")
    out = np.asarray(X, dtype=dtype).reshape(len(X), -1)
    if pixel_max != 1.0:
        out /= pixel_max
    bad = np.count_nonzero(~np.isfinite(out))
    if bad:
        raise ValueError(f"{origin}: {key} holds {bad} NaN or infinite value(s); "
                         "drop or impute those examples")
    return out


def _labels(y, origin: str, key: str) -> np.ndarray:
    """y as int64 ≥ 0; integer-valued floats are accepted, anything else refused."""
    y = np.asarray(y).reshape(-1)
    ok = y.dtype.kind in "biu" or (y.dtype.kind == "f" and np.isfinite(y).all() and (y == np.round(y)).all())
    if not ok:
        raise ValueError(f"{origin}: {key} must hold integer class labels 0..K-1, got dtype {y.dtype}; "
                         "encode them with np.unique(y, return_inverse=True)")
    y = y.astype(np.int64)
    if y.size and y.min() < 0:
        raise ValueError(f"{origin}: {key} holds negative labels (min {y.min()}); labels must be 0..K-1")
    return y


def _lookup(spec: str):
    if not isinstance(spec, str):
        raise TypeError("dataset spec must be a string such as 'digits' or 'npz:PATH', "
                        f"got {type(spec).__name__}")
    name, _, arg = spec.partition(":")
    info = DATASETS.get(name.strip().lower())
    if info is None:
        raise ValueError(f"unknown dataset {spec!r}; choose one of {dataset_names()}")
    return info, arg or None


def dataset_names() -> list:
    """The specs ``load_dataset`` accepts, e.g. ``['digits', ..., 'mnist[:DIR]', 'npz:PATH']``."""
    forms = {"mnist": "mnist[:DIR]", "fashion-mnist": "fashion-mnist[:DIR]", "cifar10": "cifar10[:DIR]",
             "svhn": "svhn[:DIR]", "npz": "npz:PATH"}
    return [forms.get(name, name) for name in DATASETS]


def load_dataset(spec: str = "digits", cache_dir=None, *, seed: int | None = 0, val_size=None,
                 test_size=None, preprocess: str | None = None, stratify: bool = False, download: bool = True,
                 dtype=np.float64, zca_eps: float = ZCA_EPS) -> Dataset:
    """Read a dataset, split it into T1 / T2 / test from ``seed``, and preprocess it with T1's statistics.

    Parameters
    ----------
    spec : str
        ``"digits"`` (default, bundled, no network), ``"breast_cancer"`` (bundled, binary), ``"mnist"``,
        ``"cifar10"``, ``"svhn"`` (files in the cache directory; ``"mnist:DIR"`` etc. read DIR instead),
        ``"fashion-mnist"`` (Debian's dataset-fashion-mnist in /usr/share/datasets/fashion-mnist, or
        ``"fashion-mnist:DIR"``), or ``"npz:PATH"``. See ``DATASETS`` for each one's defaults.
    cache_dir : str or Path, optional
        Where the file-based datasets live: ``cache_dir/mnist/``, ``cache_dir/cifar-10-batches-py/``,
        ``cache_dir/svhn/``. Default ``$HYPERREG_DATA``, else ``~/.cache/hyperreg``.
    seed : int or None
        Seed of the split draws; the same seed gives the same splits (papers: a new seed per experiment).
    val_size : float or int, optional
        T2 as a fraction in (0, 1) of the training data, or a count. Default: the papers' (5000 for MNIST,
        Fashion-MNIST and CIFAR-10, 8257 for SVHN) or 0.2. Not allowed when the npz file holds X_val, y_val.
    test_size : float or int, optional
        Test set as a fraction of, or count from, all the data, for data without an official test set.
        Default 0.2. Not allowed when there is an official or explicit test set.
    preprocess : str, optional
        ``"none"``, or steps ``center``, ``standardize``, ``gcn``, ``zca`` joined by ``+`` (see
        ``hyperreg.data.preprocess``), fitted on T1. Default: the papers' choice for the dataset — ``center``
        for MNIST and digits, ``gcn`` for SVHN, ``gcn+zca`` for CIFAR-10, ``standardize`` for breast_cancer,
        ``none`` for npz.
    stratify : bool
        Draw T2 and the test set class by class, keeping class proportions (default False: uniformly, as the
        papers do).
    download : bool
        Let MNIST download its missing files (SHA-256 checked). Other datasets never download.
    dtype : numpy dtype
        Float type of the X arrays (float64 default; float32 halves the memory of CIFAR-10).
    zca_eps : float
        ZCA regulariser in units of the mean covariance eigenvalue (see ``fit_zca``).

    Returns
    -------
    Dataset
        X arrays (n, d) of ``dtype``, y arrays (n,) int64 in 0..K−1; images are scaled to [0, 1] before
        preprocessing.

    Raises
    ------
    ValueError
        Unknown spec, bad sizes or preprocessing, corrupt files (the message names the file).
    FileNotFoundError
        Missing files (the message names them and where to put them).
    """
    info, arg = _lookup(spec)
    method = info.preprocess if preprocess is None else preprocess
    parse_preprocess(method)  # fail on a typo before reading 150 MB
    src = info.read(arg, resolve_cache_dir(cache_dir), download)
    for given, explicit, what in ((val_size, src.X_val, "val_size"), (test_size, src.X_test, "test_size")):
        if given is not None and explicit is not None:
            raise ValueError(f"{what}={given!r} given, but {src.origin} already holds that split; "
                             f"drop {what}")
    X = _features(src.X, src.origin, "X", src.pixel_max, dtype)
    y = _labels(src.y, src.origin, "y")
    if len(X) != len(y):
        raise ValueError(f"{src.origin}: {len(X)} examples in X but {len(y)} labels in y")
    drawn_val = None if src.X_val is not None else (info.val_size if val_size is None else val_size)
    drawn_test = None if src.X_test is not None else (info.test_size if test_size is None else test_size)
    try:
        idx = split_indices(len(X), y, seed, drawn_val, drawn_test, stratify)
    except ValueError as exc:
        raise ValueError(f"{src.origin}: {exc}") from None
    parts = {}
    for key, X_key, y_key in (("val", "X_val", "y_val"), ("test", "X_test", "y_test")):
        if key in idx:
            parts[key] = X[idx[key]], y[idx[key]]
        else:
            Xk = _features(getattr(src, X_key), src.origin, X_key, src.pixel_max, dtype)
            parts[key] = Xk, _labels(getattr(src, y_key), src.origin, y_key)
            idx[key] = np.arange(len(Xk))
    X_train, y_train = X[idx["train"]], y[idx["train"]]
    (X_val, y_val), (X_test, y_test) = parts["val"], parts["test"]
    X_train, X_val, X_test = apply_preprocess(method, X_train, X_val, X_test, zca_eps=zca_eps)
    n_classes = int(max(y.max(initial=0), y_val.max(initial=0), y_test.max(initial=0))) + 1
    drew = drawn_val is not None or drawn_test is not None
    return Dataset(X_train, y_train, X_val, y_val, X_test, y_test, n_classes=n_classes, name=spec,
                   feature_shape=tuple(int(s) for s in src.X.shape[1:]), preprocess=method,
                   seed=seed if drew else None, indices=idx)
