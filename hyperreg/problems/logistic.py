"""``Logistic``: L2-regularized logistic regression, one λ or one λ per feature group.

    L_T(θ, λ) = mean_i [log(1 + e^{z_i}) − y_i z_i] + ½ Σ_g λ_g ‖w_g‖²,   z = Zθ,  θ = [w, b],  y ∈ {0, 1}
    ℓ'(z) = σ(z) − y          ℓ''(z) = σ(z)(1 − σ(z))          L_V(θ) = mean log-loss on (X_V, y_V)

The intercept b is unpenalized; columns in no group are unpenalized too. λ in natural units of this
mean-loss objective (scikit-learn's ``LogisticRegression(C)`` is C = 1/(n λ)).
"""

from __future__ import annotations

from array_api_compat import array_namespace

from ._linear import LinearProblem


class Logistic(LinearProblem):
    """Binary logistic regression with grouped L2 penalties (see the module docstring).

    Parameters
    ----------
    X_train, y_train, X_val, y_val : arrays (n, d), (n,), (n_V, d), (n_V,); labels in {0, 1}
    groups : list of lists of int, optional
        Column groups, one λ each (``lam_0``, ``lam_1``, …); None: one λ for all features (``lam``).
    fit_intercept : bool
    backend : str or Backend

    Raises
    ------
    ValueError
        For NaN/Inf, mismatched shapes, an empty set, labels outside {0, 1}, or y_train with one class only.
    """

    def __init__(self, X_train, y_train, X_val, y_val, groups=None, fit_intercept=True, backend="numpy"):
        super().__init__(X_train, y_train, X_val, y_val, groups, fit_intercept, backend)

    def __repr__(self):
        return (f"Logistic(n={self.Z.shape[0]}, P={self.n_params}, k={self.n_hypers}, "
                f"backend={self.backend.name!r})")

    def check_targets(self, y, name):
        xp = array_namespace(y)
        if not bool(xp.all((y == 0) | (y == 1))):  # host read: validation is a sync
            raise ValueError(f"{name} must hold binary labels 0/1; encode classes first "
                             "(multiclass: fit one problem per class, one-vs-rest)")
        if name == "y_train" and not bool(xp.any(y == 0) & xp.any(y == 1)):
            raise ValueError(f"{name} holds one class only; logistic regression needs both labels 0 and 1")
        return y

    def loss_terms(self, z, y):
        """(mean ℓ, ℓ' = σ(z) − y, ℓ'' = σ(z)(1 − σ(z))), with log(1 + e^z) = logaddexp(0, z)."""
        xp = array_namespace(z)
        softplus = xp.logaddexp(xp.zeros_like(z), z)
        p = xp.exp(z - softplus)  # σ(z) = e^z / (1 + e^z), stable for either sign
        return xp.mean(softplus - y * z), p - y, p * (1.0 - p)

    def predict_proba(self, theta, X):
        """P(y = 1 | x) = σ(Zθ), shape (n,)."""
        xp = array_namespace(X)
        z = self.decision(theta, X)
        return xp.exp(z - xp.logaddexp(xp.zeros_like(z), z))
