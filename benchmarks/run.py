"""The benchmark of issue 7 as a script: the same code as ``hyperreg bench`` (``hyperreg.bench``).

    python benchmarks/run.py --quick
    python benchmarks/run.py --sizes A B C --batches 100 --json benchmarks/results/DATE-HOST/bench.json
    python benchmarks/run.py --backend cupy --json results/gpu/bench.json     # full grid, one backend
"""

import os
import sys
from pathlib import Path

os.environ.setdefault("OPENBLAS_THREAD_TIMEOUT", "4")  # before NumPy loads: hyperreg.bench.machine.SPIN_ENV

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo, without installing

from hyperreg.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))
