"""Forward-mode tangent dynamics Y_t = dθ_t/dλ (Franceschi et al. 2017; ICLR-2018 eq. 6–7, Algorithm 1).

    θ_{t+1} = θ_t − η g_T(θ_t, λ)
    Y_{t+1} = Y_t − η (H_t Y_t + ∂g_T/∂λ),     H_t = ∇²_θθ L_T(θ_t, λ)
    dL_V(θ_t)/dλ ≈ Y_tᵀ g_V(θ_t)

Policies (settings only; the loop that owns θ, λ and Y lives in the caller):
    UnrollK      one hyper step every K steps, then Y ← 0 (Franceschi et al.; §3.2)
    ClipR        every column of Y projected on the ball of radius r every step, never reset (eq. 9)
    ExactKStep   no reset, no clip: Y_K = dθ_K/dλ exactly (the reference)
    Discounted   Y ← μ Y before each step (MARTHE's forgetting factor)

Each policy is an ``Estimator`` (hypergrad/estimator.py) whose state is Y (``"tangent"``) and, under
momentum SGD, V = dv/dλ (``"tangent_v"``); its hypergradient at a hyper step is h = c · Y_{t+1}ᵀ g_V(θ_{t+1}).

Shapes: θ (..., P), λ (..., k), Y (..., P, k); every column of Y costs one joint R-sweep ``point.jvp``.
"""

from __future__ import annotations

from dataclasses import dataclass

from array_api_compat import array_namespace, device

from ..backends.inplace import ops
from .estimator import Estimator


@dataclass(frozen=True)
class _Policy(Estimator):
    """Defaults: one hyper step every step, no reset, no change to Y; hypergradient h = c Yᵀg_V."""

    every = 1
    reset = False
    warmup = 0
    c = 1.0
    tangent = True

    def before(self, Y, inplace=False):
        return Y

    def after(self, Y, inplace=False):
        return Y

    def init_state(self, problem, theta, momentum=None):
        """Y₀ = 0 (θ₀ does not depend on λ), and V₀ = 0 under momentum SGD."""
        V = None if momentum is None else tangent_zeros(theta, problem.n_hypers)
        return {"tangent": tangent_zeros(theta, problem.n_hypers), "tangent_v": V}

    def propagate(self, state, point, lr, momentum=None):
        """Y (and V) through the step θ_t → θ_{t+1} (``tangent_step``, ``tangent_step_momentum``)."""
        if state.get("tangent_v") is None:  # the state is the tuner's own: updated in place
            return {**state, "tangent": tangent_step(point, state["tangent"], lr, self, inplace=True)}
        Y, V = tangent_step_momentum(point, state["tangent"], state["tangent_v"], lr, momentum, self, inplace=True)
        return {**state, "tangent": Y, "tangent_v": V}

    def hypergradient(self, state, s):
        """h = c · Yᵀ g_V(θ_{t+1}); then Y, V ← 0 when the policy resets (UnrollK)."""
        h = self.c * hypergradient(state["tangent"], s.problem.val_grad(s.theta_next, s.val_sample, lam=s.lam))
        if self.reset:
            k = state["tangent"].shape[-1]
            state = {name: None if Y is None else tangent_zeros(s.theta, k) for name, Y in state.items()}
        return h, state


@dataclass(frozen=True)
class UnrollK(_Policy):
    """Y_0 = 0, K steps, one hyper step with Y_Kᵀ g_V, then Y ← 0 (Franceschi et al. 2017)."""

    K: int = 1
    c: float = 1.0

    @property
    def every(self):
        return self.K

    reset = True

    def __post_init__(self):
        if isinstance(self.K, bool) or not isinstance(self.K, int) or self.K < 1:
            raise ValueError(f"UnrollK.K must be a positive integer (steps per hyper step), got {self.K!r}")


