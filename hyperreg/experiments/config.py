"""``TuneConfig``: every option of ``hyperreg tune`` in one JSON-serializable record, with its checks.

It is ``run.json``'s ``config`` and what ``rerun``, ``grid`` and ``figure`` replay. Why each default is what it
is (measured) is in ``experiments.tune``'s docstring; the papers' protocols are presets over these fields
(``experiments.protocols``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

REG_KINDS = ("l2", "noise", "dropout")
OPTIMIZER_NAMES = ("adam", "sgd", "momentum")
HYPER_OPTIMIZER_NAMES = ("adam", "sgd")
DEFAULT_INIT = {"l2": 1e-3, "noise": 0.1, "dropout": 0.8}
# A history record evaluates fixed subsets — this many rows of T2, of the test set and of T1 (the first ones:
# the splits are shuffled), by one forward pass each; the final metrics use the full sets. Measured on a
# 10 000-example npz (784-100-100-10, 5 epochs, 60 records): full sets, forward and backward, cost 13.7 s
# of an 18 s run; see the README's monitoring line for the run with these subsets.
RECORD_ROWS = 1000


@dataclass
class TuneConfig:
    """Every option of ``hyperreg tune`` (natural units; ``init`` maps a kind or a name to λ₀)."""

    data: str = "digits"
    sizes: tuple = (100, 100)  # hidden widths; input and output widths come from the data
    arch: str = ""  # a conv net instead, e.g. "c16k3-mp2-c32k3-mp2-d10" (nn.arch); "" = the MLP of sizes
    activation: str = "relu"
    batchnorm: bool = False
    reg: tuple = ("l2", "noise")
    tied: bool = False
    init: dict = field(default_factory=dict)
    method: str = "greedy"
    every: int = 0  # 0: the method's own (K for unrollK, else 1)
    warmup: int = 0
    epochs: float = 150
    batch: int = 100
    lr: float = 1e-3
    anneal: bool = True  # η constant for the first half, then linearly down to η/10 (Luketina's annealed Adam)
    hyper_lr: object = 0.02  # one rate, or one per kind: {"l2": 1e-4, "noise": 0.1} (Luketina §3)
    optimizer: str = "adam"
    hyper_optimizer: str = "adam"
    hyper_eps: float = 0.0  # ε of the hyper-Adam: 0 is scale-free (optim.hyper_adam); 1e-8 is Adam's usual
    hyper_param: str = "log"  # φ = log λ (logit for dropout), or "natural": φ = λ, the papers' units
    coupling: float = 0.0  # c > 0: hyper rate c·η_t·hyper_lr, following θ's schedule (ICLR-2018 Alg. 1)
    protocol: str = "hyperreg"  # the preset these options came from (experiments.protocols); a label
    antithetic: bool = True  # greedy / unroll1-gtgv: ∂g/∂λ over the noise pair (ε, −ε) (hypergrad.greedy)
    backend: str = "numpy"
    dtype: str = "float64"
    seed: int = 0
    log_every: int = 0  # 0: about 60 records over the run (at most one per 5 steps)
    val_batch: int = 0  # 0: all of T2 in each hyper step
    record_rows: int = RECORD_ROWS  # rows of T2, test and T1 each history record evaluates; 0: all
    freeze: tuple = ()  # names held at their initial λ (Luketina Fig. 1 left: noise[hidden] off)
    train_size: int = 0  # 0: all of T1; n: its first n rows (the seed's draw), T2 and test unchanged

    def to_json(self) -> dict:
        d = dataclasses.asdict(self)
        d["sizes"], d["reg"], d["freeze"] = list(self.sizes), list(self.reg), list(self.freeze)
        if isinstance(self.hyper_lr, dict):
            d["hyper_lr"] = dict(self.hyper_lr)
        return d

    @classmethod
    def from_json(cls, d: dict) -> "TuneConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"config: unknown keys {sorted(unknown)}; known: {sorted(known)}")
        d = dict(d)
        for key in ("sizes", "reg", "freeze"):
            if key in d:
                d[key] = tuple(d[key])
        return cls(**d)

    def replace(self, **kw) -> "TuneConfig":
        return dataclasses.replace(self, **kw)

    def validate(self):
        """Raise ValueError naming the option, its allowed range and the value received."""
        for name in ("lr", "epochs"):
            v = getattr(self, name)
            if not _positive(v):
                raise ValueError(f"--{name.replace('_', '-')} must be a positive number, got {v!r}")
        _check_hyper_lr(self.hyper_lr, self.reg)
        for name in ("hyper_eps", "coupling"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise ValueError(f"--{name.replace('_', '-')} must be a number ≥ 0, got {v!r}")
        if self.hyper_param not in ("log", "natural"):
            raise ValueError(f"--hyper-param must be log or natural, got {self.hyper_param!r}")
        if self.coupling and self.hyper_optimizer != "sgd":
            raise ValueError(f"--coupling {self.coupling:g} is Algorithm 1's plain-SGD hyper step "
                             f"λ ← λ − c·η_t·Yᵀg_V; use --hyper-optimizer sgd, got {self.hyper_optimizer!r}")
        if int(self.every) < 0:
            raise ValueError(f"--every must be a positive integer (0: the method's own), got {self.every!r}")
        for name in ("batch",):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"--{name} must be a positive integer, got {getattr(self, name)!r}")
        for name in ("warmup", "log_every", "val_batch", "record_rows", "train_size"):
            if int(getattr(self, name)) < 0:
                raise ValueError(f"--{name.replace('_', '-')} must be ≥ 0, got {getattr(self, name)!r}")
        if any(int(s) < 1 for s in self.sizes):
            raise ValueError(f"--sizes must be positive hidden widths like 100,100, got {list(self.sizes)}")
        if self.arch:
            from ..nn.arch import parse_arch

            try:
                parse_arch(self.arch)
            except ValueError as exc:
                raise ValueError(f"--{exc}") from None
        bad = [r for r in self.reg if r not in REG_KINDS]
        if bad or not self.reg:
            raise ValueError(f"--reg must be a comma-separated subset of {','.join(REG_KINDS)}, got "
                             f"{','.join(self.reg)!r}")
        if self.optimizer not in OPTIMIZER_NAMES:
            raise ValueError(f"--optimizer must be one of {', '.join(OPTIMIZER_NAMES)}, got {self.optimizer!r}")
        if self.hyper_optimizer not in HYPER_OPTIMIZER_NAMES:
            raise ValueError(f"--hyper-optimizer must be one of {', '.join(HYPER_OPTIMIZER_NAMES)}, got "
                             f"{self.hyper_optimizer!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ValueError(f"--seed must be an integer ≥ 0, got {self.seed!r}")
        self._check_names()
        return self

    def _check_names(self):
        from ..backends import BACKENDS
        from ..data.datasets import DATASETS
        from ..nn.layers import ACTIVATIONS
        from ..tuner import parse_method

        name = self.data.partition(":")[0].strip().lower()
        if name not in DATASETS:
            raise ValueError(f"--data must be one of {', '.join(DATASETS)} (mnist:DIR, npz:PATH...), got "
                             f"{self.data!r}")
        for option, value, allowed in (("activation", self.activation, sorted(ACTIVATIONS)),
                                       ("backend", self.backend.partition(":")[0], BACKENDS),
                                       ("dtype", self.dtype, ("float32", "float64"))):
            if value not in allowed:
                raise ValueError(f"--{option} must be one of {', '.join(allowed)}, got {value!r}")
        try:
            parse_method(self.method)
        except ValueError as exc:
            raise ValueError(f"--method: {exc}") from None


def _positive(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) and v > 0


def _check_hyper_lr(rate, reg):
    """One positive rate, or a positive rate for each kind in ``reg`` (other kinds are allowed: a preset
    names both L2 and noise, a run may tune one)."""
    if isinstance(rate, dict):
        bad = {k: v for k, v in rate.items() if k not in REG_KINDS or not _positive(v)}
        missing = [k for k in reg if k not in rate]
        if bad or missing or not rate:
            raise ValueError(f"--hyper-lr must be one positive number or kind=rate pairs for each of "
                             f"{','.join(reg)} (kinds {', '.join(REG_KINDS)}), like l2=1e-4,noise=1e-1; got "
                             f"{rate!r}" + (f" (no rate for {', '.join(missing)})" if missing else ""))
    elif not _positive(rate):
        raise ValueError(f"--hyper-lr must be a positive number or kind=rate pairs, got {rate!r}")


# --- building the run ---------------------------------------------------------------------------------
