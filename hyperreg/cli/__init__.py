"""The ``hyperreg`` command line: one console script, one module per subcommand.

Each subcommand module defines ``add_parser(subparsers)`` (which sets ``func``) and is listed in
``SUBCOMMANDS``; ``python -m hyperreg`` is the same program.

Bad input of any kind (an option, a data file, a checkpoint, an unwritable output path) ends the program with
exit status 2 and one line on stderr, ``hyperreg CMD: error: ...``, naming the argument and the fix; no
traceback. Outputs go only under the paths the options name (or their documented defaults).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import math
import os
import sys

from .._checks import StateTooLargeError

SUBCOMMANDS = ["demo", "bench", "quadratic", "hoag", "tune", "grid", "rerun", "figure", "schedules", "compare"]


class CLIError(Exception):
    """A bad option or input: printed as one line, exit status 2, no traceback."""


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (the option, the problem, where the help is), exit 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message}; see {self.prog} --help\n")


def _typed(cast, test, want):
    """An argparse ``type``: ``cast(text)`` that passes ``test``, else "must be WANT, got 'TEXT'"."""
    def convert(text):
        try:
            v = cast(text)
        except (TypeError, ValueError):
            v = None
        if v is None or not test(v):
            raise argparse.ArgumentTypeError(f"must be {want}, got {text!r}")
        return v

    convert.__name__ = want
    return convert


nonneg_int = _typed(int, lambda v: v >= 0, "an integer ≥ 0")
positive_int = _typed(int, lambda v: v >= 1, "an integer ≥ 1")
positive_float = _typed(float, lambda v: math.isfinite(v) and v > 0, "a finite number > 0")
finite_float = _typed(float, math.isfinite, "a finite number")


def check_backend(name, option="--backend"):
    """``name`` (e.g. ``torch`` or ``torch:cuda``) names a backend, else a CLIError naming the option."""
    from ..backends import BACKENDS

    if not isinstance(name, str) or name.partition(":")[0] not in BACKENDS:
        raise CLIError(f"{option} must be one of {', '.join(BACKENDS)} (optionally :DEVICE), got {name!r}")
    return name


def check_data(spec, option="--data"):
    """``spec`` names a dataset of ``hyperreg.data`` (``digits``, ``mnist:DIR``, ``npz:PATH``...)."""
    from ..data.datasets import DATASETS

    name = spec.partition(":")[0].strip().lower()
    if name not in DATASETS:
        raise CLIError(f"{option} must be one of {', '.join(DATASETS)} (mnist:DIR, npz:PATH...), got {spec!r}")
    if name == "npz" and not os.path.isfile(spec[4:]):
        raise CLIError(f"{option}: no such file {spec[4:]!r}; give npz:PATH with PATH an .npz holding arrays "
                       "X and y")
    return spec


def writable_dir(path, option):
    """Check, before any work and without creating anything, that directory ``path`` is or can be made: it
    is a writable directory, or its nearest existing ancestor is (a bad --out fails at once, and a refused
    run leaves no empty directory behind)."""
    probe = os.path.abspath(path)
    while not os.path.exists(probe):
        probe = os.path.dirname(probe)
    if not os.path.isdir(probe):
        raise CLIError(f"{option}: cannot create directory {path!r}: {probe!r} is a file; give a directory")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise CLIError(f"{option}: cannot write under {probe!r} (permission denied); give a writable directory")
    return path


def writable_file(path, option):
    """As ``writable_dir`` for the directory of file ``path``; ``path`` itself must not be a directory."""
    if os.path.isdir(path):
        raise CLIError(f"{option}: {path!r} is a directory; give a file name")
    writable_dir(os.path.dirname(os.path.abspath(path)), option)
    return path


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
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


def _one_line(exc):
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def main(argv=None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # a usage error (one line, from _Parser.error) or --help: return its status
        return exc.code if isinstance(exc.code, int) else 2
    if args.command is None:
        parser.print_help()
        return 0
    args.program_argv = sys.argv[1:] if argv is None else None  # run as the program (it may start again)
    try:
        with blas_threads(args):
            return int(args.func(args) or 0)
    except (CLIError, ValueError, TypeError, OSError, ImportError, FloatingPointError, StateTooLargeError) as exc:
        # FloatingPointError: DivergenceError (the step and λ are in the message); OSError: unreadable input,
        # a full disk; StateTooLargeError: refused before allocation, with the size it needs
        print(f"hyperreg {args.command}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # pragma: no cover
        print(f"hyperreg {args.command}: interrupted", file=sys.stderr)
        return 130
