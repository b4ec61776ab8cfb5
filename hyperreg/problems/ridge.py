"""``Ridge``: least squares with an L2 penalty, one λ, and its closed-form θ*(λ) to test hypergradients against.

    L_T(θ, λ) = (1/2n)‖Zθ − y‖² + (λ/2)‖w‖²      L_V(θ) = (1/2n_V)‖Z_Vθ − y_V‖²      θ = [w, b], Z = [X, 1]
    θ*(λ) = A(λ)⁻¹ Zᵀy/n,  A(λ) = ZᵀZ/n + λD  (D = diag(1, …, 1, 0): the intercept is unpenalized)
    dθ*/dλ = −A⁻¹ D θ*      dL_V(θ*(λ))/dλ = ∇L_V(θ*)ᵀ dθ*/dλ

λ in natural units of this mean-loss objective (scikit-learn's ``Ridge(alpha)`` is alpha = n λ).
"""

from __future__ import annotations

from array_api_compat import array_namespace, device

from ._linear import LinearProblem, penalty_weights


class Ridge(LinearProblem):
    """Ridge regression on (X_train, y_train), validated on (X_val, y_val) (see the module docstring).

    Parameters
    ----------
    X_train, y_train, X_val, y_val : arrays (n, d), (n,), (n_V, d), (n_V,) — host data or backend arrays
    fit_intercept : bool
        Append an unpenalized intercept b as θ's last entry.
    backend : str or Backend
    """

    def __init__(self, X_train, y_train, X_val, y_val, fit_intercept=True, backend="numpy"):
        super().__init__(X_train, y_train, X_val, y_val, None, fit_intercept, backend)

    def __repr__(self):
        return f"Ridge(n={self.Z.shape[0]}, P={self.n_params}, backend={self.backend.name!r})"

    def loss_terms(self, z, y):
        """ℓ = ½(z − y)²: (mean ℓ, ℓ' = z − y, ℓ'' = 1)."""
        xp = array_namespace(z)
        r = z - y
        return 0.5 * xp.mean(r * r), r, xp.ones_like(r)

    # --- the closed form --------------------------------------------------------------------------

    def _A(self, lam):
        n = self.Z.shape[0]
        return self.Z.T @ self.Z / n + _diag(penalty_weights(self.G, lam))

    def theta_star(self, lam):
        """θ*(λ) = (ZᵀZ/n + λD)⁻¹ Zᵀy/n, shape (P,)."""
        xp = array_namespace(self.Z)
        b = self.Z.T @ self.y / self.Z.shape[0]
        return xp.linalg.solve(self._A(lam), b[:, None])[:, 0]

    def dtheta_star(self, lam):
        """dθ*/dλ = −A⁻¹ (Gᵀ-columns ⊙ θ*), shape (P, 1)."""
        xp = array_namespace(self.Z)
        rhs = self.G * self.theta_star(lam)[:, None]
        return -xp.linalg.solve(self._A(lam), rhs)

    def val_loss_star(self, lam):
        """L_V(θ*(λ))."""
        return self.val_loss(self.theta_star(lam))

    def dval_dlam(self, lam):
        """dL_V(θ*(λ))/dλ = (dθ*/dλ)ᵀ ∇L_V(θ*), shape (1,) — the exact hypergradient."""
        g_val = self.val_grad(self.theta_star(lam))
        return g_val @ self.dtheta_star(lam)


def _diag(d):
    xp = array_namespace(d)
    return xp.eye(d.shape[0], dtype=d.dtype, device=device(d)) * d
