"""Guards of a run: refuse what would not fit before allocating it, and a diverged state before saving it.

- ``check_sizes``: a minibatch larger than its split, and a state (θ, optimizer slots, the forward methods'
  tangent Y of n_params × n_hypers) larger than the available memory, are refused before ``build`` allocates
  θ, with the size needed.
- ``check_state_finite``: called before each checkpoint, so that the last checkpoint on disk is always a
  finite state (a diverged run keeps the last good one).
"""

from __future__ import annotations

import dataclasses

import numpy as np


def state_nbytes(config, n_params: int, n_hypers: int, itemsize: int) -> int:
    """bytes = (3 + slots)·P·s + c·P·H·s: θ, its gradient, the next θ and the optimizer's slots (Adam 2,
    momentum 1), and for the forward-mode methods the tangent Y (P × H) and its update, c = 2 (c = 4 with
    momentum: dv/dλ as well). P = n_params, H = n_hypers, s = itemsize."""
    from ..hypergrad.registry import parse_method

    slots = {"adam": 2, "momentum": 1, "sgd": 0}[config.optimizer]
    total = (3 + slots) * n_params * itemsize
    if parse_method(config.method).tangent:
        total += (4 if config.optimizer == "momentum" else 2) * n_params * n_hypers * itemsize
    return total


def check_sizes(config, ds, net, backend):
    """Refuse, before anything large is allocated, a batch larger than its split and a state that would not
    fit in memory (host memory: checked on the CPU backends only)."""
    from .. import _checks as chk

    for option, batch, n, split in (("batch", config.batch, len(ds.y_train), "T1"),
                                    ("val-batch", config.val_batch, len(ds.y_val), "T2")):
        if batch > n:
            raise ValueError(f"--{option} {batch} exceeds the {n} examples of {split} in {config.data}; give at "
                             f"most {n}")
    if backend.name in ("numpy", "array_api_strict") or str(backend.device) == "cpu":
        itemsize = 4 if config.dtype == "float32" else 8
        need = state_nbytes(config, net.n_params, net.n_hypers, itemsize)
        chk.check_fits(need, f"--method {config.method} on {net.n_params} parameters × {net.n_hypers} "
                             f"hyperparameters ({config.dtype})",
                       "use smaller --sizes, fewer hyperparameters (--tied, --reg), a greedy method, "
                       "--dtype float32, or a machine with more memory")


def check_state_finite(tuner, st):
    """Raise DivergenceError when any array of the state (θ, λ, optimizer slots, tangent...) holds NaN or
    Inf: a host read of the whole state, done only before a checkpoint, which reads it all anyway."""
    from .. import _checks as chk

    fields = {f.name: getattr(st, f.name) for f in dataclasses.fields(st) if f.name not in ("rng", "history")}
    bad = [name for name, a in _arrays(fields, "")
           if not np.isfinite(tuner.backend.to_numpy(a)).all()]
    if bad:
        lam = tuner.problem.hypers_dict(st.lam)
        raise chk.DivergenceError(f"diverged at step {st.step}: {', '.join(bad)} not finite with λ = {lam}; lower "
                                  "the learning rate or the hyper learning rate, or tighten the bounds",
                                  step=st.step, lam=lam, history=st.history)


def _arrays(x, path):
    """(path, array) for each floating array leaf of nested dicts / tuples / lists."""
    if isinstance(x, dict):
        for k, v in x.items():
            yield from _arrays(v, f"{path}.{k}" if path else k)
    elif isinstance(x, (tuple, list)):
        for i, v in enumerate(x):
            yield from _arrays(v, f"{path}.{i}")
    elif hasattr(x, "dtype") and hasattr(x, "shape") and "float" in str(x.dtype):
        yield path, x
