"""Linear solves with a matrix-free ``matvec``: CG (to a tolerance, or a fixed number of iterations), the
Neumann series, and power iteration for its step. Each takes ``matvec`` and ``b`` and nothing else.

    CG        x ≈ A⁻¹ b for A ≻ 0: ‖b − Ax‖ ≤ tol ‖b‖ (SciPy's on NumPy arrays, ``cg_xp`` on every other backend)
    cg_fixed  exactly ``iters`` CG iterations, no stop test: no host read (benchmarks, GPUs)
    neumann   x_J = α Σ_{j<J} (I − αA)^j b, Richardson's iteration x ← x + α(b − Ax) (Lorraine et al. 2020)
    power     α = 1/λ̂_max(A), a safe Neumann step

The one CG recurrence (``_cg_iterations``) serves ``cg_xp`` and ``cg_fixed``.
"""

from __future__ import annotations

from array_api_compat import array_namespace, is_numpy_array

from ..backends.inplace import ops
from ..regularizers.base import inner


def norm(x):
    """‖x‖₂ over all entries, a 0-d array (no host read)."""
    xp = array_namespace(x)
    return xp.sqrt(inner(xp, x, x))


def _cg_iterations(matvec, b, x0=None):
    """CG from x₀ (0 if None): yields (x_i, ‖r_i‖²) for i = 0, 1, … as 0-d arrays (no host read).

    r₀ = b − Ax₀, p₀ = r₀;  α = rᵀr / pᵀAp,  x ← x + αp,  r ← r − αAp,  p ← r + (r'ᵀr' / rᵀr) p.
    A zero residual stays a fixed point (α and β are 0 where their denominator is), so a fixed
    iteration count past convergence returns x, not NaN.

    x, r and p are this generator's own buffers, updated in place (``ops.axpy``; dot products as 1-D matmuls):
    an iteration allocates only A p, where the expression form made eight θ-sized temporaries. A yielded x
    is therefore valid until the generator is advanced again; ``b`` and ``x₀`` are never written.
    """
    xp = array_namespace(b)
    o = ops(xp)
    x = xp.zeros_like(b) if x0 is None else xp.asarray(x0, copy=True)
    r = b - matvec(x) if x0 is not None else xp.asarray(b, copy=True)
    p, rs = xp.asarray(r, copy=True), r @ r
    zero, one = xp.zeros_like(rs), xp.ones_like(rs)
    yield x, rs
    while True:
        Ap = matvec(p)
        pAp = p @ Ap
        alpha = xp.where(pAp != 0, rs / xp.where(pAp != 0, pAp, one), zero)
        x, r = o.axpy(x, alpha, p), o.axpy(r, -alpha, Ap)
        rs_new = r @ r
        beta = xp.where(rs != 0, rs_new / xp.where(rs != 0, rs, one), zero)
        p *= beta  # p ← r + β p
        p += r
        rs = rs_new
        yield x, rs


def cg_xp(matvec, b, x0=None, tol=1e-10, maxiter=1000):
    """Conjugate gradient in the array API (any backend): ‖b − Ax‖ ≤ tol ‖b‖. Returns (x, iters, converged)."""
    xp = array_namespace(b)
    stop = tol * float(norm(b))  # host read: once per solve
    for it, (x, rs) in enumerate(_cg_iterations(matvec, b, x0)):
        if float(xp.sqrt(rs)) <= stop:  # host read: the stop test, one per CG iteration
            return x, it, True
        if it == maxiter:
            return x, maxiter, False


def cg_fixed(matvec, b, iters, x0=None):
    """x after exactly ``iters`` CG iterations from x₀ (0 if None), no stop test and no host read.

    The same recurrence as ``cg_xp``; for benchmarks and GPUs, where a stop test would sync every iteration.
    """
    for it, (x, _) in enumerate(_cg_iterations(matvec, b, x0)):
        if it == iters:
            return x


def cg_scipy(matvec, b, x0=None, tol=1e-10, maxiter=1000):
    """scipy.sparse.linalg.cg on a LinearOperator (NumPy arrays): ‖b − Ax‖ ≤ tol ‖b‖. Returns (x, iters, ok)."""
    from scipy.sparse.linalg import LinearOperator, cg

    n = b.shape[0]
    count = [0]

    def callback(_):
        count[0] += 1

    op = LinearOperator((n, n), matvec=matvec, dtype=b.dtype)
    x, info = cg(op, b, x0=x0, rtol=tol, atol=0.0, maxiter=maxiter, callback=callback)
    return x, count[0], info == 0


def cg(matvec, b, x0=None, tol=1e-10, maxiter=1000):
    """CG: SciPy's on NumPy arrays, ``cg_xp`` on every other backend. Returns (x, iters, converged)."""
    if is_numpy_array(b):
        return cg_scipy(matvec, b, x0, tol, maxiter)
    return cg_xp(matvec, b, x0, tol, maxiter)


def neumann(matvec, b, alpha, x0=None, tol=1e-10, maxiter=1000):
    """q_J = α Σ_{j<J} (I − αH)^j b as Richardson's iteration q ← q + α(b − Hq) from q₀ = 0 (or ``x0``).

    Converges when 0 < α < 2/λ_max(H) and H ≻ 0 (Lorraine et al. 2020). Returns (x, terms, converged).
    """
    xp = array_namespace(b)
    x = xp.zeros_like(b) if x0 is None else x0
    stop = tol * float(norm(b))  # host read: once per solve
    for j in range(maxiter + 1):
        r = b - matvec(x)
        if float(norm(r)) <= stop:  # host read: the stop test, one per term
            return x, j, True
        if j == maxiter:
            break
        x = x + alpha * r
    return x, maxiter, False


def power_alpha(matvec, like, n_iter=30, seed_vector=None):
    """α = 1/λ̂_max by power iteration (λ̂_max ≤ λ_max, > λ_max/2 in practice): a safe Neumann step."""
    xp = array_namespace(like)
    v = xp.ones_like(like) if seed_vector is None else seed_vector
    est = 0.0
    for _ in range(n_iter):
        Hv = matvec(v / norm(v))
        est = float(norm(Hv))  # host read: n_iter per estimate, outside the solve
        v = Hv
    return 1.0 / est


__all__ = ["cg", "cg_fixed", "cg_scipy", "cg_xp", "neumann", "norm", "power_alpha"]
