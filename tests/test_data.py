"""hyperreg.data: readers on small files generated in each format, splits, preprocessing, clear errors."""

from __future__ import annotations

import gzip
import hashlib
import pickle

import numpy as np
import pytest
import scipy.io

from hyperreg.data import (
    Dataset,
    download,
    fit_center,
    fit_standardize,
    fit_zca,
    gcn,
    load_dataset,
    preprocess,
    read_idx,
    split_indices,
)

IDX_UBYTE = 0x08


def idx_bytes(arr: np.ndarray, code: int = IDX_UBYTE) -> bytes:
    dtype = {0x08: ">u1", 0x0C: ">i4", 0x0E: ">f8"}[code]
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, ">u4").tobytes()
    return header + np.asarray(arr, dtype).tobytes()


def write(path, data: bytes, gz: bool = False):
    path.write_bytes(gzip.compress(data) if gz else data)
    return path


def mnist_arrays(seed=0, n_train=60, n_test=20):
    rng = np.random.default_rng(seed)
    return {"train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
            "train-labels-idx1-ubyte": np.arange(n_train, dtype=np.uint8) % 10,
            "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
            "t10k-labels-idx1-ubyte": np.arange(n_test, dtype=np.uint8) % 10}


def make_mnist(directory, gz=(True, False, False, True)):
    directory.mkdir(parents=True, exist_ok=True)
    arrays = mnist_arrays()
    for (name, arr), z in zip(arrays.items(), gz):
        write(directory / (name + (".gz" if z else "")), idx_bytes(arr), gz=z)
    return arrays


def make_cifar(directory, n=8):
    directory.mkdir(parents=True)
    rng = np.random.default_rng(1)
    batches = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        batch = {b"batch_label": name.encode(), b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
                 b"labels": [int(v) for v in rng.integers(0, 10, n)]}
        with open(directory / name, "wb") as f:
            pickle.dump(batch, f, protocol=2)
        batches[name] = batch
    return batches


def make_svhn(directory, n=(30, 10)):
    directory.mkdir(parents=True)
    rng = np.random.default_rng(2)
    mats = {}
    for name, k in zip(("train_32x32.mat", "test_32x32.mat"), n):
        mat = {"X": rng.integers(0, 256, (32, 32, 3, k), dtype=np.uint8),
               "y": (np.arange(k) % 10 + 1).reshape(-1, 1).astype(np.uint8)}
        scipy.io.savemat(directory / name, mat)
        mats[name] = mat
    return mats


@pytest.fixture(autouse=True)
def no_network(monkeypatch, tmp_path):
    """No test downloads: the one fetch function fails unless a test replaces it; the cache is tmp."""
    def refuse(url, dest):
        raise OSError(f"network disabled in tests ({url})")
    monkeypatch.setattr(download, "fetch_url", refuse)
    monkeypatch.setenv("HYPERREG_DATA", str(tmp_path / "cache"))


def assert_partition(ds: Dataset, n_pool: int, official_test: bool):
    idx = ds.indices
    pool = [idx["train"], idx["val"]] + ([] if official_test else [idx["test"]])
    joined = np.concatenate(pool)
    assert len(np.unique(joined)) == len(joined) == n_pool
    assert len(idx["train"]) == len(ds.y_train) and len(idx["val"]) == len(ds.y_val)


# --- formats ---

@pytest.mark.parametrize("gz", [False, True])
@pytest.mark.parametrize("code,arr", [(0x08, np.arange(24, dtype=np.uint8).reshape(2, 3, 4)),
                                      (0x0C, np.array([-5, 7, 1 << 20])),
                                      (0x0E, np.array([[0.5, -1.25]]))])
def test_read_idx_round_trip(tmp_path, gz, code, arr):
    out = read_idx(write(tmp_path / "a.idx", idx_bytes(arr, code), gz=gz))
    np.testing.assert_array_equal(out, arr)
    assert out.dtype.isnative


