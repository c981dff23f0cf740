#!/usr/bin/env bash
# One prepared GPU session (device tool): training throughput at the article configuration —
# layer-by-layer and wavefront scans, float32 and bfloat16 — with the PyTorch anchors in the same
# run, then a sweep of the CPU preset's length and schedule. Usage there: bash benchmarks/gpu_session.sh
# (The device image brings its own jax/flax/optax; the project's CPU pins are not installed there.)
set -uo pipefail
export PYTHONPATH="$PWD:${PYTHONPATH:-}" PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
OUT="${OUT:-/tmp}"
tp() { timeout 150 python3 benchmarks/train_throughput.py --config article --steps 20 "$@"; }
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 -c "import jax, flax, optax, torch; print('jax', jax.__version__, 'flax', flax.__version__, 'optax', optax.__version__, 'torch', torch.__version__, jax.devices())"
  echo "== memviz, article configuration, layer by layer, unroll 8: float32, then bfloat16 matmuls"
  tp --unroll 8
  tp --unroll 8 --compute-dtype bfloat16
  echo "== memviz, wavefront (2-layer GRU and LSTM), unroll 8: float32, then bfloat16"
  tp --unroll 8 --wavefront --cells lstm,gru
  tp --unroll 8 --wavefront --cells lstm,gru --compute-dtype bfloat16
  echo "== wavefront, bfloat16, unroll 4 and 16"
  tp --unroll 4 --wavefront --cells lstm,gru --compute-dtype bfloat16
  tp --unroll 16 --wavefront --cells lstm,gru --compute-dtype bfloat16
  echo "== PyTorch anchors, same machine"
  timeout 120 python3 benchmarks/torch_baseline.py
  echo "== CPU-preset sweep on austen: length per cell, constant vs cosine learning rate"
  timeout 200 python3 benchmarks/preset_sweep.py --steps lstm=1000,gru=1200,nlstm=1100 --lrs 3e-3 --schedules constant,cosine
  timeout 100 python3 benchmarks/preset_sweep.py --steps lstm=1000,gru=1200,nlstm=1100 --lrs 5e-3 --schedules cosine
} 2>&1 | grep -v -i "warning" | tee "$OUT/gpu_session.log"
{
  echo "== model and connectivity tests on the GPU"
  timeout 150 python3 -m pytest -q -p no:cacheprovider tests/test_model.py tests/test_connectivity.py 2>&1 | tail -15
} 2>&1 | tee -a "$OUT/gpu_session.log"
