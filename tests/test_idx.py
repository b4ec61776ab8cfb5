"""``--data fashion-mnist``: IDX sets the tests write (good and malformed), checksums, the missing-package error,
the default 55 000 / 5 000 split, and one quick ``hyperreg tune`` on a tiny generated set."""

from __future__ import annotations

import gzip
import hashlib
import json
import struct
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from hyperreg.cli import main
from hyperreg.data import dataset_names, idx, load_dataset
from hyperreg.data.download import FASHION_MNIST_DIR, FASHION_MNIST_INSTALL, FASHION_MNIST_RELEASE

NAMES = tuple(FASHION_MNIST_RELEASE)  # train images, train labels, test images, test labels


def encode(arr: np.ndarray, code: int = 0x08) -> bytes:
    """IDX bytes written with struct, independently of hyperreg.data.idx.idx_bytes."""
    fmt = {0x08: "B", 0x0D: "f"}[code]
    flat = arr.reshape(-1).tolist()
    return (struct.pack(">4B", 0, 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
            + struct.pack(f">{len(flat)}{fmt}", *flat))


def images(y: np.ndarray, seed: int) -> np.ndarray:
    """28×28 uint8 images whose bright 4-row band is at a class-dependent height, plus noise: learnable."""
    rng = np.random.default_rng(seed)
    X = rng.integers(0, 60, (len(y), 28, 28), dtype=np.uint8)
    for c in range(10):
        X[y == c, 2 * c + 4: 2 * c + 8, :] = 230
    return X


def make_set(directory: Path, n_train=60, n_test=20, gz=(True, False, False, True), seed=0) -> dict:
    """The four Fashion-MNIST files in ``directory``; returns name -> (array, uncompressed bytes)."""
    directory.mkdir(parents=True, exist_ok=True)
    y_train, y_test = np.arange(n_train, dtype=np.uint8) % 10, (np.arange(n_test, dtype=np.uint8) * 7) % 10
    arrays = dict(zip(NAMES, (images(y_train, seed), y_train, images(y_test, seed + 1), y_test)))
    out = {}
    for (name, arr), z in zip(arrays.items(), gz):
        raw = encode(arr)
        (directory / (name + (".gz" if z else ""))).write_bytes(gzip.compress(raw) if z else raw)
        out[name] = arr, raw
    return out


def release_of(written: dict) -> dict:
    """A release table that fits the written files exactly (their sizes and SHA-256 sums)."""
    return {name: (len(arr), hashlib.sha256(raw).hexdigest()) for name, (arr, raw) in written.items()}


def test_reads_a_generated_set_gz_or_not(tmp_path):
    written = make_set(tmp_path)
    ds = load_dataset(f"fashion-mnist:{tmp_path}", val_size=10, preprocess="none")
    X, y = written[NAMES[0]][0], written[NAMES[1]][0]
    np.testing.assert_array_equal(ds.X_train, X[ds.indices["train"]].reshape(-1, 784) / 255.0)
    np.testing.assert_array_equal(ds.y_val, y[ds.indices["val"]])
    np.testing.assert_array_equal(ds.X_test, written[NAMES[2]][0].reshape(-1, 784) / 255.0)
    np.testing.assert_array_equal(ds.y_test, written[NAMES[3]][0])
    assert ds.sizes() == {"train": 50, "val": 10, "test": 20}
    assert ds.feature_shape == (28, 28) and ds.n_classes == 10 and ds.preprocess == "none"
    assert "fashion-mnist[:DIR]" in dataset_names()


def test_idx_sha256_is_the_checksum_of_the_file(tmp_path):
    for name, (arr, raw) in make_set(tmp_path).items():
        assert idx.idx_sha256(arr) == hashlib.sha256(raw).hexdigest(), name


def test_default_split_is_the_papers_and_checksums_pass(tmp_path, monkeypatch):
    """At the release's sizes the checksums are checked; T2 is 5000 of the training set, T1 the rest."""
    written = make_set(tmp_path, n_train=5040, n_test=30)
    monkeypatch.setattr(idx, "FASHION_MNIST_RELEASE", release_of(written))
    ds = load_dataset(f"fashion-mnist:{tmp_path}", seed=3)
    assert ds.sizes() == {"train": 40, "val": 5000, "test": 30} and ds.preprocess == "center"
    assert np.abs(ds.X_train.mean(axis=0)).max() < 1e-12  # centred with T1's mean


@pytest.mark.parametrize("which", range(4))
def test_checksum_mismatch_names_the_file(tmp_path, monkeypatch, which):
    written = make_set(tmp_path, gz=(False,) * 4)
    release = release_of(written)
    name = NAMES[which]
    release[name] = (release[name][0], hashlib.sha256(b"another release").hexdigest())
    monkeypatch.setattr(idx, "FASHION_MNIST_RELEASE", release)
    with pytest.raises(ValueError, match=f"{name}: SHA-256 of the IDX data .* does not match"):
        load_dataset(f"fashion-mnist:{tmp_path}", val_size=10)


def test_other_sizes_are_read_without_checksum(tmp_path, monkeypatch):
    written = make_set(tmp_path)
    release = {name: (n + 1, "0" * 64) for name, (n, _) in release_of(written).items()}
    monkeypatch.setattr(idx, "FASHION_MNIST_RELEASE", release)
    assert load_dataset(f"fashion-mnist:{tmp_path}", val_size=10).sizes()["test"] == 20


def _header_count_plus_one(raw: bytes) -> bytes:
    n = struct.unpack(">I", raw[4:8])[0]
    return raw[:4] + struct.pack(">I", n + 1) + raw[8:]


@pytest.mark.parametrize("name,corrupt,match", [
    (NAMES[0], lambda raw: b"\x00\x00\x07\x03" + raw[4:], "bad IDX magic"),
    (NAMES[0], lambda raw: raw[:-100], "truncated or oversized"),
    (NAMES[2], lambda raw: raw[:9], "truncated IDX header"),
    (NAMES[0], _header_count_plus_one, "truncated or oversized IDX data: .* shape \\(61, 28, 28\\)"),
    (NAMES[1], lambda raw: raw + b"\x01", "truncated or oversized"),
    (NAMES[3], lambda raw: gzip.compress(raw)[:-9], "corrupt gzip"),
    (NAMES[0], lambda raw: encode(np.zeros((60, 28, 27), np.uint8)), "examples of shape \\(28, 27\\)"),
    (NAMES[2], lambda raw: encode(np.zeros((20, 28, 28), np.float32), 0x0D), "expected unsigned bytes"),
    (NAMES[1], lambda raw: encode(np.zeros((60, 1), np.uint8)), "2 dimensions, expected 1"),
    (NAMES[1], lambda raw: encode(np.zeros(59, np.uint8)), "59 labels for 60 images"),
    (NAMES[3], lambda raw: encode(np.full(20, 10, np.uint8)), "labels must lie in 0..9, found 10"),
])
def test_malformed_files_name_the_file_and_the_fault(tmp_path, name, corrupt, match):
    written = make_set(tmp_path, gz=(False,) * 4)
    (tmp_path / name).write_bytes(corrupt(written[name][1]))
    with pytest.raises(ValueError, match=f"{tmp_path / name}: .*{match}"):
        load_dataset(f"fashion-mnist:{tmp_path}", val_size=10)


def test_missing_files_name_the_debian_package(tmp_path):
    make_set(tmp_path)
    (tmp_path / (NAMES[2])).unlink()
    msg = f"{NAMES[2]}\\[.gz\\] in {tmp_path}; install Debian's package dataset-fashion-mnist"
    with pytest.raises(FileNotFoundError, match=msg) as err:
        load_dataset(f"fashion-mnist:{tmp_path}", val_size=10)
    assert FASHION_MNIST_INSTALL in str(err.value) and "\n" not in str(err.value)
    assert FASHION_MNIST_INSTALL == "apt-get update && apt-get install -y dataset-fashion-mnist"


def test_cli_says_one_line_and_exits_2_when_missing(tmp_path, capsys):
    assert main(["tune", "--data", f"fashion-mnist:{tmp_path}", "--quick", "--no-progress",
                 "--out", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "apt-get install -y dataset-fashion-mnist" in err, err


def test_quick_tune_on_a_tiny_generated_set(tmp_path, capsys):
    """End to end: T1 = 200 (the default T2 takes 5000 of the 5200), 28×28 inputs, errors well below chance."""
    make_set(tmp_path / "data", n_train=5200, n_test=100)
    with threadpool_limits(1):
        assert main(["tune", "--data", f"fashion-mnist:{tmp_path / 'data'}", "--quick", "--sizes", "16",
                     "--no-progress", "--out", str(tmp_path / "run")]) == 0
    doc = json.loads((tmp_path / "run" / "run.json").read_text())
    assert doc["config"]["data"] == f"fashion-mnist:{tmp_path / 'data'}"
    assert doc["test_error"] < 0.5 and doc["val_error"] < 0.5  # chance is 0.9
    assert "fashion-mnist" in capsys.readouterr().out


@pytest.mark.skipif(not FASHION_MNIST_DIR.is_dir(), reason="Debian's dataset-fashion-mnist is not installed")
def test_the_installed_release():
    """The real files: checksums pass, 55 000 / 5 000 / 10 000, 6000 images of each class in the training set."""
    ds = load_dataset("fashion-mnist", seed=0, dtype=np.float32)
    assert ds.sizes() == {"train": 55000, "val": 5000, "test": 10000} and ds.feature_shape == (28, 28)
    y = np.concatenate([ds.y_train, ds.y_val])
    assert np.bincount(y).tolist() == [6000] * 10 and np.bincount(ds.y_test).tolist() == [1000] * 10