def test_mnist_from_idx_files_gz_or_not(tmp_path):
    arrays = make_mnist(tmp_path / "mnist")
    ds = load_dataset("mnist", cache_dir=tmp_path, val_size=12, seed=3, preprocess="none", download=False)
    assert ds.X_train.shape == (48, 784) and ds.X_val.shape == (12, 784) and ds.X_test.shape == (20, 784)
    assert ds.X_train.dtype == np.float64 and ds.y_train.dtype == np.int64
    assert ds.feature_shape == (28, 28) and ds.n_classes == 10
    assert 0.0 <= ds.X_train.min() and ds.X_train.max() <= 1.0
    raw = arrays["train-images-idx3-ubyte"].reshape(60, -1) / 255.0
    np.testing.assert_array_equal(ds.X_val, raw[ds.indices["val"]])
    np.testing.assert_array_equal(ds.y_train, arrays["train-labels-idx1-ubyte"][ds.indices["train"]])
    np.testing.assert_array_equal(ds.X_test, arrays["t10k-images-idx3-ubyte"].reshape(20, -1) / 255.0)
    assert_partition(ds, 60, official_test=True)
    same = load_dataset(f"mnist:{tmp_path / 'mnist'}", val_size=12, seed=3, preprocess="none")
    np.testing.assert_array_equal(same.X_train, ds.X_train)


def test_cifar10_from_pickle_batches(tmp_path):
    batches = make_cifar(tmp_path / "cifar-10-batches-py")
    ds = load_dataset("cifar10", cache_dir=tmp_path, val_size=0.25, preprocess="none")
    assert ds.X_train.shape == (30, 3072) and ds.X_val.shape == (10, 3072) and ds.X_test.shape == (8, 3072)
    assert ds.feature_shape == (3, 32, 32)
    train = np.concatenate([batches[f"data_batch_{i}"][b"data"] for i in range(1, 6)]) / 255.0
    labels = np.concatenate([batches[f"data_batch_{i}"][b"labels"] for i in range(1, 6)])
    np.testing.assert_array_equal(ds.X_train, train[ds.indices["train"]])
    np.testing.assert_array_equal(ds.y_val, labels[ds.indices["val"]])
    np.testing.assert_array_equal(ds.y_test, batches["test_batch"][b"labels"])
    assert_partition(ds, 40, official_test=True)


def test_svhn_from_mat_files_label_10_is_0(tmp_path):
    mats = make_svhn(tmp_path / "svhn")
    ds = load_dataset("svhn", cache_dir=tmp_path, val_size=6, preprocess="none")
    assert ds.X_train.shape == (24, 3072) and ds.X_test.shape == (10, 3072) and ds.feature_shape == (3, 32, 32)
    np.testing.assert_array_equal(ds.y_test, np.arange(1, 11) % 10)
    X = mats["test_32x32.mat"]["X"]
    np.testing.assert_array_equal(ds.X_test[4], X[:, :, :, 4].transpose(2, 0, 1).ravel() / 255.0)
    assert set(np.unique(np.concatenate([ds.y_train, ds.y_val]))) <= set(range(10))


def test_npz_without_splits_draws_them(tmp_path):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(100, 2, 3)), rng.integers(0, 3, 100)
    np.savez(tmp_path / "d.npz", X=X, y=y)
    ds = load_dataset(f"npz:{tmp_path / 'd.npz'}", seed=1)
    assert ds.sizes() == {"train": 64, "val": 16, "test": 20} and ds.feature_shape == (2, 3)
    assert_partition(ds, 100, official_test=False)
    np.testing.assert_array_equal(ds.X_test, X.reshape(100, 6)[ds.indices["test"]])


def test_npz_with_explicit_splits_draws_nothing(tmp_path):
    rng = np.random.default_rng(0)
    a = {"X": rng.normal(size=(30, 4)), "y": np.arange(30) % 3, "X_val": rng.normal(size=(7, 4)),
         "y_val": np.arange(7) % 3, "X_test": rng.normal(size=(5, 4)), "y_test": np.array([0, 1, 2, 3, 1])}
    np.savez(tmp_path / "s.npz", **a)
    ds = load_dataset(f"npz:{tmp_path / 's.npz'}", seed=123)
    for got, key in ((ds.X_train, "X"), (ds.X_val, "X_val"), (ds.X_test, "X_test"), (ds.y_test, "y_test")):
        np.testing.assert_array_equal(got, a[key])
    assert ds.seed is None and ds.n_classes == 4
    with pytest.raises(ValueError, match="val_size.*already holds"):
        load_dataset(f"npz:{tmp_path / 's.npz'}", val_size=0.1)
    np.savez(tmp_path / "v.npz", X=a["X"], y=a["y"], X_val=a["X_val"], y_val=a["y_val"])
    ds = load_dataset(f"npz:{tmp_path / 'v.npz'}", test_size=6)
    np.testing.assert_array_equal(ds.X_val, a["X_val"])
    assert ds.sizes() == {"train": 24, "val": 7, "test": 6}


