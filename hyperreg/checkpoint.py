"""Checkpoints of a ``TunerState``: everything a run needs to continue bit-identically.

Saved: θ, φ, λ, the θ- and φ-optimizer states, the estimator's state (tangent Y, dv/dλ, IFT's q), the step and
hyper-step counters, the history, the running training-loss sum, and the backend RNG's state
(``rng.get_state()``), all as host NumPy arrays in one pickle, beside the run's JSON config.
The file is written to a temporary name in the same directory and moved into place with ``os.replace``,
so a crash mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import os
import pickle
import tempfile

import numpy as np  # noqa: TID251 - host-side serialization (allowed here like data/ and cli/)

FORMAT = "hyperreg-checkpoint-1"
_ARRAY_FIELDS = ("theta", "phi", "lam", "opt_state", "hyper_state", "method_state", "loss_sum")
_PLAIN_FIELDS = ("step", "hyper_steps", "history", "seconds", "loss_count")


class _Host:
    """A device array moved to the host, tagged so that ``_to_device`` knows to move it back."""

    __slots__ = ("array",)

    def __init__(self, array):
        self.array = array


def _to_host(x, backend):
    if isinstance(x, dict):
        return {k: _to_host(v, backend) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return type(x)(_to_host(v, backend) for v in x)
    if x is None or isinstance(x, (bool, int, float, str)):
        return x
    return _Host(np.array(backend.to_numpy(x), copy=True))


def _to_device(x, backend):
    if isinstance(x, dict):
        return {k: _to_device(v, backend) for k, v in x.items()}
    if isinstance(x, (tuple, list)):
        return type(x)(_to_device(v, backend) for v in x)
    if isinstance(x, _Host):
        return backend.asarray(x.array)  # keeps the saved dtype
    return x


def save_checkpoint(path, state, config: dict, backend) -> None:
    """Write ``state`` (a ``TunerState``) and ``config`` to ``path`` atomically."""
    doc = {"format": FORMAT, "config": config, "backend": backend.name,
           "arrays": {k: _to_host(getattr(state, k), backend) for k in _ARRAY_FIELDS},
           "plain": {k: getattr(state, k) for k in _PLAIN_FIELDS},
           "rng": state.rng.get_state()}
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".ckpt-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            pickle.dump(doc, f, protocol=pickle.HIGHEST_PROTOCOL)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_checkpoint(path) -> dict:
    """The saved document; raise FileNotFoundError / ValueError with the path for a missing or foreign file."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint {path!r} does not exist; give a file written by --checkpoint")
    try:
        with open(path, "rb") as f:
            doc = pickle.load(f)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means "not a checkpoint"
        raise ValueError(f"{path!r} is not a hyperreg checkpoint ({type(exc).__name__}: {exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"{path!r} is not a hyperreg checkpoint (expected format {FORMAT!r})")
    return doc


def restore_state(doc: dict, tuner):
    """A ``TunerState`` on ``tuner``'s backend equal to the one saved in ``doc``."""
    from .tuner import TunerState

    be = tuner.backend
    if doc["backend"] != be.name:
        raise ValueError(f"checkpoint was written on backend {doc['backend']!r}, resuming on {be.name!r}; "
                         f"resume with --backend {doc['backend']}")
    arrays = {k: _to_device(v, be) for k, v in doc["arrays"].items()}
    rng = be.rng(0)
    rng.set_state(doc["rng"])
    return TunerState(rng=rng, **arrays, **doc["plain"])
