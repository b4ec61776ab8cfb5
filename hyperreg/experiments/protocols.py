"""The papers' protocols as ``TuneConfig`` presets: ``hyperreg tune --protocol luketina2016|iclr2018``.

A preset sets what its paper states and, where the paper leaves a choice open, a stated choice; every
option given beside ``--protocol`` overrides the preset. ``hyperreg`` (the default) is hyperreg's own
defaults, chosen by measurement (``experiments.tune``'s docstring), which neither paper uses.

**luketina2016** — Luketina et al. (2016), §3, MNIST MLPs. Stated: the T1–T2 step of eq. 3,
λ ← λ − η₂ (∂g_T/∂λ)ᵀ∇C₂, with no η₁ in it, and one noise sample per hyper step (``antithetic=False``); the
authors' code (github.com/jelennal/t1t2, ``training/hypergrad.py`` and ``updates.py``) takes ∇C₂ at the same
θ_t as g_T — hyperreg's ``unroll1-gtgv`` (``method``), not ``greedy``, whose h carries η and ∇L_V(θ_{t+1});
plain SGD on λ in natural units (``hyper_param="natural"``) with one rate per kind, 1e-1 for noise and
1e-4 for L2 (measured on Fashion-MNIST: σ falls to its floor early and stays, docs/README.md); θ by
annealed Adam at 1e-3; batch 100 "for both
elementary and hyperparameter training" (``batch=100, val_batch=100``); 200–300 epochs (we set 200); nets
1000×1000×1000 to 4000×2000×1000×500×250 (we set the smallest); L2 with input noise, or input and hidden
noise, per layer or tied (hyperreg's per-layer default is kept); T1 / T2 = 55 000 / 5 000 with centering
only (``--data mnist`` / ``fashion-mnist`` already split and preprocess so). Left open, and chosen here:
the annealing's form (hyperreg's: constant for half the run, then linear down to η/10); the hyper step
every elementary step (the paper quotes ≈ 30 % overhead at one every 10, but not what its runs used);
λ kept in the regularizers' natural-unit bounds (l2 ≥ 1e-8, σ ≥ 1e-6) by projection (the paper is
silent; the authors' code clips at 0). **luketina2016-adam** is the paper's variant for larger nets:
Adam on λ at 1e-3 for noise and 1e-6 for L2 (Adam's ε not stated: we use its usual 1e-8), otherwise the same.

**iclr2018** — ICLR-2018 online HO, Algorithm 1 and §4.2 (MNIST, Table 2). Stated: a 4-layer MLP of
100-100-100 hidden units and 10 outputs, one weight decay (``reg=("l2",), tied=True``), θ by plain SGD
with a decaying learning rate, λ ← λ − c·η_t·Yᵀg_V every step after the warm-up (plain SGD on λ itself,
``hyper_param="natural"``, ``coupling=c``, ``hyper_lr=1`` so the rate is c·η_t exactly), six inits of λ
log-spaced in 1e-6…1e-1 (``hyperreg figure table2``), a 75 % / 25 % T1 / T2 split. Left open, and chosen:
c = 0.1 (the paper states it for the quadratic toy, "always set to 0.1η", not for MNIST); η₀ = 0.1 and
hyperreg's annealing (no form is given); the warm-up 0 (``WarmUp_time`` has no value); batch 100 and a T2
minibatch of 100 (neither is given); the method — ``clip20`` here, the paper's best; the split is not
changed by the preset (``--train-size`` with Fashion-MNIST's T2 of 5 000: 15 000 / 5 000 is 75 / 25).
"""

from __future__ import annotations

_LUKETINA = dict(method="unroll1-gtgv", antithetic=False, optimizer="adam", lr=1e-3, anneal=True, batch=100,
                 val_batch=100, hyper_param="natural", coupling=0.0, every=1, epochs=200, sizes=(1000, 1000, 1000))

PROTOCOLS = {
    "hyperreg": {},
    "luketina2016": {**_LUKETINA, "hyper_optimizer": "sgd", "hyper_lr": {"l2": 1e-4, "noise": 1e-1}},
    "luketina2016-adam": {**_LUKETINA, "hyper_optimizer": "adam", "hyper_eps": 1e-8,
                          "hyper_lr": {"l2": 1e-6, "noise": 1e-3}},
    "iclr2018": dict(method="clip20", sizes=(100, 100, 100), reg=("l2",), tied=True, optimizer="sgd", lr=0.1,
                     anneal=True, batch=100, val_batch=100, hyper_optimizer="sgd", hyper_param="natural",
                     hyper_lr=1.0, coupling=0.1, every=0, warmup=0),
}


def protocol_options(name: str) -> dict:
    """The ``TuneConfig`` fields the preset ``name`` sets (``protocol`` included)."""
    if name not in PROTOCOLS:
        raise ValueError(f"--protocol must be one of {', '.join(PROTOCOLS)}, got {name!r}")
    return {**PROTOCOLS[name], "protocol": name}
