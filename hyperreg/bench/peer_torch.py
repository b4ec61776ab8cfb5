"""The PyTorch peer (issue 12): the same quantities as hyperreg's methods by PyTorch's own autodiff, on the
same shapes and the same data (copied from the ``Case``), so ms(hyperreg) / ms(peer) prices hyperreg's
hand-derived sweeps against a mainstream framework on the same machine.

    L_T(θ, λ) = mean CE(f(X; θ, σ, ε), y) + Σ_l λ_l/2 ‖W_l‖²,   h̃_l = h_l + σ_l ε_l,  a_l = h̃_l W_l + b_l
    L_V(θ)    = mean CE(f(X_V; θ, 0), y_V)

On a CNN case the layer l of f is ``torch.nn.functional.conv2d(h̃_l, W_l, b_l, stride, padding)`` (W_l of
shape (C_out, C_in, k, k), a cross-correlation as hyperreg's), ``max_pool2d`` / ``avg_pool2d`` (window =
stride = k) and a flatten in (C, H, W) order before the first dense layer, in the order of ``Net.layers``.

    plain            g = ∇_θ L_T;  θ ← θ − η g in place
    hvp              H v = ∇_θ ⟨∇_θ L_T, v⟩       autograd: double backward;  torch.func: jvp of grad
    greedy-l2        h = −η (∂g_T/∂λ)ᵀ ∇L_V(θ'),  θ' = θ − η g_T    (a VJP of g_T in λ; L2 per layer)
    greedy-l2-noise  the same, λ = (L2, σ) per layer, ε the case's noise sample

Each quantity two ways, ``torch.func`` (grad / jvp / vjp transforms) and plain ``autograd``
(``torch.autograd.grad`` with ``create_graph``); the benchmark keeps the faster and says which.
"""

from __future__ import annotations

try:
    import torch
    import torch.nn.functional as F
    from torch import func
except ImportError:  # the peer is optional: ``import_torch`` says how to install it
    torch = F = func = None

from .cases import LR

PEER_METHODS = ("plain", "hvp", "greedy-l2", "greedy-l2-noise")
IMPLS = ("torch.func", "autograd")
TORCH_EXTRA = "pip install 'hyperreg[torch]' torch==2.13.0"


def import_torch():
    """torch, or an ImportError naming the extra to install (the CLI prints it as one line, exit 2)."""
    if torch is None:
        raise ImportError(f"--peer torch needs PyTorch: {TORCH_EXTRA}")
    return torch


def net_ops(net):
    """``net.layers`` as the peer's ops: ("dense",), ("conv", stride, pad), ("relu",), ("maxpool", k),
    ("avgpool", k), ("flatten",); a layer the peer has no counterpart of is a ValueError."""
    from ..nn.activation import Activation
    from ..nn.conv import Conv
    from ..nn.dense import Dense
    from ..nn.pool import AvgPool, Flatten, MaxPool

    ops = []
    for layer in net.layers:
        if isinstance(layer, Dense):
            ops.append(("dense",))
        elif isinstance(layer, Conv):
            ops.append(("conv", layer.stride, layer.pad))
        elif isinstance(layer, Activation) and layer.name == "relu":
            ops.append(("relu",))
        elif isinstance(layer, (MaxPool, AvgPool)):
            ops.append(("maxpool" if isinstance(layer, MaxPool) else "avgpool", layer.k))
        elif isinstance(layer, Flatten):
            ops.append(("flatten",))
        else:
            raise ValueError(f"the torch peer has no counterpart of {layer!r} (dense, conv, relu, pools)")
    return tuple(ops)


MLP_OPS = None  # ``logits`` without ops: dense layers with relu between them (an MLP)