# --- splits ---

def test_digits_default_and_splits_deterministic_disjoint():
    ds = load_dataset("digits")
    assert ds.sizes() == {"train": 1150, "val": 288, "test": 359} and ds.n_classes == 10
    assert ds.feature_shape == (8, 8) and ds.preprocess == "center"
    assert_partition(ds, 1797, official_test=False)
    again, other = load_dataset("digits", seed=0), load_dataset("digits", seed=1)
    for k in ("train", "val", "test"):
        np.testing.assert_array_equal(ds.indices[k], again.indices[k])
    assert not np.array_equal(ds.indices["val"], other.indices["val"])


def test_stratified_split_keeps_class_proportions():
    y = np.repeat([0, 1, 2], [50, 30, 20])
    idx = split_indices(100, y, seed=0, val_size=0.2, test_size=0.1, stratify=True)
    assert np.bincount(y[idx["test"]]).tolist() == [5, 3, 2]
    assert np.bincount(y[idx["val"]]).tolist() == [9, 5, 4]
    assert sorted(np.concatenate(list(idx.values()))) == list(range(100))


@pytest.mark.parametrize("size,match", [(1.0, "fraction"), (0, "at least one"), (5000, "at least one"),
                                        ("5", "or a count of examples"), (True, "or a count of examples")])
def test_bad_split_sizes(size, match):
    with pytest.raises((ValueError, TypeError), match=match):
        load_dataset("digits", val_size=size)


# --- preprocessing ---

def blobs(n=400, d=6, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, d)) @ rng.normal(size=(d, d)) + rng.normal(size=d) * 5


def test_center_and_standardize_on_T1():
    X, Z = blobs(), blobs(seed=1)
    Xc, Zc = preprocess("center", X, Z)
    np.testing.assert_allclose(Xc.mean(0), 0, atol=1e-12)
    np.testing.assert_allclose(Zc, Z - X.mean(0))  # T1's mean, not T2's
    Xs = fit_standardize(X)(X)
    np.testing.assert_allclose(Xs.std(0), 1, rtol=1e-12)
    np.testing.assert_allclose(fit_center(X).mean, X.mean(0))
    const = np.ones((5, 2))
    assert np.all(fit_standardize(const)(const) == 0)


def test_gcn_rows_zero_mean_and_std_scale():
    X = blobs()
    G = gcn(X, scale=2.0)
    np.testing.assert_allclose(G.mean(1), 0, atol=1e-12)
    np.testing.assert_allclose(G.std(1), 2.0, rtol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(G, axis=1), 2.0 * np.sqrt(X.shape[1]), rtol=1e-12)
    assert np.all(gcn(np.full((2, 4), 3.0)) == 0)  # constant images: centred, not divided by 0


def test_zca_whitens_T1():
    X, Z = blobs(), blobs(seed=1)
    Xw, Zw = preprocess("zca", X, Z, zca_eps=1e-10)
    np.testing.assert_allclose(np.cov(Xw.T, bias=True), np.eye(6), atol=1e-6)
    np.testing.assert_allclose(Xw.mean(0), 0, atol=1e-10)
    T = fit_zca(X, eps=1e-10)
    np.testing.assert_allclose(T.W, T.W.T, atol=1e-10)  # ZCA: the symmetric whitening matrix
    np.testing.assert_allclose(Zw, (Z - X.mean(0)) @ T.W)
    C = np.cov(fit_zca(X, eps=0.1)(X).T, bias=True)  # regularised: eigenvalues s/(s + ε s̄) < 1
    assert np.all(np.linalg.eigvalsh(C) < 1)


def test_gcn_zca_pipeline_via_load_dataset(tmp_path):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "d.npz", X=rng.normal(size=(300, 5)) @ rng.normal(size=(5, 5)), y=np.arange(300) % 2)
    ds = load_dataset(f"npz:{tmp_path / 'd.npz'}", preprocess="gcn+zca", zca_eps=1e-10)
    d = ds.n_features
    # GCN zeroes each example's mean, so whitening gives the identity on the complement of the ones vector.
    projector = np.eye(d) - np.ones((d, d)) / d
    np.testing.assert_allclose(np.cov(ds.X_train.T, bias=True), projector, atol=1e-6)


@pytest.mark.parametrize("method", ["none", "center", "standardize", "gcn", "gcn+zca"])
def test_preprocess_options_on_digits(method):
    ds = load_dataset("digits", preprocess=method)
    assert ds.preprocess == method and all(np.isfinite(a).all() for a in (ds.X_train, ds.X_val, ds.X_test))


