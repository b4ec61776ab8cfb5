"""The benchmark harness (``hyperreg.bench``): records, files, errors. Never asserts timings."""

from __future__ import annotations

import json

import pytest

from hyperreg import bench
from hyperreg.cli import main

TINY = "20-8-8-3"


@pytest.fixture(scope="module")
def records():
    return bench.run_benchmark("numpy", sizes=[TINY], batches=[7], dtypes=["float32", "float64"],
                               repeats=2, warmup=1)


def test_records_have_every_key_and_sane_values(records):
    assert {r["method"] for r in records} == set(bench.METHODS)
    assert len(records) == 2 * len(bench.METHODS)
    for r in records:
        assert set(bench.RECORD_KEYS) <= set(r)
        assert r["sizes"] == [20, 8, 8, 3] and r["batch"] == 7 and r["backend"] == "numpy"
        assert r["ms"] > 0 and r["gflops"] > 0 and r["pct_of_matmul_peak"] > 0
        assert r["flop_bound_ratio"] >= 1
        if r["method"] == "plain":
            assert r["ratio_to_plain"] == 1 and r["flop_bound_ratio"] == 1


def test_flop_counts_follow_the_stated_pass_counts():
    sizes, n = (5, 4, 3, 2), 10
    f = bench.layer_flops(sizes, n)
    assert f == [2 * 10 * 5 * 4, 2 * 10 * 4 * 3, 2 * 10 * 3 * 2]
    grad = 2 * f[0] + 3 * (f[1] + f[2])  # no g_X on the first layer
    hvp = 2 * f[0] + 6 * (f[1] + f[2])
    assert bench.method_flops("plain", sizes, n) == grad
    assert bench.method_flops("hvp", sizes, n) == grad + hvp
    assert bench.method_flops("greedy-l2", sizes, n) == 2 * grad
    assert bench.method_flops("tangent-step", sizes, n) == grad + 3 * hvp
    assert bench.method_flops("ift-cg10", sizes, n) == 2 * grad + 10 * hvp
    with pytest.raises(ValueError, match="method"):
        bench.method_flops("nope", sizes, n)


def test_methods_return_finite_arrays():
    import numpy as np

    case = bench.make_case(bench.resolve_backend("numpy"), (20, 8, 8, 3), 7, "float64")
    for name, fn in bench.method_calls(case).items():
        out = fn()
        for a in out if isinstance(out, tuple) else (out,):
            assert np.all(np.isfinite(a)), name


def test_cli_writes_json_markdown_png_and_machine(tmp_path, capsys):
    out = tmp_path / "run" / "bench.json"
    rc = main(["bench", "--quick", "--sizes", TINY, "--repeats", "2", "--warmup", "1", "--json", str(out)])
    assert rc == 0
    recs = json.loads(out.read_text())
    assert [r["method"] for r in recs] == list(bench.METHODS)
    md = (tmp_path / "run" / "bench.md").read_text()
    assert "ratio to plain" in md and "not measured" in md  # cupy/torch columns never run here
    assert (tmp_path / "run" / "bench.png").stat().st_size > 0
    machine = json.loads((tmp_path / "run" / "bench.machine.json").read_text())
    assert {"cpu", "cores", "versions"} <= set(machine)
    capsys.readouterr()
    assert main(["bench", "--table", str(out)]) == 0
    assert "| numpy |" in capsys.readouterr().out


@pytest.mark.parametrize("name", ["nope", "array_api_strict"])
def test_bad_backend_is_a_one_line_error(name, capsys):
    assert main(["bench", "--backend", name, "--sizes", TINY]) == 2
    err = capsys.readouterr().err.strip()
    assert "--backend must be one of" in err and "\n" not in err


def test_missing_gpu_backend_is_a_one_line_error(capsys):
    pytest.importorskip("numpy")
    try:
        import cupy  # noqa: F401
        pytest.skip("CuPy is installed here")
    except ImportError:
        pass
    assert main(["bench", "--backend", "cupy", "--sizes", TINY]) == 2
    err = capsys.readouterr().err.strip()
    assert "cupy" in err and "pip install" in err and "\n" not in err


def test_bad_size_names_the_argument():
    with pytest.raises(ValueError, match="size must be"):
        bench.parse_size("D")


