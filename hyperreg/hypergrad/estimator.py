"""The estimator protocol: what a hypergradient estimator needs per step, the state it carries, its h.

The tuner's elementary step t, for an estimator ``m`` with state ``s`` (a dict name → array or None):

    point = L_T at (θ_t, λ_t, sample_t)
    s = m.propagate(s, point, η_t, μ)                   every step, before θ moves (forward mode: Y, V)
    θ_{t+1} = optimizer(θ_t, g_T)
    if t ≥ warmup and (t + 1 − warmup) % every == 0:    the hyper step
        h, s = m.hypergradient(s, Step(…))             h ≈ dL_V/dλ, shape of λ

So with warm-up w and every k the first hyper step is at t = w + k − 1 (k full steps after the warm-up),
then every k steps: warm-up 5, every 10 gives t = 14, 24, …; no warm-up, every 1 gives every step.

State (``init_state``): the tangent Y = dθ/dλ (``"tangent"``), its momentum twin V = dv/dλ
(``"tangent_v"``), IFT's CG warm start q (``"q"``); it is checkpointed with the rest of the tuner's state.

A *gradient-free* estimator (``gradient_free = True``: schedules, feedback policies, ``Fixed``) has
``propose(tuner, state, point) -> λ or None`` instead, called after every step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Step:
    """What an estimator sees at a hyper step: elementary step t from θ_t to θ_{t+1} at λ_t."""

    problem: Any  # the problem (problems/base.py)
    point: Any  # L_T at (θ_t, λ_t, sample), its sweep done
    theta: Any  # θ_t
    theta_next: Any  # θ_{t+1}, the step the optimizer made
    lam: Any  # λ_t
    sample: Any  # the training sample of step t
    val_sample: Any  # a validation sample drawn for this hyper step
    lr: float  # η_t


class Estimator:
    """Base class and protocol of the hypergradient estimators; the defaults are those of a one-step
    estimator (greedy): no state, a hyper step every step, no warm-up, any θ-optimizer.

    Attributes
    ----------
    every : int          elementary steps per hyper step (the tuner's ``every=None`` takes this)
    warmup : int         elementary steps before the first hyper step (the tuner's ``warmup=None``)
    tangent : bool       propagates dθ/dλ through the θ-optimizer: needs SGD or momentum, not Adam
    gradient_free : bool ``propose`` instead of ``hypergradient``
    """

    every = 1
    warmup = 0
    tangent = False
    gradient_free = False

    def init_state(self, problem, theta, momentum=None) -> dict:
        """The state at step 0 (θ₀ = ``theta``; ``momentum`` μ of momentum SGD, or None)."""
        return {}

    def propagate(self, state: dict, point, lr, momentum=None) -> dict:
        """The state after elementary step t (called every step, before θ moves)."""
        return state

    def hypergradient(self, state: dict, step: Step):
        """(h ≈ dL_V/dλ of shape λ, the new state) at a hyper step."""
        raise NotImplementedError(f"{type(self).__name__} defines no hypergradient")


class GradientFree(Estimator):
    """An estimator that proposes λ itself: ``propose(tuner, state, point) -> λ (natural units) or None``,
    called after every elementary step; the tuner clips the λ to the bounds."""

    gradient_free = True

    def propose(self, tuner, state, point):
        raise NotImplementedError(f"{type(self).__name__} defines no propose")


@dataclass(frozen=True)
class Fixed(GradientFree):
    """λ held fixed: plain training with the same loop, for baselines and overhead measurements."""

    def propose(self, tuner, state, point):
        return None


@dataclass(frozen=True)
class Rule(GradientFree):
    """Any object with ``propose(tuner, state, point)`` (a user's schedule) as a gradient-free estimator."""

    rule: Any

    def propose(self, tuner, state, point):
        return self.rule.propose(tuner, state, point)


__all__ = ["Estimator", "Fixed", "GradientFree", "Rule", "Step"]
