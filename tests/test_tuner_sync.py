"""No host read inside ``Tuner.step`` (issue 16 item 1): every scalar a step needs stays on the device, and
the only host reads of a run are the history records' (every ``log_every`` steps, where the divergence check
is batched). Counted on array_api_strict, whose arrays are patched to log each conversion to a Python
scalar and each copy to the CPU device."""

from __future__ import annotations

import numpy as np
import pytest

import hyperreg
from hyperreg.optim import SGD, Adam, Momentum
from hyperreg.problems import MLPProblem

xps = pytest.importorskip("array_api_strict")
Array = type(xps.asarray(0.0))


@pytest.fixture
def reads(monkeypatch):
    """The list of host reads (conversion name) made while it is live."""
    log = []

    def counted(name):
        orig = getattr(Array, name)

        def f(self, *args, **kw):
            if name != "to_device" or "CPU" in str(args[0] if args else kw.get("device")):
                log.append(name)
            return orig(self, *args, **kw)
        return f

    for name in ("__float__", "__int__", "__bool__", "__index__", "__complex__", "to_device"):
        if hasattr(Array, name):
            monkeypatch.setattr(Array, name, counted(name))
    return log


def strict_problem(dropout=False):
    be = hyperreg.get_backend("array_api_strict", "device1")
    net = hyperreg.MLP([4, 5, 3], activation="tanh", l2="per-layer", noise="tied",
                       dropout="tied" if dropout else None, backend=be)
    rng = be.rng(0)
    X, Xv = rng.normal((30, 4)), rng.normal((12, 4))
    y = be.asarray((be.to_numpy(X[:, 0]) > 0).astype(np.int64))
    yv = be.asarray((be.to_numpy(Xv[:, 0]) > 0).astype(np.int64))
    return MLPProblem(net, X, y, Xv, yv, batch_size=6), net


@pytest.mark.parametrize("method,optimizer,dropout", [
    ("fixed", SGD(0.05), False), ("greedy", SGD(0.05), False), ("greedy", Adam(1e-3), True),
    ("greedy-fast", SGD(0.05), False), ("unroll1-gtgv", SGD(0.05), True), ("unroll2", SGD(0.05), False),
    ("clip5", Momentum(0.05), False), ("exact", SGD(0.05), True), ("discounted0.9", SGD(0.05), False),
])
def test_no_host_read_inside_the_step(reads, method, optimizer, dropout):
    prob, net = strict_problem(dropout)
    tuner = hyperreg.Tuner(prob, method, optimizer=optimizer, log_every=4)
    lam = net.init_hypers(l2=1e-3, noise=0.1, **({"keep": 0.8} if dropout else {}))
    st = tuner.init_state(net.init_params(0), lam)
    del reads[:]
    for _ in range(4):
        tuner.step(st)
    assert st.hyper_steps > 0 or method == "fixed"
    assert reads == [], f"{method}: host reads inside Tuner.step: {reads}"
    tuner.record(st)  # the record is where the run reads the host: the counter sees it
    assert reads
