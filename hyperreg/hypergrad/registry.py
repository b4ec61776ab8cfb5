"""One registry from names to estimators, used by the tuner, ``hyperreg quadratic``, the figures and the CLI.

    fixed            Fixed()                   λ never moves
    greedy           Greedy()                  T1–T2, −η (∂g_T/∂λ)ᵀ ∇L_V(θ_{t+1})
    greedy-fast      Greedy(fast=True)         … with ∇L_V(θ_t)
    unroll1-gtgv     Unroll1GTGV()             −(∂g_T/∂λ)ᵀ ∇L_V(θ_t)   (alias: gtgv)
    unroll<K>        UnrollK(K)                e.g. unroll5
    clip<r>          ClipR(r)                  e.g. clip5, clip2.5
    exact            ExactKStep()
    discounted<μ>    Discounted(μ)             e.g. discounted0.9; bare ``discounted``: μ = 0.9
    ift              IFT()                     warm-started CG
    ift-neumann      IFT(solver="neumann")

``register(pattern, factory)`` adds a name: ``pattern`` a regular expression matched against the whole
lower-cased name, ``factory`` called with its groups (strings) and returning an ``Estimator``.
"""

from __future__ import annotations

import re

from .estimator import Estimator, Fixed, Rule
from .forward import ClipR, Discounted, ExactKStep, UnrollK
from .greedy import Greedy, Unroll1GTGV
from .ift import IFT

_NUMBER = r"(\d+(?:\.\d*)?|\.\d+)"
_REGISTRY: list = []  # (compiled pattern, factory, example), in registration order


def register(pattern: str, factory, example: str | None = None):
    """Make the names matching ``pattern`` (a regex on the whole lower-cased name) build ``factory(*groups)``;
    registering a pattern again replaces its factory."""
    entry = (re.compile(pattern), factory, example or pattern)
    same = [i for i, (p, _, _) in enumerate(_REGISTRY) if p.pattern == pattern]
    if same:
        _REGISTRY[same[0]] = entry
    else:
        _REGISTRY.append(entry)
    return factory


register("fixed", Fixed)
register("greedy", Greedy)
register("greedy-fast", lambda: Greedy(fast=True))
register("unroll1-gtgv|gtgv", Unroll1GTGV, "unroll1-gtgv")
register(r"unroll(\d+)", lambda K: UnrollK(int(K)), "unrollK (e.g. unroll5)")
register(r"clip" + _NUMBER, lambda r: ClipR(float(r)), "clipR (e.g. clip5)")
register("exact", ExactKStep)
register(r"discounted" + _NUMBER + "?", lambda mu=None: Discounted() if mu is None else Discounted(float(mu)),
         "discountedμ (e.g. discounted0.9)")
register("ift", IFT)
register("ift-neumann", lambda: IFT(solver="neumann"))


def names() -> list:
    """The registered names, as examples (``unrollK (e.g. unroll5)``)."""
    return [example for _, _, example in _REGISTRY]


def make_estimator(spec) -> Estimator:
    """An estimator from its name (module docstring); an ``Estimator`` passes through; any other object
    with ``propose(tuner, state, point)`` becomes a gradient-free ``Rule``."""
    if isinstance(spec, Estimator):
        return spec
    if not isinstance(spec, str):
        if callable(getattr(spec, "propose", None)):
            return Rule(spec)
        raise TypeError(f"method must be a name or an Estimator, got {type(spec).__name__} {spec!r}")
    s = spec.strip().lower()
    for pattern, factory, _ in _REGISTRY:
        m = pattern.fullmatch(s)
        if m is not None:
            return factory(*(g for g in m.groups() if g is not None))
    raise ValueError(f"method must be one of {', '.join(names())}, got {spec!r}")


parse_method = make_estimator

__all__ = ["make_estimator", "names", "parse_method", "register"]
