#!/usr/bin/env bash
# One-shot GPU check for the diffusion stack, sized for one H200 in under 8 minutes:
#   1. the CUDA tests of the diffusion/generation code (fixture equivalence on the GPU,
#      bf16 closeness, a tiny guided generation run and its resume);
#   2. guided sampling throughput of the full-size IDiff-Face UNet at batch 256, bf16,
#      channels_last, eager and torch.compile'd, then full DDIM-200 and DDPM-1000 runs.
# Results: benchmarks/results/sampling_gpu.json (+ the pytest summary on stdout).
# Usage: bash benchmarks/gpu_check.sh   (from the repository root; uses .venv if present)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=python
[ -x .venv/bin/python ] && PY=.venv/bin/python
export PYTHONUNBUFFERED=1

$PY - <<'PYCHECK'
import torch
assert torch.cuda.is_available(), "no CUDA device visible"
print("device:", torch.cuda.get_device_name(0), "torch", torch.__version__)
PYCHECK

echo "== CUDA tests, whole suite (timeout 120 s)"
timeout 120 $PY -m pytest -q -m cuda -p no:cacheprovider tests || echo "CUDA TESTS FAILED: $?"

echo "== exhaustive separability 1,000 x 20 on the GPU (timeout 60 s)"
timeout 60 $PY benchmarks/separability.py --device cuda --skip-naive --sizes 1000x20 \
    --output benchmarks/results/separability_gpu.json \
    || echo "SEPARABILITY GPU BENCHMARK FAILED: $?"

echo "== guided sampling throughput, batch 256 (timeout 300 s)"
timeout 300 $PY benchmarks/sampling.py --device cuda --batch 256 --compile --timed-steps 20 \
    || echo "GPU BENCHMARK FAILED: $?"
