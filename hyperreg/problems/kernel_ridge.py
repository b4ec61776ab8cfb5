"""``KernelRidge``: RBF kernel ridge in its dual, with two hyperparameters λ = (ridge λ, width γ).

θ is the dual coefficient vector α (n,): f(x) = Σ_i α_i k_γ(x, x_i) + ȳ, k_γ(x, x') = exp(−γ‖x − x'‖²),
ȳ the training mean (a constant offset). L_T is the dual objective whose minimizer is kernel ridge's:

    L_T(α; λ, γ) = ½ αᵀ(K/n + λI)α − yᵀα/n      α* = (K + nλI)⁻¹ y      (K = K_γ(X, X), y centred)
    g_T = (K/n + λI)α − y/n        H = K/n + λI        ∂g_T/∂λ = α        ∂g_T/∂γ = −(D ⊙ K)α/n
    L_V(α; γ) = (1/2n_V)‖K_V α − y_V‖²    ∂L_V/∂γ = −rᵀ(D_V ⊙ K_V)α/n_V,  r = K_Vα − y_V

D, D_V are the squared distances. L_V depends on γ directly, so this problem adds ``val_grad_lam`` (∇_λ L_V)
and takes ``lam=`` in ``val_loss``/``val_grad`` (``val_depends_on_lam = True``). λ in the natural units of
the mean-loss primal ½ mean (f − y)² + (λ/2)‖f‖²_K (scikit-learn's ``KernelRidge(alpha)`` is alpha = n λ).
"""

from __future__ import annotations

from array_api_compat import array_namespace, device

from ..backends import get_backend
from ._linear import as_data, check_same_features
from .base import Deterministic, Point


def sq_distances(A, B):
    """D_ij = ‖a_i − b_j‖², clipped at 0 against round-off, shape (n_A, n_B)."""
    xp = array_namespace(A, B)
    D = xp.sum(A * A, axis=1)[:, None] + xp.sum(B * B, axis=1)[None, :] - 2.0 * (A @ B.T)
    return xp.clip(D, min=0.0)


class KernelRidgePoint(Point):
    """L_T at (α, λ = [λ, γ]): K built once, shared by the gradient, HVP and mixed terms."""

    def __init__(self, problem: "KernelRidge", theta, lam):
        xp = array_namespace(theta, lam)
        self.theta, self.lam, self.ridge = theta, lam, lam[0]
        n = problem.D.shape[0]
        self.K = xp.exp(-lam[1] * problem.D)
        self.DKa = (problem.D * self.K) @ theta / n  # (D ⊙ K)α / n = −∂g_T/∂γ
        Ka = self.K @ theta / n
        self.loss = (0.5 * xp.sum(theta * Ka) + 0.5 * self.ridge * xp.sum(theta * theta)
                     - xp.sum(problem.y * theta) / n)
        self.grad = Ka + self.ridge * theta - problem.y / n

    def hvp(self, v):
        """H v = Kv/n + λv."""
        return self.K @ v / self.K.shape[0] + self.ridge * v

    def mixed(self, v):
        """(∂g_T/∂λ)ᵀ v = [vᵀα, −vᵀ(D ⊙ K)α/n], shape (2,)."""
        xp = array_namespace(v)
        return xp.stack([xp.sum(v * self.theta), -xp.sum(v * self.DKa)])

    def mixed_jvp(self, u):
        """(∂g_T/∂λ) u = u_λ α − u_γ (D ⊙ K)α/n, shape (n,)."""
        return u[0] * self.theta - u[1] * self.DKa


class KernelRidge(Deterministic):
    """RBF kernel ridge on (X_train, y_train), validated on (X_val, y_val) (module docstring).

    Parameters
    ----------
    X_train, y_train, X_val, y_val : arrays (n, d), (n,), (n_V, d), (n_V,)
    backend : str or Backend
    """

    n_hypers = 2
    hyper_names = ("lam", "gamma")
    val_depends_on_lam = True

    def __init__(self, X_train, y_train, X_val, y_val, backend="numpy"):
        self.backend = be = get_backend(backend)
        X, y = as_data(be, X_train, y_train, "X_train", "y_train")
        Xv, yv = as_data(be, X_val, y_val, "X_val", "y_val")
        check_same_features(X, Xv)
        xp = be.xp
        self.X, self.y_offset = X, xp.mean(y)
        self.y, self.y_val = y - self.y_offset, yv - self.y_offset
        self.D, self.D_val = sq_distances(X, X), sq_distances(Xv, X)
        self.n_params = X.shape[0]

    def __repr__(self):
        return f"KernelRidge(n={self.n_params}, backend={self.backend.name!r})"

    def zeros_theta(self):
        return self.backend.xp.zeros_like(self.y)

    def full_lam(self, value):
        return self.backend.xp.zeros((2,), dtype=self.y.dtype, device=device(self.y)) + value

    # --- the protocol (problems/base.py), with λ-dependent validation ------------------------------

    def at(self, theta, lam, sample=None) -> KernelRidgePoint:
        return KernelRidgePoint(self, theta, lam)

    def _val_residual(self, theta, lam):
        if lam is None:
            raise ValueError("KernelRidge's validation loss depends on γ: pass lam= (shape (2,))")
        xp = array_namespace(theta)
        K_val = xp.exp(-lam[1] * self.D_val)
        return K_val, K_val @ theta - self.y_val

    def val_loss(self, theta, val_sample=None, lam=None):
        """L_V(α; γ) = (1/2n_V)‖K_V α − y_V‖²."""
        xp = array_namespace(theta)
        r = self._val_residual(theta, lam)[1]
        return 0.5 * xp.mean(r * r)

    def val_grad(self, theta, val_sample=None, lam=None):
        """∇_α L_V = K_Vᵀ r / n_V."""
        K_val, r = self._val_residual(theta, lam)
        return K_val.T @ r / r.shape[0]

    def val_grad_lam(self, theta, lam, val_sample=None):
        """∇_λ L_V = [0, −rᵀ(D_V ⊙ K_V)α/n_V], shape (2,)."""
        xp = array_namespace(theta)
        K_val, r = self._val_residual(theta, lam)
        d_gamma = -xp.sum(r * ((self.D_val * K_val) @ theta)) / r.shape[0]
        return xp.stack([xp.zeros_like(d_gamma), d_gamma])

    def predict(self, theta, lam, X):
        """f(x) = K_γ(X, X_train) α + ȳ for new inputs X (n, d) on the backend."""
        xp = array_namespace(X)
        return xp.exp(-lam[1] * sq_distances(X, self.X)) @ theta + self.y_offset
