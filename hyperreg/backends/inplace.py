"""In-place capabilities of the array libraries, for the hot path's buffers.

The math stays namespace-generic: it asks ``ops(xp)`` for these few operations and passes the buffer it
wants written (``out``). Where the library has ``out=`` (NumPy, CuPy, torch) the result lands there and no
array is allocated; the array-API standard has no ``out=``, so there (array_api_strict) each call returns a
fresh array and the caller assembles its buffer the standard way (``native`` tells which).

    matmul(a, b, out)     out = a @ b
    sum_rows(a, out)      out = Σ_i a[i, …]
    axpy(y, a, x)         y ← y + a·x in place (a a 0-d array or a float), rounded as y + a·x (torch: its
                          fused ``add_(x, alpha=a)``, within an ulp); returns y
    step(out, x, a, y)    out = x + a·y (a a float: the optimizer's −η), rounded exactly as x + a·y
    rowdot(a, b)          Σ_i a[..., i] b[..., i] (the standard's ``vecdot`` over the last axis, by each library's
                          own kernel: array-api-compat writes torch's as a batched matmul, 40× slower on CPU)
    contiguous(a)         whether a's elements are stored row-major without gaps (False: the standard's
                          arrays make no such promise)
"""

from __future__ import annotations

from array_api_compat import is_cupy_namespace, is_numpy_namespace, is_torch_namespace


class StandardOps:
    """The array-API standard: no ``out=``; results are fresh arrays (``native`` False)."""

    native = False

    def __init__(self, xp):
        self.xp = xp

    def matmul(self, a, b, out=None):
        return a @ b

    def sum_rows(self, a, out=None):
        return self.xp.sum(a, axis=0)

    def axpy(self, y, a, x):
        y += a * x
        return y

    def step(self, out, x, a, y):
        return x + a * y

    def rowdot(self, a, b):
        return self.xp.vecdot(a, b, axis=-1)

    def contiguous(self, a):
        return False


CHUNK = 1 << 16  # elements per pass of an in-place NumPy update (its temporary a·x: 256 / 512 KiB)


class NumpyOps(StandardOps):
    """NumPy: ufuncs and matmul with ``out=``; y ← y + a·x in chunks of ``CHUNK`` elements.

    Not BLAS ?axpy through SciPy: SciPy's wheels bundle a second OpenBLAS with its own thread pool, and
    alternating the two pools in one step left each pool's idle workers spinning while the other worked
    (the plain step on size B measured 27–43 ms with SciPy's saxpy for the penalty against 14.6 ms without,
    same run, 2 threads). A chunk's temporary stays in cache and on the allocator's heap, where one a·x of a
    whole weight matrix (4 MB) is a fresh mapping whose pages fault in on every step."""

    native = True

    def __init__(self, xp):
        super().__init__(xp)
        import numpy as np

        self.np = np

    def matmul(self, a, b, out=None):
        return self.np.matmul(a, b, out=out)

    def sum_rows(self, a, out=None):
        return self.np.sum(a, axis=0, out=out)

    def axpy(self, y, a, x):
        if not (y.flags.c_contiguous and x.flags.c_contiguous) or y.size <= CHUNK:
            y += a * x
            return y
        yf, xf = y.reshape(-1), x.reshape(-1)  # views: y is written in place
        for i in range(0, yf.size, CHUNK):
            yf[i:i + CHUNK] += a * xf[i:i + CHUNK]
        return y

    def step(self, out, x, a, y):
        if out is None:
            return x + a * y
        if out is x:  # x ← x + a·y in place
            return self.axpy(x, a, y)
        if not all(arr.flags.c_contiguous for arr in (out, x, y)):
            self.np.multiply(y, a, out=out)  # (a·y) + x: the same rounding as x + a·y, so a run whose first
            return self.np.add(out, x, out=out)  # steps allocate (after a resume) matches one that writes in place
        of, xf, yf = out.reshape(-1), x.reshape(-1), y.reshape(-1)  # chunk by chunk: a·y is added while in cache
        for i in range(0, of.size, CHUNK):
            chunk = of[i:i + CHUNK]
            self.np.multiply(yf[i:i + CHUNK], a, out=chunk)
            self.np.add(chunk, xf[i:i + CHUNK], out=chunk)
        return out

    def rowdot(self, a, b):
        return self.np.vecdot(a, b, axis=-1)

    def contiguous(self, a):
        return a.flags.c_contiguous


class TorchOps(StandardOps):
    """torch: ``out=`` on matmul and sum; ``addcmul_`` keeps a 0-d device scalar on the device (no sync)."""

    native = True

    def __init__(self, xp):
        super().__init__(xp)
        import torch

        self.torch = torch

    def matmul(self, a, b, out=None):
        return self.torch.matmul(a, b, out=out)

    def sum_rows(self, a, out=None):
        return self.torch.sum(a, dim=0, out=out)

    def axpy(self, y, a, x):
        if isinstance(a, self.torch.Tensor):
            return y.addcmul_(x, a)
        return y.add_(x, alpha=a)

    def step(self, out, x, a, y):
        if out is None:
            return x + a * y
        if out is x:
            return x.add_(a * y)
        self.torch.mul(y, a, out=out)  # as for NumPy: the rounding of x + a·y, not a fused multiply-add
        return out.add_(x)

    def rowdot(self, a, b):
        return self.torch.linalg.vecdot(a, b, dim=-1)

    def contiguous(self, a):
        return a.is_contiguous()


class CupyOps(StandardOps):
    """CuPy: ufuncs and matmul with ``out=`` (y ← y + a·x as two kernels: not yet fused)."""

    native = True

    def __init__(self, xp):
        super().__init__(xp)
        import cupy

        self.cp = cupy

    def matmul(self, a, b, out=None):
        return self.cp.matmul(a, b, out=out)

    def sum_rows(self, a, out=None):
        return self.cp.sum(a, axis=0, out=out)

    def step(self, out, x, a, y):
        if out is None:
            return x + a * y
        if out is x:
            return self.cp.add(x, a * y, out=x)
        self.cp.multiply(y, a, out=out)
        return self.cp.add(out, x, out=out)

    def contiguous(self, a):
        return a.flags.c_contiguous


_CACHE = {}


def ops(xp):
    """The in-place operations for namespace ``xp`` (cached per namespace)."""
    key = id(xp)
    if key not in _CACHE:
        if is_numpy_namespace(xp):
            _CACHE[key] = NumpyOps(xp)
        elif is_torch_namespace(xp):
            _CACHE[key] = TorchOps(xp)
        elif is_cupy_namespace(xp):
            _CACHE[key] = CupyOps(xp)
        else:
            _CACHE[key] = StandardOps(xp)
    return _CACHE[key]
