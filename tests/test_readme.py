"""The README's Python tour runs as written, and its two set-up commands are the documented ones."""

from __future__ import annotations

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README lost its Python example"
    for code in blocks:
        exec(compile(code, str(README), "exec", dont_inherit=True), {"__name__": "readme"})  # as a script runs
    assert "l2[0]" in capsys.readouterr().out


def test_readme_opens_with_the_two_setup_commands():
    first = re.search(r"```bash\n(.*?)```", README.read_text(), flags=re.S).group(1).strip().splitlines()
    assert len(first) == 2 and "pip install" in first[0] and "pytest" in first[1]


def _section_block(title):
    """The Python block of the README section ``## title``."""
    text = README.read_text()
    section = text[text.index(f"## {title}\n"):]
    section = section[:section.index("\n## ", 1)]
    return re.search(r"```python\n(.*?)```", section, flags=re.S).group(1)


def test_readme_own_estimator_moves_lambda_as_its_formula_says(capsys):
    """The "Your own estimator" block, run as written: its λ is λ_{k+1} = λ_k − η_h h_k with h_k = β h_{k−1} +
    (1 − β) g_k and g_k the greedy hypergradient, replayed here by hand with ``greedy_step`` on the same toys."""
    import numpy as np

    from hyperreg.hypergrad import greedy_step
    from hyperreg.hypergrad.registry import make_estimator

    ns = {"__name__": "readme"}
    exec(compile(_section_block("Your own estimator"), str(README), "exec", dont_inherit=True), ns)
    assert "λ:" in capsys.readouterr().out
    toys, tuner, result = ns["toys"], ns["tuner"], ns["result"]
    assert type(make_estimator("avg-greedy")).__name__ == "AveragedGreedy"
    beta, lr, hyper_lr = tuner.method.beta, tuner.optimizer.lr, tuner.hyper_optimizer.lr
    theta, lam, avg = toys.zeros_theta(), toys.full_lam(0.0), None
    for _ in range(result.state.step):
        g = greedy_step(toys, theta, lam, None, None, lr)
        avg = g if avg is None else beta * avg + (1 - beta) * g
        theta, lam = theta - lr * toys.train_grad(theta, lam), lam - hyper_lr * avg
    np.testing.assert_allclose(result.lam, lam, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(result.state.method_state["avg"], avg, rtol=1e-12, atol=1e-18)
    assert float(np.max(np.abs(result.lam))) > 1e-2  # λ moved from 0
