"""Evaluation of a ``Net`` at a clean input: L_V and the error rate by the forward pass alone (in chunks where
rows are independent), the logits with batch norm's running statistics, and those statistics' updates.

A mixin of ``Net`` (it reads the stack, the layout and the batch checks of ``net.py``).
"""

from __future__ import annotations

from array_api_compat import array_namespace

from .nn.batchnorm import BatchNorm, bn_stats
from .nn.loss import ce_forward, softmax
from .nn.sweep import Hook, forward

EVAL_CHUNK = 2000  # rows per forward pass in ``loss_and_error`` (nets without batch norm)


class Evaluation:
    """L_V, error rate, logits, probabilities, predictions and running statistics of a ``Net``."""

    def loss_and_error(self, theta, X, y, check=None, error=False, chunk=EVAL_CHUNK):
        """(L_V(θ) on (X, y), and with ``error`` the error rate of ``predict``), 0-d arrays, from one forward
        pass where the two agree (no batch norm, or no running statistics kept), else two.

        Without batch norm the rows are independent, so the pass runs ``chunk`` rows at a time (a conv net's
        unfolded patches of 10 000 images would not fit) and the means are combined; with batch norm L_V
        uses the statistics of the whole batch, so it is one pass."""
        if self.validate if check is None else check:
            self._check_batch(theta, X, y)
        xp = array_namespace(theta, X)
        n = X.shape[0]
        step = n if self.batchnorm or not chunk else int(chunk)
        P, hooks = self.layout.views(theta), [Hook() for _ in range(self.n_layers)]
        loss = wrong = None
        for a in range(0, n, step):
            b = min(a + step, n)  # the standard leaves out-of-bounds slice ends unspecified
            Xc, yc = (X, y) if (a, b) == (0, n) else (X[a:b, ...], y[a:b])
            out = forward(xp, self.layers, self.hook_of, hooks, P, Xc).out
            part = ce_forward(xp, out, self._onehot(xp, yc, Xc))[0] * (Xc.shape[0] / n)
            loss = part if loss is None else loss + part
            if error:
                logits = out if not self.batchnorm or self.running_stats is None else self._eval(theta, Xc)
                miss = xp.sum(xp.astype(xp.argmax(logits, axis=1) != yc, theta.dtype))
                wrong = miss if wrong is None else wrong + miss
        return loss, (None if not error else wrong / n)

    def _eval(self, theta, X, capture=None):
        """f(x; θ, 0) by each layer's ``eval_forward``; batch norm uses ``running_stats`` when set, else the
        batch's statistics. ``capture``: a list that receives each batch norm's input."""
        xp = array_namespace(theta, X)
        P, h, k = self.layout.views(theta), X, 0
        for pos, layer in enumerate(self.layers):
            stats = None
            if isinstance(layer, BatchNorm):
                if capture is not None:
                    capture.append(h)
                stats = None if self.running_stats is None else self.running_stats[k]
                k += 1
            h = layer.eval_forward(xp, h, P[pos], stats)
        return h

    def logits(self, theta, X):
        """f(x; θ, 0); batch norm uses ``running_stats`` when set, else the batch's statistics."""
        if self.validate:
            self._check_batch(theta, X, None)
        return self._eval(theta, X)

    def predict_proba(self, theta, X):
        return softmax(array_namespace(theta, X), self.logits(theta, X))

    def predict(self, theta, X):
        """Predicted class labels (argmax of the logits)."""
        return self.xp.argmax(self.logits(theta, X), axis=1)

    def update_running_stats(self, theta, X, momentum=0.1):
        """Move the batch-norm running mean/variance towards the batch statistics of X (no noise)."""
        if not self.batchnorm:
            return
        xp = array_namespace(theta, X)
        inputs, saved = [], self.running_stats
        self.running_stats = None  # the batch statistics all the way up, as training sees them
        self._eval(theta, X, capture=inputs)
        stats = [bn_stats(xp, a) for a in inputs]
        if saved is None:
            self.running_stats = stats
        else:
            self.running_stats = [((1 - momentum) * m0 + momentum * m, (1 - momentum) * v0 + momentum * v)
                                  for (m0, v0), (m, v) in zip(saved, stats)]