@dataclass(frozen=True)
class ClipR(_Policy):
    """Algorithm 1: Y ← P_B(r)(Y − η(HY + ∂g_T/∂λ)) column by column; λ ← λ − cηYᵀg_V after ``warmup`` steps."""

    r: float = 1.0
    warmup: int = 0
    c: float = 1.0

    def __post_init__(self):
        if not self.r > 0:
            raise ValueError(f"ClipR.r must be > 0 (the radius of the ball Y's columns live in), got {self.r!r}")
        if self.warmup < 0:
            raise ValueError(f"ClipR.warmup must be ≥ 0 steps, got {self.warmup!r}")

    def after(self, Y, inplace=False):
        """P_B(r)(y) = y · r / max(‖y‖, r) for each column y of Y (eq. 9); ``inplace``: scale Y's buffer itself
        (one read for the norms by ``ops.rowdot``, one read-write for the scaling: no (k, P) temporaries)."""
        xp = array_namespace(Y)
        rows = xp.matrix_transpose(Y)  # the contiguous (..., k, P) buffer: row-wise reductions
        norms = xp.sqrt(ops(xp).rowdot(rows, rows))[..., None]
        scale = self.r / xp.clip(norms, min=self.r)
        if inplace and ops(xp).native:
            rows *= scale
            return Y
        return xp.matrix_transpose(rows * scale)


@dataclass(frozen=True)
class ExactKStep(_Policy):
    """No reset, no clip: Y_K = dθ_K/dλ, the hypergradient of L_V(θ_K) (the reference)."""

    c: float = 1.0


@dataclass(frozen=True)
class Discounted(_Policy):
    """Y_{t+1} = μY_t − η(H_t μY_t + ∂g_T/∂λ): the past forgotten at rate μ (MARTHE)."""

    mu: float = 0.9
    c: float = 1.0

    def __post_init__(self):
        if not 0 <= self.mu <= 1:
            raise ValueError(f"Discounted.mu must be in [0, 1] (0: greedy, 1: exact), got {self.mu!r}")

    def before(self, Y, inplace=False):
        xp = array_namespace(Y)
        if inplace and ops(xp).native:
            rows = xp.matrix_transpose(Y)
            rows *= self.mu
            return Y
        return xp.matrix_transpose(self.mu * xp.matrix_transpose(Y))


def tangent_zeros(theta, n_hypers):
    """Y = 0 of shape (..., P, n_hypers), with θ's dtype and device (column-contiguous: see ``_stack_columns``)."""
    xp = array_namespace(theta)
    zeros = xp.zeros((*theta.shape[:-1], n_hypers, theta.shape[-1]), dtype=theta.dtype, device=device(theta))
    return xp.matrix_transpose(zeros)


def _stack_columns(xp, cols):
    """Columns (..., P) → Y (..., P, k) stored column-contiguous: the transposed view of a (..., k, P)
    buffer. Each column Y[..., j] is then a contiguous vector, so the sweeps it seeds run on BLAS-ready
    blocks (a strided column makes NumPy's matmul fall back to its slow loop), and the stack writes
    contiguously. Elementwise updates of Y keep this layout."""
    return xp.matrix_transpose(xp.stack(cols, axis=-2))


def _rows_op(f, *Ys):
    """f applied to the (..., k, P) buffers of tangents, the result given back as (..., P, k): elementwise
    work on the contiguous orientation (CuPy does not keep a transposed layout through its ufuncs)."""
    xp = array_namespace(*Ys)
    return xp.matrix_transpose(f(*(xp.matrix_transpose(Y) for Y in Ys)))


def _hvp_plus_mixed(point, Y):
    """H Y + ∂g_T/∂λ, column by column: column j is the directional derivative of g_T along
    (Y[..., j], e_j), ``point.jvp`` (the MLP's R-sweep seeded in θ and at the noise levels at once;
    ``problems.base.Point``'s default: one ``hvp`` and one ``mixed_jvp``)."""
    xp = array_namespace(Y)
    return _stack_columns(xp, [point.jvp(Y[..., j], j) for j in range(Y.shape[-1])])  # j: the unit vector e_j


def _in_place(Y, inplace):
    """Whether to update Y's own buffer: asked for, and the library writes through views (``out=``)."""
    return inplace and ops(array_namespace(Y)).native


def _columns_contiguous(Y):
    """Y itself when stored column-contiguous (``_stack_columns``), else a copy that is: a tangent restored
    from a checkpoint or made by a caller may be row-major, and the in-place path keeps whatever layout it
    is given (its column sweeps and reductions would then round differently from the resumed run's)."""
    xp = array_namespace(Y)
    if ops(xp).contiguous(xp.matrix_transpose(Y)):
        return Y
    return _stack_columns(xp, [Y[..., j] for j in range(Y.shape[-1])])