# --- errors ---

def test_unknown_dataset_and_preprocess():
    with pytest.raises(ValueError, match="unknown dataset 'imagenet'.*digits"):
        load_dataset("imagenet")
    with pytest.raises(ValueError, match="unknown step.*'whiten'"):
        load_dataset("digits", preprocess="gcn+whiten")


def test_missing_files_say_where_and_which(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"t10k-labels-idx1-ubyte.*" + str(tmp_path / "mnist")):
        load_dataset("mnist", cache_dir=tmp_path, download=False)
    with pytest.raises(FileNotFoundError, match=r"data_batch_1.*cifar-10-batches-py.*cifar-10-python.tar.gz"):
        load_dataset("cifar10", cache_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match=r"train_32x32.mat, test_32x32.mat in .*svhn"):
        load_dataset("svhn", cache_dir=tmp_path)
    with pytest.raises(FileNotFoundError, match="no file .*nope.npz"):
        load_dataset(f"npz:{tmp_path / 'nope.npz'}")


def test_default_cache_dir_from_env(tmp_path):
    assert download.default_cache_dir() == tmp_path / "cache"
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "cache" / "mnist")):
        load_dataset("mnist", download=False)


@pytest.mark.parametrize("corrupt,match", [
    (lambda b: b"\x08\x03" + b[2:], "bad IDX magic"),
    (lambda b: b[:-7], "truncated"),
    (lambda b: b[:10], "truncated IDX header|truncated"),
    (lambda b: gzip.compress(b)[:-20], "corrupt gzip"),
    (lambda b: b"", "bad IDX magic.*empty"),
])
def test_corrupt_idx(tmp_path, corrupt, match):
    arrays = make_mnist(tmp_path / "mnist", gz=(False,) * 4)
    bad = tmp_path / "mnist" / "train-images-idx3-ubyte"
    bad.write_bytes(corrupt(idx_bytes(arrays["train-images-idx3-ubyte"])))
    with pytest.raises(ValueError, match=f"train-images-idx3-ubyte: .*{match}"):
        load_dataset("mnist", cache_dir=tmp_path, val_size=10, download=False)


def test_idx_label_count_and_ndim_mismatch(tmp_path):
    make_mnist(tmp_path / "mnist", gz=(False,) * 4)
    write(tmp_path / "mnist" / "t10k-labels-idx1-ubyte", idx_bytes(np.zeros(19, np.uint8)))
    with pytest.raises(ValueError, match="t10k-labels-idx1-ubyte: 19 labels for 20 images"):
        load_dataset("mnist", cache_dir=tmp_path, val_size=10)
    write(tmp_path / "mnist" / "t10k-labels-idx1-ubyte", idx_bytes(np.zeros((20, 1), np.uint8)))
    with pytest.raises(ValueError, match="2 dimensions, expected 1"):
        load_dataset("mnist", cache_dir=tmp_path, val_size=10)


class Evil:
    def __reduce__(self):
        return (print, ("ran",))


@pytest.mark.parametrize("payload,match", [
    ({b"labels": [1, 2]}, r"lacks key\(s\) \['data'\]"),
    ({b"data": np.zeros((2, 10), np.uint8), b"labels": [1, 2]}, r"expected data \(n, 3072\)"),
    ([1, 2], "expected a pickled dict"),
    ({b"data": Evil(), b"labels": []}, "refusing to load .*print"),
])
def test_corrupt_cifar_batch(tmp_path, payload, match):
    make_cifar(tmp_path / "cifar-10-batches-py")
    with open(tmp_path / "cifar-10-batches-py" / "data_batch_3", "wb") as f:
        pickle.dump(payload, f, protocol=2)
    with pytest.raises(ValueError, match=f"data_batch_3: .*{match}"):
        load_dataset("cifar10", cache_dir=tmp_path, val_size=5)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"\x80\x02}q")
    with pytest.raises(ValueError, match="data_batch_3: not a readable CIFAR-10"):
        load_dataset("cifar10", cache_dir=tmp_path, val_size=5)


