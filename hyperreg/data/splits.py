"""T1 / T2 / test splits drawn from a seed.

Convention (Luketina et al. 2016, §4): when a dataset has an official test set it is the test set, and T2 is a
random part of the official training set (MNIST 55 000 / 5 000, SVHN 65 000 / 8 257, CIFAR-10 45 000 / 5 000),
redrawn with each seed "to avoid overfitting to a particular subset of the training set". Without an
official test set (digits, breast_cancer, npz with X, y only) the test set is drawn first, then T2 from what
is left, so ``val_size`` always means a part of the training data.
"""

from __future__ import annotations

import numpy as np


def count(size, n: int, name: str) -> int:
    """How many of ``n`` examples ``size`` asks for: a fraction in (0, 1) or a count in 1..n−1."""
    if isinstance(size, (bool, np.bool_)) or not isinstance(size, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a fraction in (0, 1) or a count of examples, got {size!r}")
    if isinstance(size, (float, np.floating)):
        if not 0.0 < size < 1.0:
            raise ValueError(f"{name}={size!r}: a fraction must lie in (0, 1); give e.g. 0.2, or a count")
        k = int(round(size * n))
    else:
        k = int(size)
    if not 1 <= k <= n - 1:
        raise ValueError(f"{name}={size!r} asks for {k} of {n} examples; it must leave at least one on each "
                         f"side (1..{n - 1}); give a smaller fraction or count")
    return k


def draw(n: int, size, rng: np.random.Generator, labels=None, name: str = "size") -> tuple:
    """Split ``range(n)`` into (kept, drawn) index arrays, each sorted, with ``count(size, n)`` drawn.

    Parameters
    ----------
    n : int
    size : float or int
        Fraction in (0, 1) or count of examples to draw.
    rng : numpy.random.Generator
    labels : ndarray (n,), optional
        Stratify: draw from each class in proportion to its frequency (largest remainders, so the total is
        still exactly ``count(size, n)``), which keeps the class balance of small splits.
    name : str
        The argument's name, for error messages.
    """
    k = count(size, n, name)
    if labels is None:
        drawn = rng.permutation(n)[:k]
    else:
        classes, inverse = np.unique(labels, return_inverse=True)
        members = [np.flatnonzero(inverse == c) for c in range(len(classes))]
        quota = k * np.array([len(m) for m in members]) / n
        take = np.floor(quota).astype(int)
        extra = np.argsort(-(quota - take), kind="stable")[: k - take.sum()]
        take[extra] += 1
        drawn = np.concatenate([rng.permutation(m)[:t] for m, t in zip(members, take)])
    mask = np.zeros(n, bool)
    mask[drawn] = True
    return np.flatnonzero(~mask), np.flatnonzero(mask)


def split_indices(n: int, y, seed, val_size, test_size=None, stratify: bool = False) -> dict:
    """Indices of T1, T2 and (when ``test_size`` is given) the test set in a pool of ``n`` examples.

    Parameters
    ----------
    n : int
        Size of the pool (the official training set, or all data when there is no official test set).
    y : ndarray (n,)
        Labels, used only when ``stratify``.
    seed : int or None
        Seed of ``numpy.random.default_rng``; the same seed gives the same splits.
    val_size : float or int, optional
        T2 as a fraction of, or count from, the training data left after the test set; None: no T2 drawn.
    test_size : float or int, optional
        Test set as a fraction of, or count from, the pool; None: no test set drawn (an official one exists).
    stratify : bool
        Draw each split class by class (see ``draw``).

    Returns
    -------
    dict with ``"train"`` and those of ``"val"``, ``"test"`` that were drawn; sorted, disjoint index arrays
    whose union is ``range(n)``.
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(y) if stratify else None
    out, pool = {}, np.arange(n)
    if test_size is not None:
        keep, test = draw(n, test_size, rng, labels, "test_size")
        pool, out["test"] = keep, test
    if val_size is not None:
        keep, val = draw(len(pool), val_size, rng, None if labels is None else labels[pool], "val_size")
        pool, out["val"] = pool[keep], pool[val]
    out["train"] = pool
    return out
