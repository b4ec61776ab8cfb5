"""The data cache directory and checked downloads (MNIST: four IDX archives with known SHA-256 sums); where
Fashion-MNIST is installed and its files' checksums."""

from __future__ import annotations

import hashlib
import os
import urllib.request
from pathlib import Path

from .formats import find_file, missing_files_error

ENV_VAR = "HYPERREG_DATA"

#: SHA-256 of the gzipped MNIST IDX files, as published with the TensorFlow / torchvision mirrors.
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    "t10k-images-idx3-ubyte.gz": "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    "t10k-labels-idx1-ubyte.gz": "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
}
MNIST_MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/",
                 "https://storage.googleapis.com/cvdf-datasets/mnist/")
FETCH_TIMEOUT_S = 60

#: Fashion-MNIST is never downloaded: Debian's package installs its four gzipped IDX files here.
FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_INSTALL = "apt-get update && apt-get install -y dataset-fashion-mnist"
#: name -> (examples, SHA-256 of the *uncompressed* IDX file); Debian recompressed the upstream .gz files, so
#: only these sums hold for both (see ``hyperreg.data.idx``).
FASHION_MNIST_RELEASE = {
    "train-images-idx3-ubyte": (60000, "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888"),
    "train-labels-idx1-ubyte": (60000, "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9"),
    "t10k-images-idx3-ubyte": (10000, "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b"),
    "t10k-labels-idx1-ubyte": (10000, "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
}


def default_cache_dir() -> Path:
    """``$HYPERREG_DATA`` when set, else ``~/.cache/hyperreg``."""
    env = os.environ.get(ENV_VAR)
    return Path(env).expanduser() if env else Path.home() / ".cache" / "hyperreg"


def resolve_cache_dir(cache_dir=None) -> Path:
    """``cache_dir`` as a Path, or the default (see ``default_cache_dir``) when None."""
    return default_cache_dir() if cache_dir is None else Path(cache_dir).expanduser()


def fetch_url(url: str, dest: Path) -> None:
    """Write the body of ``url`` to ``dest``; raises OSError (URLError) when the network does not allow it.

    The single point of network access: tests replace it with ``monkeypatch``.
    """
    with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT_S) as response, open(dest, "wb") as f:
        while chunk := response.read(1 << 20):
            f.write(chunk)


def sha256_file(path) -> str:
    """Hex SHA-256 of a file's bytes."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def download_checked(name: str, sha256: str, directory: Path, mirrors) -> Path:
    """Fetch ``name`` from the first mirror that serves it with the right SHA-256 into ``directory``.

    The file is written as ``name.part`` and renamed only once its checksum matches, so an interrupted or
    corrupted download never leaves a file that looks complete.

    Raises
    ------
    ValueError
        When a mirror served the file with another checksum (and no mirror served it correctly).
    OSError
        When no mirror could be reached.
    """
    directory.mkdir(parents=True, exist_ok=True)
    dest, part = directory / name, directory / (name + ".part")
    errors, mismatch = [], None
    for mirror in mirrors:
        try:
            fetch_url(mirror + name, part)
        except OSError as exc:
            part.unlink(missing_ok=True)
            errors.append(f"{mirror + name}: {exc}")
            continue
        got = sha256_file(part)
        if got == sha256:
            os.replace(part, dest)
            return dest
        part.unlink()
        mismatch = (f"{mirror + name}: SHA-256 {got} does not match the expected {sha256}; the download is "
                    f"corrupt or the mirror changed, nothing was kept in {directory}")
    if mismatch:
        raise ValueError(mismatch)
    raise OSError("; ".join(errors))


def ensure_mnist(directory: Path, download: bool = True) -> Path:
    """``directory`` once it holds the four MNIST IDX files, downloading the missing ones when allowed.

    Raises
    ------
    FileNotFoundError
        When files are missing and ``download`` is False or no mirror could be reached; the message names
        the files and the directory to put them in.
    ValueError
        When a downloaded file fails its SHA-256 check.
    """
    missing = [gz for gz in MNIST_SHA256 if find_file(directory, gz[:-3]) is None]
    how = f"download them from {MNIST_MIRRORS[0]} and put them there (gzipped or not)"
    if missing and not download:
        raise missing_files_error("mnist", directory, missing, how + "; download=False")
    for gz in missing:
        try:
            download_checked(gz, MNIST_SHA256[gz], directory, MNIST_MIRRORS)
        except OSError as exc:
            raise missing_files_error("mnist", directory, missing,
                                      f"could not download ({exc}); {how}") from None
    return directory


def fashion_mnist_missing(directory: Path, missing) -> FileNotFoundError:
    """The one-line error for missing Fashion-MNIST files: which, where, and the Debian package to install."""
    return FileNotFoundError(
        f"fashion-mnist: missing {', '.join(missing)} in {directory}; install Debian's package "
        f"dataset-fashion-mnist ({FASHION_MNIST_INSTALL}), which puts them in {FASHION_MNIST_DIR}, or give "
        "fashion-mnist:DIR with DIR holding the four IDX files (gzipped or not)")
