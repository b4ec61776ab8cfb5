"""Checkpoints of a ``TunerState``, without pickle: everything a run needs to continue bit-identically.

File layout (a zip archive that ``np.load(path, allow_pickle=False)`` also opens):

    checkpoint.json   {"format", "version", "backend", "config", "state", "rng"}: the run's config and every
                      TunerState field, arrays replaced by {"__array__": KEY}; tuples as {"__tuple__": [...]}
    KEY.npy           one host array per array leaf, KEY its path in the state (``opt_state.0``, ``theta``)
    SHA256            hex SHA-256 over every other member (name, size, bytes), checked before anything is parsed

The serializer walks the dataclass's fields generically (nested tuples, lists, dicts of arrays, None, numbers,
strings), so a new field needs no change here. Device arrays go to the host with ``backend.to_numpy`` and
back with ``backend.asarray`` (dtype kept). The RNG is saved as ``rng.get_state()`` in the same encoding; on
load each array leaf takes the kind of the fresh generator's leaf at the same place (a host array for NumPy's
and CuPy's, a CPU tensor for torch's). Loading reads JSON and raw ``.npy`` buffers only: it never runs code.
Writes go to a temporary file in the same directory, fsync'd, then ``os.replace``'d into place, so a crash
mid-write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import tempfile
import zipfile

import numpy as np  # noqa: TID251 - host-side serialization (allowed here like data/ and cli/)

FORMAT = "hyperreg-checkpoint"
VERSION = 2  # 1 was a pickle; refused
DOC, SUM = "checkpoint.json", "SHA256"
_SCALARS = (bool, int, float, str)


# --- encoding: a tree of arrays and JSON values → (JSON tree, {key: host array}) ----------------------------


def _encode(x, path, arrays, host):
    """JSON-able mirror of ``x``; each array leaf is stored in ``arrays`` under a key made from ``path``."""
    if x is None or isinstance(x, _SCALARS):
        return x
    if isinstance(x, tuple):
        return {"__tuple__": [_encode(v, f"{path}.{i}", arrays, host) for i, v in enumerate(x)]}
    if isinstance(x, list):
        return [_encode(v, f"{path}.{i}", arrays, host) for i, v in enumerate(x)]
    if isinstance(x, dict):
        if not all(isinstance(k, str) for k in x):
            raise TypeError(f"checkpoint: {path} is a dict with non-string keys {list(x)[:5]}; use string keys")
        out = {k: _encode(v, f"{path}.{k}", arrays, host) for k, v in x.items()}
        return {"__dict__": out} if any(k.startswith("__") for k in x) else out
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        key = re.sub(r"[^A-Za-z0-9_.\[\]-]", "_", path)
        while key in arrays:
            key += "_"
        a = np.array(host(x), copy=True)
        if a.dtype.hasobject:
            raise TypeError(f"checkpoint: {path} is an object array; only numeric arrays are saved")
        arrays[key] = a
        return {"__array__": key}
    raise TypeError(f"checkpoint: {path} has type {type(x).__name__}, which a checkpoint cannot hold; keep "
                    "TunerState fields to arrays, None, numbers, strings and tuples/lists/dicts of those")


def _decode(x, arrays, leaf, template=None):
    """Inverse of ``_encode``; ``leaf(array, template_leaf)`` turns each stored host array into its kind."""
    if isinstance(x, list):
        return [_decode(v, arrays, leaf, _at(template, i)) for i, v in enumerate(x)]
    if not isinstance(x, dict):
        return x
    if "__array__" in x:
        return leaf(arrays[x["__array__"]], template)
    if "__tuple__" in x:
        return tuple(_decode(v, arrays, leaf, _at(template, i)) for i, v in enumerate(x["__tuple__"]))
    items = x["__dict__"] if "__dict__" in x else x
    return {k: _decode(v, arrays, leaf, _at(template, k)) for k, v in items.items()}


def _at(template, key):
    try:
        return template[key]
    except (TypeError, KeyError, IndexError):
        return None


def _rng_leaf(a, template):
    """A stored RNG-state array as the fresh generator's leaf is: torch's state is a CPU uint8 tensor."""
    if template is not None and not isinstance(template, np.ndarray) and hasattr(template, "new_tensor"):
        return template.new_tensor(a)
    return a


def _digest(members: dict) -> str:
    h = hashlib.sha256()
    for name in sorted(members):
        h.update(name.encode() + b"\0" + str(len(members[name])).encode() + b"\0" + members[name])
    return h.hexdigest()


# --- save / load ------------------------------------------------------------------------------------------


def save_checkpoint(path, state, config: dict, backend) -> None:
    """Write ``state`` (a ``TunerState`` dataclass) and ``config`` to ``path`` atomically (see module doc)."""
    arrays: dict = {}
    host = backend.to_numpy
    fields = {f.name: _encode(getattr(state, f.name), f.name, arrays, host)
              for f in dataclasses.fields(state) if f.name != "rng"}
    rng = _encode(state.rng.get_state(), "rng", arrays, host)
    doc = {"format": FORMAT, "version": VERSION, "backend": backend.name, "config": config,
           "state": fields, "rng": rng}
    members = {DOC: json.dumps(doc, indent=1).encode()}
    for key, a in arrays.items():
        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.ascontiguousarray(a), allow_pickle=False)
        members[key + ".npy"] = buf.getvalue()
    members[SUM] = _digest(members).encode()
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".ckpt-", dir=directory)
    try:
        with os.fdopen(fd, "wb") as f:
            with zipfile.ZipFile(f, "w", zipfile.ZIP_STORED) as z:
                for name, data in members.items():
                    z.writestr(name, data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def load_checkpoint(path) -> dict:
    """The saved document with its arrays (``doc["arrays"]``, host NumPy); reads JSON and .npy buffers only.

    Raises FileNotFoundError for a missing file and ValueError, naming the file and the fix, for a file that
    is not a checkpoint, one of another format version, or one whose checksum does not match."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint {path!r} does not exist; give a file written by --checkpoint")
    fix = "resume from an intact checkpoint written by --checkpoint, or start the run again"
    try:
        with zipfile.ZipFile(path) as z:
            members = {name: z.read(name) for name in z.namelist()}
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise ValueError(f"{path!r} is not a hyperreg checkpoint ({type(exc).__name__}: {exc}; checkpoints "
                         f"of hyperreg ≤ 0.1 were pickles and are not loaded); {fix}") from None
    if DOC not in members or SUM not in members:
        raise ValueError(f"{path!r} is not a hyperreg checkpoint (no {DOC} / {SUM} inside); {fix}")
    stored = members.pop(SUM).decode("ascii", "replace")
    if stored != _digest(members):
        raise ValueError(f"{path!r}: checksum mismatch (the file is corrupt or was edited); {fix}")
    try:
        doc = json.loads(members.pop(DOC))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path!r}: unreadable {DOC} ({exc}); {fix}") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise ValueError(f"{path!r} is not a hyperreg checkpoint (expected format {FORMAT!r}); {fix}")
    if doc.get("version") != VERSION:
        raise ValueError(f"{path!r} has checkpoint format version {doc.get('version')!r}, this hyperreg reads "
                         f"version {VERSION}; resume with the hyperreg that wrote it, or start the run again")
    doc["arrays"] = {name[:-4]: np.lib.format.read_array(io.BytesIO(data), allow_pickle=False)
                     for name, data in members.items() if name.endswith(".npy")}
    return doc


def restore_state(doc: dict, tuner):
    """A ``TunerState`` on ``tuner``'s backend equal to the one saved in ``doc``."""
    from .tuner import TunerState

    be = tuner.backend
    if doc["backend"] != be.name:
        raise ValueError(f"checkpoint was written on backend {doc['backend']!r}, resuming on {be.name!r}; "
                         f"resume with --backend {doc['backend']}")
    known = {f.name for f in dataclasses.fields(TunerState)}
    unknown = sorted(set(doc["state"]) - known)
    if unknown:
        raise ValueError(f"checkpoint holds state fields {unknown} this hyperreg does not know; resume with "
                         "the hyperreg that wrote it")
    arrays = doc["arrays"]
    fields = {k: _decode(v, arrays, lambda a, _t: be.asarray(a)) for k, v in doc["state"].items()}
    rng = be.rng(0)
    rng.set_state(_decode(doc["rng"], arrays, _rng_leaf, rng.get_state()))
    return TunerState(rng=rng, **fields)
