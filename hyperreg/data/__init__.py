"""Datasets for hyperreg: readers, T1 / T2 / test splits from a seed, and the papers' preprocessing.

>>> from hyperreg.data import load_dataset
>>> ds = load_dataset("digits", seed=0)          # bundled, no network
>>> ds.X_train.shape, ds.X_val.shape, ds.X_test.shape
((1150, 64), (288, 64), (359, 64))

Host-side NumPy: the tuner moves the arrays to its backend.
"""

from .dataset import Dataset
from .datasets import DATASETS, DatasetInfo, dataset_names, load_dataset
from .download import MNIST_SHA256, default_cache_dir, download_checked, ensure_mnist, fetch_url, sha256_file
from .formats import read_cifar10, read_cifar_batch, read_idx, read_mnist, read_npz, read_svhn, read_svhn_mat
from .preprocess import (
    ZCA_EPS,
    Affine,
    fit_center,
    fit_standardize,
    fit_zca,
    gcn,
    parse_preprocess,
    preprocess,
)
from .splits import draw, split_indices

__all__ = [
    "DATASETS", "MNIST_SHA256", "ZCA_EPS", "Affine", "Dataset", "DatasetInfo", "dataset_names",
    "default_cache_dir", "download_checked", "draw", "ensure_mnist", "fetch_url", "fit_center",
    "fit_standardize", "fit_zca", "gcn", "load_dataset", "parse_preprocess", "preprocess", "read_cifar10",
    "read_cifar_batch", "read_idx", "read_mnist", "read_npz", "read_svhn", "read_svhn_mat", "sha256_file",
    "split_indices",
]
