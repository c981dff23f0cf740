#!/usr/bin/env bash
# One prepared GPU session (device tool): training throughput at the article configuration in
# float32 and in bfloat16+unroll, the PyTorch anchors in the same run, connectivity timing, and a
# learning-rate sweep for the CPU preset. Usage there: bash benchmarks/gpu_session.sh
set -uo pipefail
if ls .whl/*.whl >/dev/null 2>&1; then  # pinned flax/optax/orbax carried as wheels (device tool notes)
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
  export PYTHONPATH="/tmp/site:${PYTHONPATH:-}"
fi
export PYTHONPATH="$PWD:${PYTHONPATH:-}" PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
OUT="${OUT:-/tmp}"
{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
  python3 -c "import jax, flax, optax; print('jax', jax.__version__, 'flax', flax.__version__, 'optax', optax.__version__, jax.devices())"
  echo "== memviz, article configuration, float32, unroll 1"
  timeout 120 python3 benchmarks/train_throughput.py --config article --steps 20
  echo "== memviz, article configuration, bfloat16 matmuls (float32 state), unroll 8"
  timeout 120 python3 benchmarks/train_throughput.py --config article --steps 20 --compute-dtype bfloat16 --unroll 8
  echo "== PyTorch anchors, same machine"
  timeout 90 python3 benchmarks/torch_baseline.py
  echo "== connectivity, article size"
  timeout 90 python3 benchmarks/connectivity.py --no-memory
  echo "== CPU-preset sweep on austen (1600 steps)"
  timeout 80 python3 benchmarks/preset_sweep.py --cells lstm,nlstm --lrs 1e-3,3e-3 --steps 1600 --hidden 256
  timeout 30 python3 benchmarks/preset_sweep.py --cells gru --lrs 3e-3 --steps 1600
} 2>&1 | grep -v -i "warning" | tee "$OUT/gpu_session.log"