def test_methods_are_the_library_functions():
    """hvp is H v of the plain sweep; ift-cg10 takes exactly CG_ITERS CG steps (no early stop): the same
    iterates as the stop-tested CG run with tol 0 for as many iterations."""
    import numpy as np

    from hyperreg.hypergrad.linalg import cg_xp as cg

    case = bench.make_case(bench.resolve_backend("numpy"), (20, 8, 8, 3), 7, "float64")
    calls = bench.method_calls(case)
    point = case.net_l2.at(case.theta, case.lam_l2, case.X, case.y)
    theta = np.array(case.theta)
    np.testing.assert_array_equal(calls["plain"](), theta - bench.LR * point.grad)  # the tuner's rounding
    assert calls["plain"]() is case.theta_out and np.array_equal(case.theta, theta)  # θ itself untouched
    np.testing.assert_allclose(calls["hvp"](), case.net_l2.train_hvp(case.theta, case.lam_l2, case.X, case.y,
                                                                      None, case.v), rtol=0, atol=1e-15)
    b = case.net_l2.val_grad(case.theta, case.Xv, case.yv)
    q, iters, _ = cg(point.hvp, b, tol=0.0, maxiter=bench.CG_ITERS)
    assert iters == bench.CG_ITERS
    np.testing.assert_allclose(calls["ift-cg10"](), -point.mixed(q), rtol=1e-14, atol=0)
    q_more = cg(point.hvp, b, tol=0.0, maxiter=bench.CG_ITERS + 5)[0]
    assert not np.allclose(calls["ift-cg10"](), -point.mixed(q_more), rtol=1e-12, atol=0)


def test_tuner_overhead_records(numpy_backend):
    from hyperreg import bench

    recs = bench.tuner_overhead(numpy_backend, size="20-8-8-3", batch=4, steps=5, repeats=1)
    assert [r["method"] for r in recs] == ["tuner-greedy-l2-k1", "tuner-greedy-l2-k10",
                                           "tuner-greedy-l2-noise-k1", "tuner-greedy-l2-noise-k10",
                                           "tuner-greedy-l2-noise-anti-k1", "tuner-greedy-l2-noise-anti-k10"]
    for r in recs:
        assert r["ms_per_step"] > 0 and r["fixed_ms_per_step"] > 0 and r["overhead_bound"] > 0
    assert recs[1]["target"] == 0.12 and recs[0]["target"] is None and recs[5]["target"] is None
    assert recs[5]["overhead_bound"] > recs[3]["overhead_bound"]  # the pair's extra sweep is in its bound
    assert "tuner-greedy-l2-k10" in bench.render_overhead(recs)


TINY_CNN = "2x10x10:c3k3v-mp2-c4k3s2-ap2-d5-d3"


def test_conv_flops_are_2_n_HW_Cin_k2_Cout_per_matmul_equivalent():
    """By hand for TINY_CNN, n = 7: c3k3v on 2×10×10 → 3×8×8; mp2 → 3×4×4; c4k3s2 (pad 1) → 4×2×2; ap2 →
    4×1×1; flatten 4; dense 4→5, 5→3. Pooling and flatten count nothing."""
    n = 7
    f = [2 * n * 8 * 8 * 2 * 9 * 3, 2 * n * 2 * 2 * 3 * 9 * 4, 2 * n * 4 * 5, 2 * n * 5 * 3]
    assert bench.layer_flops(TINY_CNN, n) == f
    assert bench.method_flops("plain", TINY_CNN, n) == 2 * f[0] + 3 * sum(f[1:])
    assert bench.method_flops("hvp", TINY_CNN, n) == 2 * f[0] + 3 * sum(f[1:]) + 2 * f[0] + 6 * sum(f[1:])
    assert bench.n_hypers("greedy-l2-noise", TINY_CNN) == 8 and bench.n_hypers("plain", TINY_CNN) == 4
    for name in ("cnn28", "allcnn32"):  # the named CNN sizes parse and have a conv first
        label, spec = bench.parse_size(name)
        assert label == name and bench.matmul_dims(spec)[0][1] in (9, 27)


def test_cnn_case_and_records():
    case = bench.make_case(bench.resolve_backend("numpy"), bench.parse_size(TINY_CNN)[1], 7, "float64")
    assert case.X.shape == (7, 2, 10, 10) and [e.shape for e in case.noise] == [
        (7, 2, 10, 10), (7, 3, 4, 4), (7, 4), (7, 5)]
    import numpy as np

    for name, fn in bench.method_calls(case).items():
        out = fn()
        for a in out if isinstance(out, tuple) else (out,):
            assert np.all(np.isfinite(a)), name
    recs = bench.run_benchmark("numpy", sizes=[TINY_CNN], batches=[3], dtypes=["float64"],
                               methods=["plain", "hvp", "greedy-l2"], repeats=1, warmup=0)
    assert [r["method"] for r in recs] == ["plain", "hvp", "greedy-l2"]
    assert all(r["sizes"] == TINY_CNN and r["size"] == TINY_CNN and r["ms"] > 0 for r in recs)


@pytest.mark.parametrize("spec, match", [("1x8:c4k3-d3", "CxHxW"), ("1x8x8:c4k3-zz-d3", "zz"),
                                         ("1x7x7:c4k3-mp2-d3", "divisible")])
def test_bad_cnn_size_names_the_problem(spec, match, capsys):
    with pytest.raises(ValueError, match=match):
        bench.parse_size(spec)
    assert main(["bench", "--sizes", spec, "--repeats", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert match in err and "\n" not in err


def test_overhead_refuses_a_cnn_size(numpy_backend):
    with pytest.raises(ValueError, match="MLP sizes"):
        bench.tuner_overhead(numpy_backend, size="cnn28", batch=4, steps=2, repeats=1)
