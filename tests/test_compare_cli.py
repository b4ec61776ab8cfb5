"""``hyperreg compare``: a --quick run writes the JSON keys and the figures; bad options exit 2 with one line."""

from __future__ import annotations

import json

import pytest

from hyperreg.cli import main

KEYS = {"cosine", "rel_error", "sign_agreement", "mean", "std", "seconds"}


@pytest.mark.parametrize("problem", ["mlp", "quadratic", "ridge", "logistic"])
def test_quick_writes_the_json_keys_and_figures(tmp_path, capsys, problem):
    out, path = tmp_path / "figs", tmp_path / "c.json"
    extra = ["--estimators", "greedy,unroll5,clip5,exact"] if problem == "mlp" else []
    rc = main(["compare", "--quick", "--problem", problem, "--json", str(path), "--out", str(out), *extra])
    assert rc == 0
    doc = json.loads(path.read_text())
    assert doc["config"]["problem"] == problem and doc["config"]["horizon"] == 10
    k = len(doc["setup"]["hyper_names"])
    assert [c["step"] for c in doc["checkpoints"]] == [4, 39]
    for c in doc["checkpoints"]:
        assert set(c["estimators"]) == set(doc["config"]["estimators"])
        for e in c["estimators"].values():
            assert KEYS <= set(e) and len(e["sign_agreement"]) == len(e["mean"]) == len(e["std"]) == k
    assert sorted(p.name for p in out.iterdir()) == ["agreement.png", "signs.png"]
    printed = capsys.readouterr().out
    assert "cosine" in printed and str(path) in printed
    if problem == "quadratic":
        assert 0.2 <= doc["setup"]["lam_star"] <= 0.4


def test_lambda_path_replays_a_tuned_run(tmp_path):
    run = tmp_path / "run.json"
    names = ["l2[0]", "l2[1]", "noise[0]", "noise[1]"]
    run.write_text(json.dumps({"lambda_init": dict.fromkeys(names, 1e-3),
                               "history": [{"step": 20, "lambda": dict.fromkeys(names, 0.05)}]}))
    path = tmp_path / "c.json"
    assert main(["compare", "--quick", "--estimators", "greedy", "--lambda-path", str(run), "--json",
                 str(path)]) == 0
    doc = json.loads(path.read_text())
    assert [c["lambda"]["l2[0]"] for c in doc["checkpoints"]] == pytest.approx([1e-3, 0.05])


def test_writes_only_where_named(tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    assert main(["compare", "--quick", "--problem", "quadratic"]) == 0  # prints only
    assert list(cwd.iterdir()) == []
    assert main(["compare", "--quick", "--problem", "quadratic", "--json", str(tmp_path / "j" / "c.json"),
                 "--out", str(tmp_path / "o")]) == 0
    assert list(cwd.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["cwd", "j", "o"]


@pytest.mark.parametrize("argv, needle", [
    (["--horizon", "0"], "--horizon"),
    (["--draws", "-1"], "--draws"),
    (["--problem", "cubic"], "--problem"),
    (["--estimators", "fixed"], "gradient-free"),
    (["--estimators", "greedy,nonsense"], "nonsense"),
    (["--horizon", "3", "--horizons", "1,5"], "--horizons"),
    (["--mode", "sideways"], "--mode"),
    (["--sizes", "a,b"], "--sizes"),
    (["--lambda-path", "/nonexistent/run.json"], "--lambda-path"),
    (["--problem", "quadratic", "--init", "l2=0.1,noise=0.2"], "--init"),
    (["--reg", "l3"], "--reg"),
    (["--data", "nowhere"], "--data"),
    (["--steps", "3", "--estimators", "greedy,unroll5"], "--steps"),
    (["--backend", "jax"], "--backend"),
    (["--json", "/dev/null/c.json"], "--json"),
    (["--out", "/dev/null/figs"], "--out"),
])
def test_bad_options_exit_2_with_one_line(capsys, argv, needle):
    assert main(["compare", "--quick", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("hyperreg compare: error:") and needle in err, err
