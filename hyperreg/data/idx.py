"""IDX image / label sets checked against their release: byte type, image size, label range, pairs, SHA-256.

``formats.read_idx`` parses one IDX file (magic, type code, dimensions, length). This module checks what a
*set* of them must satisfy to be a given release — Fashion-MNIST's four files, for one:

- images are unsigned bytes (IDX type code 0x08) of shape (n, 28, 28), labels unsigned bytes (n,) in 0..K−1;
- each labels file has as many entries as its images file;
- a file of the release's size (60 000 training or 10 000 test examples) must match the release's SHA-256 of
  its uncompressed IDX bytes; a file of another size is a user's own set in the same format and is read
  without a checksum.

The checksums are of the *uncompressed* bytes so that one table holds for every copy: Debian's
``dataset-fashion-mnist`` recompressed the upstream ``.gz`` files (their gzip checksums differ), the IDX
bytes inside are the upstream ones. Every error is one line naming the file.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from .download import FASHION_MNIST_DIR, FASHION_MNIST_RELEASE, fashion_mnist_missing
from .formats import find_file, read_idx

IDX_UBYTE = 0x08


def idx_bytes(arr: np.ndarray) -> bytes:
    """The IDX encoding of a uint8 array: ``00 00 08 <ndim>``, ndim big-endian uint32 sizes, the bytes.

    For an array that ``read_idx`` returned these are exactly the file's (uncompressed) bytes: it checked
    that header and data make up the whole file.
    """
    if arr.dtype != np.uint8:
        raise ValueError(f"idx_bytes encodes uint8 arrays only, got dtype {arr.dtype}")
    header = bytes([0, 0, IDX_UBYTE, arr.ndim]) + np.asarray(arr.shape, ">u4").tobytes()
    return header + np.ascontiguousarray(arr).tobytes()


def idx_sha256(arr: np.ndarray) -> str:
    """Hex SHA-256 of ``idx_bytes(arr)``: the checksum of the uncompressed IDX file the array came from."""
    return hashlib.sha256(idx_bytes(arr)).hexdigest()


def read_checked(path: Path, ndim: int, release: tuple, item_shape: tuple = ()) -> np.ndarray:
    """One IDX file of a release: uint8, ``ndim`` dimensions, items of ``item_shape``, checksum at full size.

    Parameters
    ----------
    path : Path
        The file (gzipped or not).
    ndim : int
        3 for images, 1 for labels.
    release : (int, str)
        The release's example count and SHA-256 of this file's uncompressed bytes.
    item_shape : tuple of int
        Shape of one example, ``(28, 28)`` for images, ``()`` for labels.
    """
    arr = read_idx(path, ndim=ndim)
    if arr.dtype != np.uint8:
        raise ValueError(f"{path}: IDX data of type {arr.dtype}, expected unsigned bytes (type code 0x08); "
                         "is this the right file?")
    if arr.shape[1:] != tuple(item_shape):
        raise ValueError(f"{path}: examples of shape {arr.shape[1:]}, expected {tuple(item_shape)}; "
                         "is this the right file?")
    n, sha256 = release
    if len(arr) == n and (got := idx_sha256(arr)) != sha256:
        raise ValueError(f"{path}: SHA-256 of the IDX data {got} does not match the release's {sha256}; "
                         "the file is corrupt: reinstall or fetch it again")
    return arr


def read_idx_set(directory, release: dict, n_classes: int, image_shape: tuple, missing) -> tuple:
    """Train and test images and labels from the four IDX files of ``release`` in ``directory``.

    Parameters
    ----------
    directory : str or Path
    release : dict
        Four file names (train images, train labels, test images, test labels; each found plain or ``.gz``)
        to ``(examples, SHA-256 of the uncompressed file)`` of the release.
    n_classes : int
        K: labels must lie in 0..K−1.
    image_shape : tuple of int
        Shape of one image, e.g. ``(28, 28)``.
    missing : callable
        ``missing(directory, names)`` returns the exception to raise when files are missing.

    Returns
    -------
    X_train (n, *image_shape) uint8, y_train (n,) uint8, X_test, y_test
    """
    directory = Path(directory)
    paths = {name: find_file(directory, name) for name in release}
    absent = [name + "[.gz]" for name, p in paths.items() if p is None]
    if absent:
        raise missing(directory, absent)
    names = list(release)
    out = []
    for images, labels in (names[:2], names[2:]):
        X = read_checked(paths[images], 3, release[images], image_shape)
        y = read_checked(paths[labels], 1, release[labels])
        if len(X) != len(y):
            raise ValueError(f"{paths[labels]}: {len(y)} labels for {len(X)} images in {paths[images]}; "
                             "the files do not belong together")
        if y.size and y.max() >= n_classes:
            raise ValueError(f"{paths[labels]}: labels must lie in 0..{n_classes - 1}, found {y.max()}; "
                             "is this the right file?")
        out += [X, y]
    return tuple(out)


def read_fashion_mnist(directory=FASHION_MNIST_DIR) -> tuple:
    """Fashion-MNIST's four IDX files in ``directory`` (default: where Debian's dataset-fashion-mnist puts them).

    Returns
    -------
    X_train (60000, 28, 28) uint8, y_train (60000,) in 0..9, X_test (10000, 28, 28), y_test (10000,)
    """
    return read_idx_set(directory, FASHION_MNIST_RELEASE, 10, (28, 28), fashion_mnist_missing)
