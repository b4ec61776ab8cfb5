"""scikit-learn estimators: check_estimator passes, explicit validation sets, attributes, bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_iris
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

from hyperreg.sklearn import HOAGLogisticRegression, HOAGRidge


@pytest.mark.parametrize("est", [HOAGRidge(max_iter=5), HOAGLogisticRegression(max_iter=5)], ids=repr)
def test_check_estimator(est):
    """All of scikit-learn's API checks (max_iter=5 keeps them fast; the API does not depend on it)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = check_estimator(est, on_fail=None)
    failed = [(r["check_name"], r["exception"]) for r in results if r["status"] == "failed"]
    assert not failed, failed


def test_ridge_explicit_validation_matches_problem():
    rng = np.random.default_rng(0)
    X, w = rng.normal(size=(80, 10)), rng.normal(size=10)
    y = X @ w + 2.0 * rng.normal(size=80) + 3.0
    est = HOAGRidge().fit(X[:50], y[:50], X_val=X[50:], y_val=y[50:])
    assert est.coef_.shape == (10,) and isinstance(est.intercept_, float) and est.alpha_ > 0
    assert est.history_ and est.n_iter_ == len([h for h in est.history_ if h["accepted"]])
    from sklearn.linear_model import Ridge as SKRidge
    sk = SKRidge(alpha=50 * est.alpha_).fit(X[:50], y[:50])  # natural units: sklearn's alpha = n λ
    np.testing.assert_allclose(est.coef_, sk.coef_, rtol=1e-3, atol=1e-4)


def test_logistic_binary_and_multiclass():
    X, y = load_breast_cancer(return_X_y=True)
    X = StandardScaler().fit_transform(X)
    est = HOAGLogisticRegression(random_state=0).fit(X, y)
    assert est.coef_.shape == (1, 30) and est.intercept_.shape == (1,) and isinstance(est.alpha_, float)
    assert est.score(X, y) > 0.95
    proba = est.predict_proba(X[:5])
    np.testing.assert_allclose(proba.sum(1), 1.0)
    X, y = load_iris(return_X_y=True)
    est = HOAGLogisticRegression(random_state=0, max_iter=10).fit(X, y)
    assert est.coef_.shape == (3, 4) and est.alpha_.shape == (3,) and len(est.history_) == 3
    assert est.score(X, y) > 0.85


def test_bad_input():
    X, y = load_breast_cancer(return_X_y=True)
    with pytest.raises(ValueError, match="one class"):
        HOAGLogisticRegression().fit(X[:20], np.zeros(20))
    Xn = X.copy()
    Xn[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        HOAGRidge().fit(Xn, y)
    with pytest.raises(ValueError, match="X_val is empty|0 sample"):
        HOAGRidge().fit(X, y, X_val=X[:0], y_val=y[:0])
    with pytest.raises(ValueError, match="both X_val and y_val"):
        HOAGRidge().fit(X, y, X_val=X)
    with pytest.raises(ValueError, match="validation_fraction"):
        HOAGRidge(validation_fraction=1.5).fit(X, y)
