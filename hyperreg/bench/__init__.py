"""What each hypergradient method costs: time, ratio to a plain step, the FLOP bound of that ratio,
achieved GFLOP/s, the share of the backend's raw matmul throughput (issue 7), and with ``peer="torch"``
the ratio to PyTorch computing the same quantity (issue 12).

A leaf subpackage: it times the library's own functions and nothing imports it but the CLI and
``benchmarks/``. One concept per module:

    flops       the FLOP model, dense and conv layers (``method_flops``, ``matmul_dims``, ``METHODS``)
    cases       the problem each method is timed on, MLP or CNN (``make_case``, ``SIZES``, ``resolve_backend``)
    methods     one step of each method by the library's functions (``method_calls``)
    timing      round-robin medians and the records (``time_calls``, ``run_benchmark``)
    peer_torch  the same quantities by PyTorch's autodiff (``TorchPeer``)
    overhead    whole ``Tuner`` runs against fixed-λ training (``tuner_overhead``)
    machine     what a saved run records about the machine, and thread limits
    report      the markdown table, the chart, the saved files
"""

from .cases import FULL, LR, QUICK, SIZES, Case, make_case, make_net, parse_size, resolve_backend
from .flops import CG_ITERS, METHODS, PASSES, layer_flops, matmul_dims, method_flops, n_hypers, pass_flops
from .machine import SPIN_ENV, blas_threads, machine_info, spin_env_missing
from .methods import CLIP_RADIUS, matmul_call, method_calls
from .overhead import OVERHEAD_TARGETS, render_overhead, tuner_overhead
from .report import GPU_BACKENDS, TARGET_PEAK, TARGET_RATIO, load_records, plot, render_markdown, save
from .timing import PEER_KEYS, PEERS, RECORD_KEYS, run_benchmark, time_calls

__all__ = [
    "CG_ITERS", "CLIP_RADIUS", "FULL", "GPU_BACKENDS", "LR", "METHODS", "OVERHEAD_TARGETS", "PASSES",
    "PEERS", "PEER_KEYS", "QUICK", "RECORD_KEYS", "SIZES", "TARGET_PEAK", "TARGET_RATIO", "Case",
    "SPIN_ENV", "blas_threads", "layer_flops", "load_records", "machine_info", "make_case", "make_net",
    "matmul_call", "spin_env_missing", "matmul_dims", "method_calls", "method_flops", "n_hypers",
    "parse_size", "pass_flops", "plot",
    "render_markdown", "render_overhead", "resolve_backend", "run_benchmark", "save", "time_calls",
    "tuner_overhead",
]
