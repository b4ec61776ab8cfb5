"""Regularization schedules and the train–validation gap policy (Lu 2017): gradient-free tuner methods.

Each is a small frozen dataclass, a gradient-free estimator (``hypergrad.estimator.GradientFree``) with
``propose(tuner, state, point) -> λ or None``, which the ``Tuner`` calls
after every elementary step t (``state.step`` = t) to get the λ of step t + 1; None keeps λ. A method acts on
the entries of λ selected by ``name``: one hyperparameter (``"l2[0]"``) or a whole block by its kind (``"l2"``
selects ``l2[0]``, ``l2[1]``, … of a per-layer net, or the tied ``l2``); the other entries are held.

    Piecewise     λ_t = values[i] on the i-th run of ``steps`` steps (pull-down: decreasing values,
                  pull-up: increasing; Lu §4.1); the last value is held after the list ends
    Linear        λ_t = a + (b − a) s,                 s = min(t / steps, 1)
    Exponential   λ_t = a (b / a)^s                    (geometric: a, b > 0)
    Cosine        λ_t = b + (a − b)(1 + cos π s) / 2
    GapPolicy     every m steps: λ ← up · λ when acc_train − acc_val > high, λ ← down · λ when it is < low
                  (Lu §5), accuracies on fixed evaluation batches; λ kept in [lower, upper]

The λ of step 0 is the tuner's λ₀: start a run at ``schedule.lam_at(names, λ₀, 0)`` so that step 0 reads the
schedule's first value too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from array_api_compat import array_namespace, device

from .hypergrad.estimator import GradientFree


def select(names, name: str) -> list:
    """Indices of λ that ``name`` selects: the entry called ``name``, or every entry of the kind ``name``."""
    idx = [i for i, n in enumerate(names) if n == name or n.split("[")[0] == name]
    if not idx:
        raise ValueError(f"name {name!r} selects no hyperparameter; give one of {list(names)} or a kind "
                         f"among {sorted({n.split('[')[0] for n in names})}")
    return idx


def _set(names, lam, name, value):
    """λ with the entries ``name`` selects set to ``value`` (a float), the others unchanged."""
    xp = array_namespace(lam)
    idx = set(select(names, name))
    mask = xp.asarray([i in idx for i in range(len(names))], device=device(lam))
    return xp.where(mask, xp.asarray(value, dtype=lam.dtype, device=device(lam)), lam)


class _Schedule(GradientFree):
    """A fixed schedule t → value for the entries ``name`` selects; ``value(t)`` is defined by the subclass."""

    def lam_at(self, names, lam, t: int):
        """λ with this schedule's entries at their value of step t."""
        return _set(names, lam, self.name, self.value(t))

    def propose(self, tuner, state, point):
        """λ of step t + 1; None while the value does not change (no device work for a piecewise schedule),
        except after step 0, so that a run started off-schedule joins it from step 1."""
        t = state.step
        nxt = self.value(t + 1)
        if t > 0 and nxt == self.value(t):
            return None
        return self.lam_at(tuner.problem.hyper_names, state.lam, t + 1)


@dataclass(frozen=True)
class Piecewise(_Schedule):
    """λ_t = values[i] for the i-th block of ``steps`` steps (an int: the same for every value, or one per value).

    Lu's pull-down ``[3, 2, 1, 0]`` with 1000 iterations per value is ``Piecewise("l2", (3, 2, 1, 0), 1000)``."""

    name: str
    values: tuple
    steps: int | tuple = 1000

    def __post_init__(self):
        object.__setattr__(self, "values", tuple(float(v) for v in self.values))
        if not isinstance(self.steps, int):
            object.__setattr__(self, "steps", tuple(int(s) for s in self.steps))
        if not self.values:
            raise ValueError("Piecewise.values is empty; give at least one value")
        if len(self.per_value) != len(self.values) or min(self.per_value) < 1:
            raise ValueError(f"Piecewise.steps must be a positive int or one positive int per value "
                             f"({len(self.values)}), got {self.steps!r}")

    @property
    def per_value(self) -> tuple:
        """Steps spent on each value."""
        return (self.steps,) * len(self.values) if isinstance(self.steps, int) else self.steps

    @property
    def total_steps(self) -> int:
        return sum(self.per_value)

    def value(self, t: int) -> float:
        end = 0
        for v, s in zip(self.values, self.per_value):
            end += s
            if t < end:
                return v
        return self.values[-1]


def pull_down(name, values, steps=1000) -> Piecewise:
    """The values in decreasing order: strong regularization first (Lu §4.1)."""
    return Piecewise(name, tuple(sorted(values, reverse=True)), steps)


def pull_up(name, values, steps=1000) -> Piecewise:
    """The values in increasing order: weak regularization first."""
    return Piecewise(name, tuple(sorted(values)), steps)


@dataclass(frozen=True)
class _Ramp(_Schedule):
    name: str
    start: float
    end: float
    steps: int

    def __post_init__(self):
        if int(self.steps) < 1:
            raise ValueError(f"{type(self).__name__}.steps must be a positive int, got {self.steps!r}")

    def frac(self, t: int) -> float:
        return min(t / self.steps, 1.0)


@dataclass(frozen=True)
class Linear(_Ramp):
    """λ_t = a + (b − a) s with s = min(t / steps, 1), a = ``start``, b = ``end``."""

    def value(self, t: int) -> float:
        return self.start + (self.end - self.start) * self.frac(t)


