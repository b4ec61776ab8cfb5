"""The ``hyperreg`` command line: one console script, one module per subcommand.

Each subcommand module defines ``add_parser(subparsers)`` (which sets ``func``) and is listed in
``SUBCOMMANDS``; ``python -m hyperreg`` is the same program.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import sys

SUBCOMMANDS = ["demo", "bench", "quadratic", "hoag", "tune", "grid", "rerun", "figure", "schedules", "compare"]


class CLIError(Exception):
    """A bad option or input: printed as one line, exit status 2, no traceback."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hyperreg",
        description="Tune regularization hyperparameters by gradient during one training run.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in SUBCOMMANDS:
        importlib.import_module(f"hyperreg.cli._{name}").add_parser(sub)
    return parser


def blas_threads(args):
    """Limit the BLAS thread pools for the run: ``HYPERREG_BLAS_THREADS`` (default 1) unless the subcommand
    has its own ``--threads`` (bench). The networks of these commands are small: a threaded BLAS gains
    nothing on them, and when another process holds a core it stalls (measured: the default ``hyperreg
    tune`` took 217 s with 2 OpenBLAS threads beside a busy process, 9.9 s with 1, the same result)."""
    if hasattr(args, "threads"):
        return contextlib.nullcontext()
    from threadpoolctl import threadpool_limits

    raw = os.environ.get("HYPERREG_BLAS_THREADS", "1")
    try:
        n = int(raw)
    except ValueError:
        raise CLIError(f"HYPERREG_BLAS_THREADS must be a positive integer, got {raw!r}") from None
    if n < 1:
        raise CLIError(f"HYPERREG_BLAS_THREADS must be a positive integer, got {raw!r}")
    return threadpool_limits(n)


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        with blas_threads(args):
            return int(args.func(args) or 0)
    except (CLIError, ValueError, TypeError, FileNotFoundError, ImportError) as exc:
        print(f"hyperreg {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        print(f"hyperreg {args.command}: interrupted", file=sys.stderr)
        return 130