def test_corrupt_svhn_mat(tmp_path):
    make_svhn(tmp_path / "svhn")
    path = tmp_path / "svhn" / "test_32x32.mat"
    scipy.io.savemat(path, {"X": np.zeros((32, 32, 3, 4), np.uint8)})
    with pytest.raises(ValueError, match=r"test_32x32.mat: SVHN .mat file lacks variable\(s\) \['y'\]"):
        load_dataset("svhn", cache_dir=tmp_path, val_size=5)
    scipy.io.savemat(path, {"X": np.zeros((32, 32, 3, 4), np.uint8), "y": np.ones((5, 1))})
    with pytest.raises(ValueError, match=r"test_32x32.mat: expected X of shape"):
        load_dataset("svhn", cache_dir=tmp_path, val_size=5)
    path.write_bytes(b"not a mat file at all" * 10)
    with pytest.raises(ValueError, match="test_32x32.mat: not a readable .mat"):
        load_dataset("svhn", cache_dir=tmp_path, val_size=5)


@pytest.mark.parametrize("arrays,match", [
    ({"X": np.zeros((4, 2))}, "needs arrays X and y"),
    ({"X": np.zeros((4, 2)), "y": np.zeros(3)}, r"got \(4, 2\) and \(3,\)"),
    ({"X": np.zeros((4, 2)), "y": np.zeros(4), "X_val": np.zeros((2, 3)), "y_val": np.zeros(2)},
     r"X_val has examples of shape \(3,\)"),
    ({"X": np.zeros((4, 2)), "y": np.zeros(4), "X_val": np.zeros((2, 2))}, "X_val and y_val together"),
    ({"X": np.array([[0.0, np.nan]] * 10), "y": np.zeros(10)}, "X holds 10 NaN"),
    ({"X": np.zeros((10, 2)), "y": np.linspace(0, 1, 10)}, "integer class labels"),
    ({"X": np.zeros((10, 2)), "y": -np.ones(10, int)}, "negative labels"),
])
def test_corrupt_npz(tmp_path, arrays, match):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ValueError, match=f"bad.npz: .*{match}"):
        load_dataset(f"npz:{tmp_path / 'bad.npz'}")
    (tmp_path / "junk.npz").write_bytes(b"junk")
    with pytest.raises(ValueError, match="junk.npz: not an .npz file"):
        load_dataset(f"npz:{tmp_path / 'junk.npz'}")


# --- download (never over the network: the fetch function is replaced) ---

def serve(monkeypatch, files: dict, sha: dict):
    """fetch_url serving ``files`` (name → bytes) from any mirror; sha256 table replaced by ``sha``."""
    fetched = []

    def fake_fetch(url, dest):
        name = url.rsplit("/", 1)[1]
        fetched.append(url)
        dest.write_bytes(files[name])
    monkeypatch.setattr(download, "fetch_url", fake_fetch)
    monkeypatch.setattr(download, "MNIST_SHA256", sha)
    return fetched


def gz_files():
    return {name + ".gz": gzip.compress(idx_bytes(arr)) for name, arr in mnist_arrays().items()}


def test_download_checks_sha_and_loads(tmp_path, monkeypatch):
    files = gz_files()
    fetched = serve(monkeypatch, files, {k: hashlib.sha256(v).hexdigest() for k, v in files.items()})
    ds = load_dataset("mnist", cache_dir=tmp_path, val_size=10)
    assert ds.sizes() == {"train": 50, "val": 10, "test": 20}
    assert len(fetched) == 4 and all(u.startswith(download.MNIST_MIRRORS[0]) for u in fetched)
    assert sorted(p.name for p in (tmp_path / "mnist").iterdir()) == sorted(files)
    load_dataset("mnist", cache_dir=tmp_path, val_size=10)
    assert len(fetched) == 4  # cached: nothing fetched again


def test_download_sha_mismatch_is_an_error_and_keeps_nothing(tmp_path, monkeypatch):
    files = gz_files()
    sha = {k: hashlib.sha256(v).hexdigest() for k, v in files.items()}
    sha["t10k-images-idx3-ubyte.gz"] = "0" * 64
    serve(monkeypatch, files, sha)
    with pytest.raises(ValueError, match="t10k-images-idx3-ubyte.gz: SHA-256 .* does not match the expected 0000"):
        load_dataset("mnist", cache_dir=tmp_path, val_size=10)
    left = sorted(p.name for p in (tmp_path / "mnist").iterdir())
    assert "t10k-images-idx3-ubyte.gz" not in left and not any(n.endswith(".part") for n in left)


def test_download_without_network_says_where_to_put_files(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"could not download.*network disabled.*put them there"):
        load_dataset("mnist", cache_dir=tmp_path)
