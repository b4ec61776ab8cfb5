"""The PyTorch peer of ``hyperreg bench`` (issue 12): it computes the same quantities as hyperreg on the same
case — gradient, HVP, greedy hypergradients — so the time ratio compares equal work. Never asserts timings."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hyperreg import bench
from hyperreg.cli import main

torch = pytest.importorskip("torch")
from hyperreg.bench import peer_torch  # noqa: E402  (after the skip: it needs torch)

# torch.func.jvp loads a decomposition table through torch.jit.script, which warns in torch 2.13
pytestmark = pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
TINY = "20-8-8-3"
# every CNN piece the peer mirrors: valid and same padding, stride 2, max and average pooling, a flatten before
# two dense layers (max-pool ties: the inputs are Gaussian, so a tie is a ReLU zero, whose gradient is 0 anyway)
TINY_CNN = "2x10x10:c3k3v-mp2-c4k3s2-ap2-d5-d3"
ATOL = 1e-10  # float64: the peer and hyperreg agree to rounding (~1e-16 here)


@pytest.fixture(scope="module", params=[(be, size) for size in (TINY, TINY_CNN) for be in ("numpy", "torch")],
                ids=lambda p: f"{p[0]}-{'cnn' if ':' in p[1] else 'mlp'}")
def case(request):
    name, size = request.param
    return bench.make_case(bench.resolve_backend(name, "cpu" if name == "torch" else None),
                           bench.parse_size(size)[1], 7, "float64")


@pytest.fixture(scope="module")
def peer(case):
    return peer_torch.TorchPeer(case)


def _host(t):
    return (peer_torch.flat(t) if isinstance(t, tuple) else t).detach().cpu().numpy()


def _close(a, b):
    a, b = np.asarray(a), np.asarray(b)  # hyperreg's torch-backend results: CPU tensors
    scale = max(np.max(np.abs(b)), 1.0)
    np.testing.assert_allclose(a, b, rtol=0, atol=ATOL * scale)


@pytest.mark.parametrize("impl", peer_torch.IMPLS)
def test_peer_gradient_and_hvp_are_hyperregs(case, peer, impl):
    point = case.net_l2.at(case.theta, case.lam_l2, case.X, case.y)
    assert float(abs(point.grad).max()) > 1e-3 and float(abs(point.hvp(case.v)).max()) > 1e-6  # not vacuous
    _close(_host(peer.grad(impl)), point.grad)
    _close(_host(peer.hvp(impl)), bench.method_calls(case)["hvp"]())


@pytest.mark.parametrize("impl", peer_torch.IMPLS)
@pytest.mark.parametrize("noisy", [False, True], ids=["greedy-l2", "greedy-l2-noise"])
def test_peer_greedy_hypergradient_is_hyperregs(case, peer, impl, noisy):
    h = bench.method_calls(case)["greedy-l2-noise" if noisy else "greedy-l2"]()
    L = case.net_l2.n_layers
    assert h.shape == ((2 if noisy else 1) * L,) and float(abs(h).min()) > 0  # every λ (σ too) has a signal
    _close(_host(peer.greedy(impl, noisy)), h)


def test_peer_mirrors_the_cnn_layers(case, peer):
    """On the CNN case the peer runs conv2d / pools / flatten in the net's order; on the MLP, dense and relu."""
    kinds = [op[0] for op in peer.ops]
    if ":" in case.sizes:
        assert kinds == ["conv", "relu", "maxpool", "conv", "relu", "avgpool", "flatten", "dense", "relu", "dense"]
        assert [op[1:] for op in peer.ops if op[0] == "conv"] == [(1, 0), (2, 1)]  # (stride, pad)
    else:
        assert kinds == ["dense", "relu", "dense", "relu", "dense"]


def test_peer_step_updates_its_own_copy_in_place(case, peer):
    before = [p.detach().clone() for p in peer.step_params["autograd"]]
    g = peer.step("autograd")
    for p, p0, gp in zip(peer.step_params["autograd"], before, g):
        torch.testing.assert_close(p.detach(), p0 - bench.LR * gp, rtol=0, atol=1e-15)
    _close(_host(peer.params), case.theta)  # θ of the other quantities unchanged