def logits(params, X, sigma=None, eps=None, ops=MLP_OPS):
    """o = f(X; θ, σ, ε): h̃_l = h_l + σ_l ε_l into parametrized layer l, a_l = h̃_l W_l + b_l (dense) or
    conv2d(h̃_l, W_l) + b_l, relu / pools / flatten as ``ops`` (``net_ops``) say; o the last layer's a.

    ``params``: (W_0, b_0, W_1, b_1, …) as in ``Net.unflatten``: dense W_l (d_l, d_{l+1}), conv W_l
    (C_out, C_in, k, k)."""
    L = len(params) // 2
    if ops is None:
        ops = (("dense",), ("relu",)) * (L - 1) + (("dense",),)
    h, l = X, 0
    for op in ops:
        if op[0] in ("dense", "conv"):
            if sigma is not None:
                h = h + sigma[l] * eps[l]
            W, b = params[2 * l], params[2 * l + 1]
            h = torch.addmm(b, h, W) if op[0] == "dense" else F.conv2d(h, W, b, stride=op[1], padding=op[2])
            l += 1
        elif op[0] == "relu":
            h = torch.relu(h)
        elif op[0] == "maxpool":
            h = F.max_pool2d(h, op[1])
        elif op[0] == "avgpool":
            h = F.avg_pool2d(h, op[1])
        else:
            h = h.reshape(h.shape[0], -1)
    return h


def train_loss(params, lam, X, y, eps=None, ops=MLP_OPS):
    """L_T = mean CE + Σ_l λ_l/2 ‖W_l‖²; with ε, σ_l = λ_{L+l} (the noise block follows the L2 block)."""
    L = len(params) // 2
    sigma = None if eps is None else lam[L:2 * L]
    penalty = sum(lam[l] * torch.sum(params[2 * l] * params[2 * l]) for l in range(L))
    return F.cross_entropy(logits(params, X, sigma, eps, ops), y) + 0.5 * penalty


def val_loss(params, X, y, ops=MLP_OPS):
    """L_V = mean CE(f(X_V; θ, 0), y_V): no penalty, no noise."""
    return F.cross_entropy(logits(params, X, ops=ops), y)


def flat(tensors):
    """Per-layer tensors → one flat vector in θ's layout (W_0, b_0, W_1, …, row-major)."""
    return torch.cat([t.reshape(-1) for t in tensors])