@dataclass(frozen=True)
class Exponential(_Ramp):
    """λ_t = a (b / a)^s: equal ratios per step (a, b > 0)."""

    def __post_init__(self):
        super().__post_init__()
        if not (self.start > 0 and self.end > 0):
            raise ValueError(f"Exponential needs start, end > 0 (a geometric ramp), got {self.start}, {self.end}")

    def value(self, t: int) -> float:
        return self.start * (self.end / self.start) ** self.frac(t)


@dataclass(frozen=True)
class Cosine(_Ramp):
    """λ_t = b + (a − b)(1 + cos π s) / 2: flat at both ends."""

    def value(self, t: int) -> float:
        return self.end + (self.start - self.end) * (1 + math.cos(math.pi * self.frac(t))) / 2


# --- the feedback policy ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GapPolicy(GradientFree):
    """Lu (2017, §5): every ``every`` steps, gap = acc(T1 batch) − acc(T2 batch); λ ← ``up`` · λ if gap > ``high``,
    λ ← ``down`` · λ if gap < ``low``, then λ ∈ [``lower``, ``upper``] (and the tuner's bounds).

    Lu gives the rule but no numbers; the defaults were measured on digits (64-h-10 ReLU, tied L2, SGD(0.1),
    4000 steps from λ₀ = 0.01, h ∈ {32, 128}, split seeds 1 and 2; ``hyperreg schedules``). The train–validation
    gap does not fall below ≈ 2–4 points at ANY λ there (it is the T1/T2 difference, not over-fitting; at
    λ = 0.01 it is 4–5 points, larger than at the best λ ≈ 1e-3), so thresholds must sit above that floor:
    (high, low) = (0.02, 0.01) drove λ up until the net collapsed to 10 % accuracy (seed 1, both widths), and
    (0.04, 0.02) raised λ to 0.04–0.08 on the seed-0 split (−3 to −5 test points), while the pairs from
    (0.06, 0.03) to (0.10, 0.05) lowered λ and reached 96.5–98.6 % validation accuracy, within 0.7 points of
    one another (the lowest such pair is the default: it still raises λ on a real 6-point gap). ``up`` = 2,
    ``down`` = 0.5 (one decade in ≈ 3.3 decisions, every 100 steps) and (1.25, 0.8) were within 0.7 points of
    each other; the faster pair is kept so that λ can cross a 2–3-decade range within ≈ 1000 steps.
    ``eval_size`` rows of T1 and of T2, drawn once from ``seed`` (the same rows at every decision, so the gap
    moves with θ and λ, not with the draw). ``name``: the entries scaled (a name or a kind, as the schedules).
    """

    name: str = "l2"
    every: int = 100
    up: float = 2.0
    down: float = 0.5
    high: float = 0.06
    low: float = 0.03
    lower: float = 0.0
    upper: float = math.inf
    eval_size: int = 500
    seed: int = 0

    def __post_init__(self):
        if int(self.every) < 1 or int(self.eval_size) < 1:
            raise ValueError(f"GapPolicy.every and eval_size must be positive ints, got {self.every}, "
                             f"{self.eval_size}")
        if not (self.up >= 1 and 0 < self.down <= 1):
            raise ValueError(f"GapPolicy needs up ≥ 1 and 0 < down ≤ 1, got up={self.up}, down={self.down}")
        if not self.low <= self.high:
            raise ValueError(f"GapPolicy needs low ≤ high (the dead band between them keeps λ), got "
                             f"low={self.low}, high={self.high}")
        if not 0 <= self.lower < self.upper:
            raise ValueError(f"GapPolicy needs 0 ≤ lower < upper, got ({self.lower}, {self.upper})")

    def eval_batches(self, tuner):
        """The fixed evaluation batches (T1 sample, T2 sample): ``eval_size`` rows of each (fewer if a set
        is smaller), the same rows on every call (seeded, without replacement; ``MLPProblem.subset``)."""
        rng = tuner.backend.rng(self.seed)
        return [tuner.problem.subset(which, self.eval_size, rng) for which in ("train", "val")]

    def gap(self, tuner, theta) -> float:
        """acc_train − acc_val on the fixed batches (two host reads)."""
        accs = [float(tuner.problem.accuracy(theta, batch)) for batch in self.eval_batches(tuner)]
        return accs[0] - accs[1]

    def factor(self, gap: float) -> float:
        """The multiplier of λ for a measured gap."""
        if gap > self.high:
            return self.up
        if gap < self.low:
            return self.down
        return 1.0

    def propose(self, tuner, state, point):
        """Every ``every`` steps (after steps every−1, 2·every−1, …), λ scaled by ``factor(gap)`` at θ_t."""
        if (state.step + 1) % self.every:
            return None
        f = self.factor(self.gap(tuner, state.theta))
        if f == 1.0:
            return None
        xp = array_namespace(state.lam)
        idx = set(select(tuner.problem.hyper_names, self.name))
        mask = xp.asarray([i in idx for i in range(state.lam.shape[0])], device=device(state.lam))
        scaled = xp.clip(state.lam * f, min=self.lower, max=self.upper if math.isfinite(self.upper) else None)
        return xp.where(mask, scaled, state.lam)


__all__ = ["Cosine", "Exponential", "GapPolicy", "Linear", "Piecewise", "pull_down", "pull_up", "select"]
