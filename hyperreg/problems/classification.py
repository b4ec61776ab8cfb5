"""``MLPProblem``: an MLP with a training set T1, a validation set T2 and a noise source (Luketina et al.).

A training sample is a minibatch of T1 with its noise sample; a validation sample a minibatch of T2
(or all of it). The data are checked once here, so the per-step primitives skip the host reads.
Everything above ``problems/`` reaches the net and its data through these methods only (``subset``,
``accuracy``, ``val_error``, ``check_hypers``, ``hypers_dict``, ``backend``).
"""

from __future__ import annotations

from dataclasses import dataclass

from array_api_compat import array_namespace

from .. import _checks as chk
from ..mlp import MLP
from .base import Problem


@dataclass
class MLPSample:
    """One minibatch (X, y) and the noise sample its training objective uses (None for validation)."""

    X: object
    y: object
    noise: object = None


class MLPProblem(Problem):
    """The MLP's training objective on minibatches of T1 and its validation loss on T2.

    Parameters
    ----------
    net : MLP
    X_train, y_train : arrays on the net's backend, (n1, d) float and (n1,) int
    X_val, y_val : arrays on the net's backend, (n2, d) and (n2,)
    batch_size : int
        Training minibatch size (drawn uniformly with replacement by ``sample``).
    val_batch_size : int or None
        Validation minibatch size; None: all of T2 in each validation sample.
    record_rows : int or None
        Rows of T2 a history record evaluates (a fixed subset: ``record_sample``); None: as ``val_sample``.
    """

    def __init__(self, net: MLP, X_train, y_train, X_val, y_val, batch_size=100, val_batch_size=None,
                 record_rows=None):
        self.net = net
        for X, y, name in ((X_train, y_train, "X_train"), (X_val, y_val, "X_val")):
            chk.check_shape(X, (None, *net.input_shape), name)
            chk.check_float(X, net.dtype, name)
            chk.check_finite(X, name)
            if X.shape[0] == 0:
                raise ValueError(f"{name} is empty; give at least one example")
            chk.check_labels(y, X.shape[0], net.n_classes, "y" + name[1:])
        self.X_train, self.y_train, self.X_val, self.y_val = X_train, y_train, X_val, y_val
        self.batch_size = chk.check_positive_int(batch_size, "batch_size")
        self.val_batch_size = None if val_batch_size is None else chk.check_positive_int(
            val_batch_size, "val_batch_size")
        self.record_rows = None if record_rows is None else chk.check_positive_int(record_rows, "record_rows")
        self.n_params, self.n_hypers, self.hyper_names = net.n_params, net.n_hypers, net.hyper_names

    @property
    def backend(self):
        return self.net.backend

    def _take(self, X, y, idx):
        xp = array_namespace(X)
        return xp.take(X, idx, axis=0), xp.take(y, idx, axis=0)

    def sample(self, rng) -> MLPSample:
        """A minibatch of T1 (uniform, with replacement) and a fresh noise sample for it."""
        idx = rng.integers(self.X_train.shape[0], self.batch_size)
        X, y = self._take(self.X_train, self.y_train, idx)
        return MLPSample(X, y, self.net.sample_noise(self.batch_size, rng))

    def antithetic(self, sample: MLPSample):
        """The same minibatch with the noise's ε negated (``MLP.antithetic_noise``); None without ε."""
        noise = self.net.antithetic_noise(sample.noise) if sample.noise is not None else None
        return None if noise is None else MLPSample(sample.X, sample.y, noise)

    def val_sample(self, rng=None) -> MLPSample:
        """A minibatch of T2, or all of T2 when ``val_batch_size`` is None."""
        if self.val_batch_size is None:
            return MLPSample(self.X_val, self.y_val)
        idx = rng.integers(self.X_val.shape[0], self.val_batch_size)
        return MLPSample(*self._take(self.X_val, self.y_val, idx))

    def subset(self, which, n=None, rng=None) -> MLPSample:
        """``n`` rows of T1 (``which="train"``) or T2 (``"val"``), fewer if the set is smaller (None: all):
        the first ones, or drawn without replacement by ``rng.permutation``; no noise (a clean batch)."""
        X, y = {"train": (self.X_train, self.y_train), "val": (self.X_val, self.y_val)}[which]
        n = X.shape[0] if n is None else min(int(n), X.shape[0])
        if rng is None:
            return MLPSample(X[:n, ...], y[:n])
        return MLPSample(*self._take(X, y, rng.permutation(X.shape[0])[:n]))

    def at(self, theta, lam, sample: MLPSample):
        return self.net.at(theta, lam, sample.X, sample.y, sample.noise, check=False)

    def val_loss(self, theta, val_sample, lam=None):
        return self.net.val_loss(theta, val_sample.X, val_sample.y, check=False)

    def accuracy(self, theta, sample):
        """Fraction of correctly classified examples of ``sample`` by the clean net (a 0-d array)."""
        xp = array_namespace(theta)
        return xp.mean(xp.astype(self.net.predict(theta, sample.X) == sample.y, theta.dtype))

    def record_sample(self, rng):
        """What a history record evaluates: the first ``record_rows`` rows of T2 (a fixed subset, the same at
        every record, no RNG drawn) when set — also when the hyper steps use T2 minibatches, whose 100-row
        estimates would make the records' minimum (early stopping, Table 2) a draw — else ``val_sample``."""
        if self.record_rows is not None:
            return self.subset("val", self.record_rows)
        return self.val_sample(rng)

    def record(self, theta, val_sample, lam=None):
        """(L_V, error rate) on ``val_sample`` from one forward pass (``Net.loss_and_error``)."""
        return self.net.loss_and_error(theta, val_sample.X, val_sample.y, check=False, error=True)

    def val_error(self, theta, val_sample):
        """Fraction of misclassified examples in the validation sample (batch norm: running stats if kept)."""
        xp = array_namespace(theta)
        pred = self.net.predict(theta, val_sample.X)
        return xp.mean(xp.astype(pred != val_sample.y, theta.dtype))

    def val_grad(self, theta, val_sample, lam=None):
        return self.net.val_grad(theta, val_sample.X, val_sample.y, check=False)

    def check_hypers(self, lam):
        self.net.check_hypers(lam)

    def hypers_dict(self, lam) -> dict:
        return self.net.hypers_dict(lam)

    def zeros_theta(self):
        return self.net.backend.xp.zeros((self.n_params,), dtype=self.net.dtype, device=self.net.backend.device)