class TorchPeer:
    """The case's θ, λ, data and noise copied into torch, and the peer's four quantities two ways each.

    The device is the backend's for torch, the GPU for CuPy, else the CPU. ``plain`` updates its own copy
    of θ in place (one per way), so the other quantities stay at the case's θ."""

    def __init__(self, case):
        import_torch()
        be = case.backend
        if be.name == "torch":
            self.device = be.device
        elif be.name == "cupy":
            if not torch.cuda.is_available():
                raise ValueError("--peer torch beside --backend cupy needs a CUDA build of torch (this one has "
                                 f"no usable GPU: torch {torch.__version__}); or run it with --backend numpy")
            self.device = torch.device("cuda", be.device_id)
        else:
            self.device = torch.device("cpu")

        def copy(a, dtype=None):
            return torch.tensor(be.to_numpy(a), dtype=dtype, device=self.device)

        pairs = case.net_l2.unflatten(case.theta)
        self.params = tuple(copy(a) for pair in pairs for a in pair)
        self.leaves = tuple(p.clone().requires_grad_() for p in self.params)
        self.step_params = {impl: tuple(p.clone() for p in self.params) for impl in IMPLS}
        self.step_params["autograd"] = tuple(p.requires_grad_() for p in self.step_params["autograd"])
        self.lam = {False: copy(case.lam_l2), True: copy(case.lam_noise)}
        self.lam_leaf = {k: lam.clone().requires_grad_() for k, lam in self.lam.items()}
        self.X, self.Xv = copy(case.X), copy(case.Xv)
        self.y, self.yv = copy(case.y, torch.int64), copy(case.yv, torch.int64)
        self.eps = tuple(copy(e) for e in case.noise)
        self.v = tuple(copy(a) for pair in case.net_l2.unflatten(case.v) for a in pair)
        self.ops = net_ops(case.net_l2)
        self.label = f"torch {torch.__version__} on {self.device}, {torch.get_num_threads()} threads"

    def _train_loss(self, params, lam, X, y, eps=None):
        return train_loss(params, lam, X, y, eps, self.ops)

    def _val_loss(self, params, X, y):
        return val_loss(params, X, y, self.ops)

    # --- the quantities, two ways each, per layer (``flat`` lays them out as θ) -------------------------

    def grad(self, impl, params=None):
        """g_T = ∇_θ L_T(θ, λ) (L2 per layer, no noise), a tuple per layer."""
        lam = self.lam[False]
        if impl == "torch.func":
            return func.grad(self._train_loss)(params or self.params, lam, self.X, self.y)
        params = params or self.leaves
        return torch.autograd.grad(self._train_loss(params, lam, self.X, self.y), params)

    def step(self, impl):
        """One SGD step θ ← θ − η g_T in place on the way's own copy of θ; returns g_T."""
        params = self.step_params[impl]
        g = self.grad(impl, params)
        with torch.no_grad():
            for p, gp in zip(params, g):
                p.add_(gp, alpha=-LR)
        return g

    def hvp(self, impl):
        """H v, a tuple per layer (v the case's direction)."""
        lam = self.lam[False]
        if impl == "torch.func":
            g = func.grad(self._train_loss)
            return func.jvp(lambda p: g(p, lam, self.X, self.y), (self.params,), (self.v,))[1]
        g = torch.autograd.grad(self._train_loss(self.leaves, lam, self.X, self.y), self.leaves, create_graph=True)
        return torch.autograd.grad(g, self.leaves, grad_outputs=self.v)

    def greedy(self, impl, noisy):
        """h = −η (∂g_T/∂λ)ᵀ ∇L_V(θ − η g_T), shape (n_hypers,); ``noisy``: λ = (L2, σ) with the case's ε."""
        eps = self.eps if noisy else None
        if impl == "torch.func":
            g, pull = func.vjp(lambda lam: func.grad(self._train_loss)(self.params, lam, self.X, self.y, eps),
                               self.lam[noisy])
            v = func.grad(self._val_loss)(tuple(p - LR * gp for p, gp in zip(self.params, g)), self.Xv, self.yv)
            return -LR * pull(v)[0]
        lam = self.lam_leaf[noisy]
        g = torch.autograd.grad(self._train_loss(self.leaves, lam, self.X, self.y, eps), self.leaves,
                                create_graph=True)
        with torch.no_grad():
            moved = tuple((p - LR * gp).requires_grad_() for p, gp in zip(self.leaves, g))
        v = torch.autograd.grad(self._val_loss(moved, self.Xv, self.yv), moved)
        return -LR * torch.autograd.grad(g, lam, grad_outputs=v)[0]

    # --- what the benchmark times ------------------------------------------------------------------

    def _call(self, method, impl):
        fn = {"plain": lambda: self.step(impl), "hvp": lambda: self.hvp(impl),
              "greedy-l2": lambda: self.greedy(impl, False), "greedy-l2-noise": lambda: self.greedy(impl, True)}
        return self._synced(fn[method])

    def matmul_call(self, case):
        """The raw matmuls of ``methods.matmul_call`` (h W, hᵀ g_a, g_a Wᵀ per layer, same shapes and dtype) in
        torch: PyTorch's BLAS against NumPy's on the plain step's own products, the floor under both steps."""
        from .flops import matmul_dims

        gen = torch.Generator(device=self.device).manual_seed(1)
        dt = getattr(torch, case.dtype)
        ops = []
        for l, (m, a, b) in enumerate(matmul_dims(case.sizes)):
            rows = case.batch * m
            h, W, g_a = (torch.randn(shape, generator=gen, dtype=dt, device=self.device)
                         for shape in ((rows, a), (a, b), (rows, b)))
            ops.append((h, W, g_a, l > 0))

        return self._synced(lambda: [(h @ W, h.T @ g_a, g_a @ W.T if need else None) for h, W, g_a, need in ops])

    def _synced(self, fn):
        """``fn``, made to wait for the GPU's work before it returns when the peer runs on CUDA."""
        if self.device.type != "cuda":
            return fn

        def synced():
            out = fn()
            torch.cuda.synchronize(self.device)
            return out

        return synced

    def timed_names(self, method):
        """impl → the name of its call in ``calls`` (empty for a method the peer has no counterpart of)."""
        return {impl: f"peer {impl} {method}" for impl in IMPLS} if method in PEER_METHODS else {}

    def calls(self, methods):
        """The zero-argument calls to time beside hyperreg's, for the ``methods`` that have a counterpart."""
        return {name: self._call(m, impl) for m in methods for impl, name in self.timed_names(m).items()}
