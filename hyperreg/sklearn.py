"""scikit-learn estimators whose L2 strength is tuned by HOAG on a validation split.

    HOAGRidge               mean squared error/2 + (alpha/2)‖w‖²          (sklearn's Ridge alpha = n · alpha_)
    HOAGLogisticRegression  mean log-loss + (alpha/2)‖w‖²; one-vs-rest     (sklearn's C = 1/(n · alpha_))

``fit(X, y)`` holds out ``validation_fraction`` of the rows (stratified for classifiers where possible), or
uses ``fit(X, y, X_val=..., y_val=...)``; HOAG tunes λ on the held-out loss; the coefficients are those of
the training part at the tuned λ. ``alpha_`` is λ in these natural units (per class for multiclass).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.model_selection import train_test_split
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, check_random_state, validate_data

from .hypergrad.hoag import HOAG
from .problems.logistic import Logistic
from .problems.ridge import Ridge


class _HOAGEstimator(BaseEstimator):
    def __init__(self, alpha0=1.0, validation_fraction=0.25, tol_schedule="quadratic", max_iter=50,
                 fit_intercept=True, random_state=None):
        self.alpha0 = alpha0
        self.validation_fraction = validation_fraction
        self.tol_schedule = tol_schedule
        self.max_iter = max_iter
        self.fit_intercept = fit_intercept
        self.random_state = random_state

    def _settings(self):
        if not (isinstance(self.alpha0, (int, float)) and self.alpha0 > 0):
            raise ValueError(f"alpha0 must be a number > 0 (the starting λ), got {self.alpha0!r}")
        return HOAG(max_iter=self.max_iter, tol_schedule=self.tol_schedule)

    def _split(self, X, y, X_val, y_val, stratify):
        """(X_train, y_train, X_val, y_val): the given validation set, or a seeded held-out fraction."""
        if (X_val is None) != (y_val is None):
            raise ValueError("give both X_val and y_val, or neither (then validation_fraction is held out)")
        if X_val is not None:
            X_val = validate_data(self, X_val, reset=False, dtype=np.float64)
            return X, y, X_val, np.asarray(y_val)
        frac = self.validation_fraction
        if not (isinstance(frac, float) and 0 < frac < 1):
            raise ValueError(f"validation_fraction must be a float in (0, 1), got {frac!r}")
        n = X.shape[0]
        if n < 2:
            raise ValueError(f"HOAG needs at least 2 samples (training and validation), got n_samples = {n}")
        n_val = min(max(1, round(frac * n)), n - 1)
        if stratify is not None:
            counts = np.unique(stratify, return_counts=True)[1]
            if counts.min() < 2 or n_val < counts.size or n - n_val < counts.size:
                stratify = None
        rng = check_random_state(self.random_state)
        X, X_val, y, y_val = train_test_split(X, y, test_size=n_val, random_state=rng, stratify=stratify)
        return X, y, X_val, y_val

    def _unpack(self, theta, d):
        theta = np.asarray(theta)
        return theta[:d], (float(theta[d]) if self.fit_intercept else 0.0)


class HOAGRidge(RegressorMixin, _HOAGEstimator):
    """Ridge regression with λ tuned by HOAG on a validation split.

    Parameters
    ----------
    alpha0 : float
        Starting λ (natural units: (1/2n)‖Xw + b − y‖² + (λ/2)‖w‖²).
    validation_fraction : float
        Share of the rows held out when ``fit`` gets no X_val, y_val.
    tol_schedule : {"quadratic", "cubic", "exponential"}
    max_iter : int
        HOAG outer iterations.
    fit_intercept : bool
    random_state : int, RandomState or None
        Seeds the validation split.

    Attributes
    ----------
    alpha_ : float
    coef_ : ndarray (n_features,)
    intercept_ : float
    history_ : list of dict
        HOAG's history (λ, validation loss, inner and CG iterations, seconds).
    n_iter_ : int
        HOAG outer iterations run.
    """

    def fit(self, X, y, X_val=None, y_val=None):
        X, y = validate_data(self, X, y, y_numeric=True, dtype=np.float64)
        Xt, yt, Xv, yv = self._split(X, y, X_val, y_val, stratify=None)
        problem = Ridge(Xt, yt, Xv, np.asarray(yv, dtype=np.float64), fit_intercept=self.fit_intercept)
        res = self._settings().run(problem, problem.full_lam(float(self.alpha0)))
        self.coef_, self.intercept_ = self._unpack(res.theta, X.shape[1])
        self.alpha_, self.history_, self.n_iter_ = float(res.lam[0]), res.history, res.outer_iterations
        return self

    def predict(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        return X @ self.coef_ + self.intercept_


class HOAGLogisticRegression(ClassifierMixin, _HOAGEstimator):
    """L2 logistic regression with λ tuned by HOAG on a validation split; multiclass one-vs-rest.

    Multiclass: one binary problem per class (class k vs the rest), each with its own λ tuned on its own
    validation log-loss; ``predict_proba`` normalizes the K sigmoids. Parameters as ``HOAGRidge``.

    Attributes
    ----------
    classes_ : ndarray (n_classes,)
    alpha_ : float (binary) or ndarray (n_classes,)
    coef_ : ndarray (1, n_features) or (n_classes, n_features)
    intercept_ : ndarray (1,) or (n_classes,)
    history_ : list of dict (binary) or list of lists, one per class
    n_iter_ : ndarray (1,) or (n_classes,)
    """

    def fit(self, X, y, X_val=None, y_val=None):
        X, y = validate_data(self, X, y, dtype=np.float64)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if self.classes_.size < 2:
            raise ValueError(f"y holds one class only ({self.classes_[0]!r}); a classifier needs two or more")
        Xt, yt, Xv, yv = self._split(X, y, X_val, y_val, stratify=y)
        targets = [self.classes_[1]] if self.classes_.size == 2 else list(self.classes_)
        settings, fits = self._settings(), []
        for c in targets:
            problem = Logistic(Xt, (yt == c).astype(np.float64), Xv, (np.asarray(yv) == c).astype(np.float64),
                               fit_intercept=self.fit_intercept)
            fits.append(settings.run(problem, problem.full_lam(float(self.alpha0))))
        coefs = [self._unpack(r.theta, X.shape[1]) for r in fits]
        self.coef_ = np.stack([w for w, _ in coefs])
        self.intercept_ = np.array([b for _, b in coefs])
        alphas = np.array([float(r.lam[0]) for r in fits])
        self.alpha_ = float(alphas[0]) if len(fits) == 1 else alphas
        self.history_ = fits[0].history if len(fits) == 1 else [r.history for r in fits]
        self.n_iter_ = np.array([r.outer_iterations for r in fits])
        return self

    def decision_function(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=np.float64)
        z = X @ self.coef_.T + self.intercept_
        return z[:, 0] if self.classes_.size == 2 else z

    def predict_proba(self, X):
        z = self.decision_function(X)
        if z.ndim == 1:
            p = 1.0 / (1.0 + np.exp(-z))
            return np.stack([1.0 - p, p], axis=1)
        p = 1.0 / (1.0 + np.exp(-z))  # one-vs-rest: normalize the K sigmoids
        return p / p.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X):
        return np.log(self.predict_proba(X))

    def predict(self, X):
        z = self.decision_function(X)
        return self.classes_[(z > 0).astype(int) if z.ndim == 1 else np.argmax(z, axis=1)]
