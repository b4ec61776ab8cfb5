"""Readers for the on-disk formats: IDX (MNIST), CIFAR-10 python pickles, SVHN .mat, and npz.

Each reader returns the arrays as stored (uint8 images, integer labels) and raises a one-line
``ValueError`` naming the file when the file is corrupt, or ``FileNotFoundError`` naming the file, the
directory it was looked for in and how to get it when it is missing.
"""

from __future__ import annotations

import gzip
import pickle
from importlib.util import find_spec
from pathlib import Path

import numpy as np

# IDX type codes (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT"); data are big-endian.
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"
_NP_MULTIARRAY = "numpy._core.multiarray" if find_spec("numpy._core") else "numpy.core.multiarray"

MNIST_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
               "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
CIFAR10_FILES = tuple(f"data_batch_{i}" for i in range(1, 6)) + ("test_batch",)
SVHN_FILES = ("train_32x32.mat", "test_32x32.mat")


def _read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when it starts with the gzip magic number (whatever its suffix)."""
    raw = path.read_bytes()
    if raw[:2] != _GZIP_MAGIC:
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError) as exc:
        raise ValueError(f"{path}: corrupt gzip data ({exc}); delete the file and fetch it again") from None


def read_idx(path, ndim: int | None = None) -> np.ndarray:
    """Array stored in an IDX file (gzipped or not): magic ``00 00 <type> <ndim>``, ndim uint32 sizes, data.

    Parameters
    ----------
    path : str or Path
    ndim : int, optional
        Expected number of dimensions (3 for MNIST images, 1 for labels); checked when given.

    Returns
    -------
    ndarray of shape given by the header, native byte order.
    """
    path = Path(path)
    buf = _read_bytes(path)
    if len(buf) < 4 or buf[0] != 0 or buf[1] != 0 or buf[2] not in _IDX_DTYPES:
        raise ValueError(f"{path}: bad IDX magic number {buf[:4].hex() or '(empty file)'}; expected "
                         f"00 00 <type in {sorted(_IDX_DTYPES)}> <ndim>; the file is not IDX or is corrupt")
    dtype, file_ndim = np.dtype(_IDX_DTYPES[buf[2]]), buf[3]
    if ndim is not None and file_ndim != ndim:
        raise ValueError(f"{path}: IDX header says {file_ndim} dimensions, expected {ndim}; "
                         "is this the right file (images are 3-d, labels 1-d)?")
    header = 4 + 4 * file_ndim
    if len(buf) < header:
        raise ValueError(f"{path}: truncated IDX header ({len(buf)} bytes, need {header})")
    shape = tuple(int(s) for s in np.frombuffer(buf, ">u4", file_ndim, offset=4))
    need = header + int(np.prod(shape)) * dtype.itemsize
    if len(buf) != need:
        raise ValueError(f"{path}: truncated or oversized IDX data: {len(buf)} bytes for shape {shape}, "
                         f"expected {need}; delete the file and fetch it again")
    return np.frombuffer(buf, dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def find_file(directory: Path, name: str) -> Path | None:
    """``directory/name`` or ``directory/name.gz``, whichever exists (plain first); None if neither."""
    for candidate in (directory / name, directory / (name + ".gz")):
        if candidate.is_file():
            return candidate
    return None


def missing_files_error(dataset: str, directory: Path, missing, how: str) -> FileNotFoundError:
    """A one-line FileNotFoundError: which files, where they were looked for, how to get them."""
    return FileNotFoundError(
        f"{dataset}: missing {', '.join(missing)} in {directory}; {how} (or set $HYPERREG_DATA / "
        f"cache_dir= to a directory that holds them)")


def read_mnist(directory) -> tuple:
    """MNIST from the four IDX files in ``directory`` (each plain or ``.gz``).

    Returns
    -------
    X_train (60000, 28, 28) uint8, y_train (60000,), X_test (10000, 28, 28), y_test (10000,)
    """
    directory = Path(directory)
    paths = {name: find_file(directory, name) for name in MNIST_FILES}
    missing = [name + "[.gz]" for name, p in paths.items() if p is None]
    if missing:
        raise missing_files_error("mnist", directory, missing,
                                  "download them from https://ossci-datasets.s3.amazonaws.com/mnist/")
    out = []
    for images, labels in (MNIST_FILES[:2], MNIST_FILES[2:]):
        X, y = read_idx(paths[images], ndim=3), read_idx(paths[labels], ndim=1)
        if len(X) != len(y):
            raise ValueError(f"{paths[labels]}: {len(y)} labels for {len(X)} images in {paths[images]}; "
                             "the files do not belong together")
        out += [X, y]
    return tuple(out)


class _ArraysOnly(pickle.Unpickler):
    """Unpickles dicts of lists, bytes and NumPy arrays only: a CIFAR batch cannot run code when loaded."""

    _ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
                ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
                ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode")}

    def find_class(self, module, name):
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        if module in ("numpy.core.multiarray", "numpy._core.multiarray"):
            module = _NP_MULTIARRAY  # NumPy 2 renamed numpy.core to numpy._core; pickles hold either
        return super().find_class(module, name)


def read_cifar_batch(path) -> tuple:
    """One CIFAR-10 python batch: a pickled dict with ``data`` (n, 3072) uint8 and ``labels`` (n,).

    Returns
    -------
    X (n, 3, 32, 32) uint8 (rows are R, G, B planes of 32×32, row-major), y (n,) int64
    """
    path = Path(path)
    try:
        with open(path, "rb") as f:
            batch = _ArraysOnly(f, encoding="bytes").load()
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, IndexError) as exc:
        raise ValueError(f"{path}: not a readable CIFAR-10 python batch ({exc})") from None
    if not isinstance(batch, dict):
        raise ValueError(f"{path}: expected a pickled dict with keys data and labels, "
                         f"got {type(batch).__name__}")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    missing = [k for k in ("data", "labels") if k not in batch]
    if missing:
        raise ValueError(f"{path}: CIFAR-10 batch lacks key(s) {missing}; found {sorted(batch)}")
    X, y = np.asarray(batch["data"]), np.asarray(batch["labels"])
    if X.ndim != 2 or X.shape[1] != 3 * 32 * 32 or y.shape != (X.shape[0],):
        raise ValueError(f"{path}: expected data (n, 3072) and labels (n,), got {X.shape} and {y.shape}")
    return X.reshape(-1, 3, 32, 32), y.astype(np.int64)


def read_cifar10(directory) -> tuple:
    """CIFAR-10 from ``data_batch_1..5`` and ``test_batch`` in ``directory`` (cifar-10-batches-py/).

    Returns
    -------
    X_train (50000, 3, 32, 32) uint8, y_train, X_test (10000, 3, 32, 32), y_test
    """
    directory = Path(directory)
    missing = [name for name in CIFAR10_FILES if not (directory / name).is_file()]
    if missing:
        raise missing_files_error(
            "cifar10", directory, missing, "download https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz "
            f"and extract it so that these files lie in {directory}")
    train = [read_cifar_batch(directory / name) for name in CIFAR10_FILES[:-1]]
    X_test, y_test = read_cifar_batch(directory / CIFAR10_FILES[-1])
    return (np.concatenate([b[0] for b in train]), np.concatenate([b[1] for b in train]), X_test, y_test)


def read_svhn_mat(path) -> tuple:
    """One SVHN cropped-digits .mat file: ``X`` (32, 32, 3, n) uint8 and ``y`` (n, 1) with 10 meaning 0.

    Returns
    -------
    X (n, 3, 32, 32) uint8 (channels first, like CIFAR-10), y (n,) int64 in 0..9
    """
    from scipy.io import loadmat

    path = Path(path)
    try:
        mat = loadmat(path, variable_names=["X", "y"])
    except Exception as exc:  # noqa: BLE001 - scipy raises ValueError, TypeError, OSError... on bad files
        raise ValueError(f"{path}: not a readable .mat file ({type(exc).__name__}: {exc})") from None
    missing = [k for k in ("X", "y") if k not in mat]
    if missing:
        raise ValueError(f"{path}: SVHN .mat file lacks variable(s) {missing}; "
                         "expected X (32, 32, 3, n) and y (n, 1)")
    X, y = mat["X"], np.asarray(mat["y"]).reshape(-1)
    if X.ndim != 4 or X.shape[2] != 3 or X.shape[3] != y.shape[0]:
        raise ValueError(f"{path}: expected X of shape (32, 32, 3, n) and y with n entries, "
                         f"got {X.shape} and {mat['y'].shape}")
    if y.size and (y.min() < 0 or y.max() > 10):
        raise ValueError(f"{path}: SVHN labels must lie in 1..10 (10 meaning digit 0), "
                         f"got {y.min()}..{y.max()}")
    return np.transpose(X, (3, 2, 0, 1)), np.where(y == 10, 0, y).astype(np.int64)


def read_svhn(directory) -> tuple:
    """SVHN (cropped digits) from ``train_32x32.mat`` and ``test_32x32.mat`` in ``directory``.

    Returns
    -------
    X_train (73257, 3, 32, 32) uint8, y_train, X_test (26032, 3, 32, 32), y_test
    """
    directory = Path(directory)
    missing = [name for name in SVHN_FILES if not (directory / name).is_file()]
    if missing:
        raise missing_files_error("svhn", directory, missing,
                                  "download them from http://ufldl.stanford.edu/housenumbers/")
    return read_svhn_mat(directory / SVHN_FILES[0]) + read_svhn_mat(directory / SVHN_FILES[1])


NPZ_KEYS = ("X", "y", "X_val", "y_val", "X_test", "y_test")


def read_npz(path) -> dict:
    """Arrays ``X``, ``y`` and, when present, ``X_val, y_val`` and ``X_test, y_test`` from an .npz file.

    Returns
    -------
    dict from those names to arrays (the optional pairs only when present); X arrays are (n, ...) with the
    same trailing shape, y arrays (n,).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"npz: no file {path}; give npz:PATH with PATH an .npz holding "
                                "arrays X and y")
    fix = "write it with np.savez(PATH, X=X, y=y)"
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic[:2] != b"PK":  # an .npz is a zip archive; anything else np.load would try to unpickle
        kind = "a single .npy array" if magic == b"\x93NUM" else "not a zip archive"
        raise ValueError(f"{path}: not an .npz file ({kind}); {fix}")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {k: f[k] for k in f.files if k in NPZ_KEYS}
    except ValueError as exc:
        if "allow_pickle" in str(exc):
            raise ValueError(f"{path}: holds an object array (loading it would need pickle, which is refused); "
                             f"save numeric arrays: {fix}") from None
        raise ValueError(f"{path}: not a readable .npz file ({exc}); {fix}") from None
    except Exception as exc:  # noqa: BLE001 - np.load raises OSError, BadZipFile, EOFError...
        raise ValueError(f"{path}: not a readable .npz file ({type(exc).__name__}: {exc}); {fix}") from None
    for x, y in (("X", "y"), ("X_val", "y_val"), ("X_test", "y_test")):
        if (x in arrays) != (y in arrays) or (x == "X" and x not in arrays):
            raise ValueError(f"{path}: needs arrays {x} and {y} together (X, y required; X_val, y_val and "
                             f"X_test, y_test optional), found {sorted(arrays)}")
        if x not in arrays:
            continue
        X, yy = arrays[x], arrays[y]
        if X.ndim < 2 or yy.ndim != 1 or len(X) != len(yy):
            raise ValueError(f"{path}: {x} must be (n, features...) and {y} (n,), "
                             f"got {X.shape} and {yy.shape}")
        if len(X) == 0:
            raise ValueError(f"{path}: {x} is empty (0 examples); every split needs examples")
        if X.shape[1:] != arrays["X"].shape[1:]:
            raise ValueError(f"{path}: {x} has examples of shape {X.shape[1:]}, "
                             f"X has {arrays['X'].shape[1:]}")
    return arrays