def test_cli_peer_torch_writes_the_peer_fields(tmp_path, capsys):
    out = tmp_path / "bench.json"
    rc = main(["bench", "--quick", "--sizes", TINY, "--repeats", "1", "--warmup", "0", "--threads", "1",
               "--peer", "torch", "--json", str(out)])
    assert rc == 0
    recs = {r["method"]: r for r in json.loads(out.read_text())}
    assert set(recs) == set(bench.METHODS)
    for m in bench.METHODS:
        assert set(bench.PEER_KEYS) <= set(recs[m])
        if m in peer_torch.PEER_METHODS:
            r = recs[m]
            assert set(r["peer_ms_by_impl"]) == set(peer_torch.IMPLS) and r["peer_impl"] in peer_torch.IMPLS
            assert r["peer_ms"] == min(r["peer_ms_by_impl"].values()) > 0
            assert r["ratio_to_peer"] == pytest.approx(r["ms"] / r["peer_ms"])
            assert "1 threads" in r["peer"]
        else:
            assert recs[m]["peer_ms"] is None and recs[m]["ratio_to_peer"] is None
    assert all(r["matmul_ms"] > 0 and r["peer_matmul_ms"] > 0 for r in recs.values())
    md = (tmp_path / "bench.md").read_text()
    assert "ratio to peer" in md and ("| torch.func |" in md or "| autograd |" in md)
    assert "raw matmuls alone" in md
    assert "ratio to peer" in capsys.readouterr().out


def test_cli_peer_on_a_cnn_size(tmp_path):
    out = tmp_path / "bench.json"
    rc = main(["bench", "--sizes", TINY_CNN, "--batches", "4", "--dtypes", "float64", "--repeats", "1",
               "--warmup", "0", "--threads", "1", "--methods", "plain", "hvp", "greedy-l2-noise",
               "--peer", "torch", "--json", str(out)])
    assert rc == 0
    recs = {r["method"]: r for r in json.loads(out.read_text())}
    assert set(recs) == {"plain", "hvp", "greedy-l2-noise"}
    assert all(r["sizes"] == TINY_CNN and r["peer_ms"] > 0 for r in recs.values())


def test_missing_torch_is_a_one_line_error_naming_the_extra(monkeypatch, capsys):
    monkeypatch.setattr(peer_torch, "torch", None)
    assert main(["bench", "--sizes", TINY, "--peer", "torch", "--repeats", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "pip install 'hyperreg[torch]' torch==2.13.0" in err and "\n" not in err


def test_program_restarts_with_the_short_blas_spin_and_records_it(tmp_path):
    """Run as the program without OPENBLAS_THREAD_TIMEOUT, ``bench --peer`` starts again with it set (read when
    OpenBLAS loads) and the machine record says so."""
    import os
    import subprocess
    import sys

    out = tmp_path / "bench.json"
    env = {k: v for k, v in os.environ.items() if k not in bench.SPIN_ENV}
    proc = subprocess.run([sys.executable, "-m", "hyperreg", "bench", "--sizes", TINY, "--batches", "4",
                           "--dtypes", "float64", "--repeats", "1", "--warmup", "0", "--threads", "1",
                           "--methods", "plain", "--peer", "torch", "--json", str(out)],
                          env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    machine = json.loads((tmp_path / "bench.machine.json").read_text())
    assert machine["env"]["OPENBLAS_THREAD_TIMEOUT"] == bench.SPIN_ENV["OPENBLAS_THREAD_TIMEOUT"]
    assert "note:" not in proc.stderr


def test_in_process_bench_says_what_the_environment_lacks(monkeypatch, tmp_path, capsys):
    for k in bench.SPIN_ENV:
        monkeypatch.delenv(k, raising=False)
    assert main(["bench", "--sizes", TINY, "--batches", "4", "--repeats", "1", "--warmup", "0", "--methods",
                 "plain", "--peer", "torch"]) == 0
    err = capsys.readouterr().err
    assert "note: set OPENBLAS_THREAD_TIMEOUT=4 before NumPy loads" in err
