#!/usr/bin/env bash
# One prepared device check (issue 16): the GPU legs of the test suite, then the decisive bench rows first.
# Run from the repo root on the lent machine, e.g. through the device tool with timeout_s ≈ 540:
#     bash benchmarks/gpu/run.sh
# It writes everything under $OUT (or ./gpu-out): the test log, and per backend bench.json (+ .md, .machine.json).
# The image there has torch, cupy-cuda13x, numpy, scipy, scikit-learn, hypothesis, pytest; array-api-compat,
# array-api-strict and joblib/tqdm/threadpoolctl may be missing: carry them as wheels in .whl/ (see the device
# README) and they are installed first. Nothing else is fetched.
set -uo pipefail
OUT=${OUT:-gpu-out}
mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH=/tmp/site:$PWD
else
  export PYTHONPATH=$PWD
fi
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
# 1. the GPU legs (cupy and torch-CUDA) of the derivative and backend tests: a few minutes at most
HYPERREG_TORCH_DEVICE=cuda timeout 180 python3 -m pytest -q -x -k "cupy or torch" \
  tests/test_mlp_derivatives.py tests/nn tests/test_backends.py tests/test_checkpoint.py tests/test_optim.py \
  tests/test_forward.py 2>&1 | tail -n 30 | tee "$OUT/tests.log"
# 2. the decisive rows first: batch 100, size B and C, float32, every method, PyTorch CUDA as the peer
for be in cupy torch; do
  timeout 150 python3 -m hyperreg bench --backend $be --sizes B C --batches 100 1000 --dtypes float32 \
    --peer torch --json "$OUT/bench-$be.json" 2>&1 | tail -n 40 | tee "$OUT/bench-$be.log"
done
# 3. the tuner overhead at k = 1 and 10 on the GPU
timeout 90 python3 -m hyperreg bench --backend cupy --overhead --sizes B --batches 100 --dtypes float32 \
  --json "$OUT/overhead-cupy.json" 2>&1 | tail -n 20 | tee "$OUT/overhead.log"