def tangent_step(point, Y, lr, policy=None, inplace=False):
    """Y' = after(Ỹ − η(H Ỹ + ∂g_T/∂λ)), Ỹ = before(Y) (ICLR-2018 eq. 7; eq. 9 with ClipR).

    Parameters
    ----------
    point : TrainPointLike at (θ_t, λ, sample_t)
    Y : array (..., P, k)
    lr : float
        η of the SGD step θ_{t+1} = θ_t − η g_T.
    policy : UnrollK, ClipR, ExactKStep, Discounted or None (no projection, no discount)
    inplace : bool
        Update Y's buffer itself (the tuner owns its Y): column j of H Y + ∂g_T/∂λ depends on column j of Y
        only, so each column is stepped y_j ← y_j − η·jvp(y_j, e_j) right after its sweep, through one
        reused θ-sized scratch — no (P, k) temporaries; the array-API standard falls back to the copy.

    Returns
    -------
    Y' : array (..., P, k)
    """
    policy = policy or ExactKStep()
    if _in_place(Y, inplace):
        Y = policy.before(_columns_contiguous(Y), inplace)
        o, scratch = ops(array_namespace(Y)), None
        for j in range(Y.shape[-1]):
            scratch = point.jvp(Y[..., j], j, out=scratch)
            o.axpy(Y[..., j], -lr, scratch)
    else:
        Y = policy.before(Y)
        Y = _rows_op(lambda y, s: y - lr * s, Y, _hvp_plus_mixed(point, Y))
    return policy.after(Y, inplace)


def tangent_step_momentum(point, Y, V, lr, momentum, policy=None, inplace=False):
    """Tangents of momentum SGD v' = μv + g_T, θ' = θ − ηv' (state (θ, v), Y = dθ/dλ, V = dv/dλ):

        V' = μV + H Y + ∂g_T/∂λ
        Y' = Y − η V'

    ``policy.before``/``after`` apply to Y only (V carries no clipping in the exact recurrence);
    ``inplace`` as for ``tangent_step`` (column j of V' and Y' needs column j of Y and V only).

    Returns
    -------
    (Y', V') : arrays (..., P, k)
    """
    policy = policy or ExactKStep()
    if _in_place(Y, inplace):
        Y, V = policy.before(_columns_contiguous(Y), inplace), _columns_contiguous(V)
        o, scratch = ops(array_namespace(Y)), None
        for j in range(Y.shape[-1]):
            scratch = point.jvp(Y[..., j], j, out=scratch)
            v = V[..., j]
            v *= momentum
            v += scratch
            o.axpy(Y[..., j], -lr, v)
        return policy.after(Y, inplace), V
    Y = policy.before(Y)
    V = _rows_op(lambda v, s: momentum * v + s, V, _hvp_plus_mixed(point, Y))
    return policy.after(_rows_op(lambda y, v: y - lr * v, Y, V)), V


def hypergradient(Y, g_val):
    """Yᵀ g_V, shape (..., k): the chain rule dL_V(θ_t)/dλ = (dθ_t/dλ)ᵀ ∇L_V(θ_t) (eq. 5)."""
    xp = array_namespace(Y, g_val)
    # one matrix-vector product on the contiguous (k, P) buffer: no (k, P) product array (on size C with
    # k = 12 that temporary was 662 MB, 1.1 s of a 2.4 s ClipR step in fresh pages)
    return (xp.matrix_transpose(Y) @ g_val[..., None])[..., 0]


def unroll(problem, theta, lam, samples, lr, momentum=None):
    """K = len(samples) SGD (or momentum-SGD) steps from θ_0 = θ with Y_0 = 0: returns (θ_K, Y_K = dθ_K/dλ).

    θ_{t+1} = θ_t − η g_T(θ_t, λ; s_t) (plain), or v_{t+1} = μv_t + g_T, θ_{t+1} = θ_t − η v_{t+1} with
    v_0 = 0 (``momentum`` = μ). The exact K-step reference: no reset, no clip.
    """
    Y = tangent_zeros(theta, lam.shape[-1])
    v, V = 0.0 * theta, 0.0 * Y
    for sample in samples:
        point = problem.at(theta, lam, sample)
        if momentum is None:
            Y = tangent_step(point, Y, lr)
            theta = theta - lr * point.grad
        else:
            Y, V = tangent_step_momentum(point, Y, V, lr, momentum)
            v = momentum * v + point.grad
            theta = theta - lr * v
    return theta, Y
