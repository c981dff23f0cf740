"""Training throughput: step time and characters per second for each cell.

    python benchmarks/train_throughput.py --config article            # batch 64, length 200, 600 units, 16,386 words
    python benchmarks/train_throughput.py --config cpu                # the CPU preset on `austen` sizes
    python benchmarks/train_throughput.py --config article --compute-dtype bfloat16 --unroll 8
    python benchmarks/train_throughput.py --config article --compute-dtype bfloat16 --unroll 8 --wavefront

Synthetic batches (random characters and words; the timing doesn't depend on the text). Each
figure is the median over timed steps after compilation; the compile time is reported apart.
Runs unchanged on CPU or GPU (prints the device).
"""

from __future__ import annotations

import argparse
import dataclasses
import platform
import time

import jax
import numpy as np
import optax
from flax import nnx

from memviz.training.presets import get_preset
from memviz.training.train import _compile_steps, build_model


def bench(config, steps: int, warmup: int = 2) -> dict:
    tc = config.train
    model = build_model(config.model, 0)
    graphdef, params = nnx.split(model, nnx.Param)
    tx = optax.adam(tc.learning_rate)
    opt_state = tx.init(params)
    train_step, _ = _compile_steps(graphdef, tx)
    rng = np.random.RandomState(0)
    source = jax.device_put(rng.randint(1, 28, (tc.batch_size, tc.max_length)).astype(np.int32))
    target = jax.device_put(rng.randint(2, config.model.num_words, (tc.batch_size, tc.max_length)).astype(np.int32))
    t0 = time.perf_counter()
    params, opt_state, loss, _ = train_step(params, opt_state, source, target)
    loss.block_until_ready()
    compile_s = time.perf_counter() - t0
    for _ in range(warmup):
        params, opt_state, loss, _ = train_step(params, opt_state, source, target)
    loss.block_until_ready()
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        params, opt_state, loss, _ = train_step(params, opt_state, source, target)
        loss.block_until_ready()
        times.append(time.perf_counter() - t0)
    step_s = float(np.median(times))
    return {
        "compile_s": compile_s,
        "step_ms": 1e3 * step_s,
        "chars_per_s": tc.batch_size * tc.max_length / step_s,
        "loss": float(loss),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--config", default="cpu", choices=["article", "cpu"])
    parser.add_argument("--cells", default="lstm,gru,nlstm")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per cell")
    parser.add_argument("--compute-dtype", default="float32", choices=["float32", "bfloat16"])
    parser.add_argument("--unroll", type=int, default=1)
    parser.add_argument("--wavefront", action="store_true", help="run stacked layers as one wavefront scan")
    args = parser.parse_args()
    print(f"devices: {jax.devices()}  jax {jax.__version__}  {platform.processor() or platform.machine()}")
    print(f"config={args.config} compute_dtype={args.compute_dtype} unroll={args.unroll} wavefront={args.wavefront}")
    print(
        f"{'cell':>6} {'layers':>6} {'units':>6} {'batch':>5} {'words':>6} {'compile s':>9} {'ms/step':>9} {'chars/s':>10}"
    )
    for cell in args.cells.split(","):
        config = get_preset(args.config, cell)
        config = dataclasses.replace(
            config,
            model=dataclasses.replace(
                config.model, compute_dtype=args.compute_dtype, unroll=args.unroll, wavefront=args.wavefront
            ),
        )
        r = bench(config, args.steps)
        m = config.model
        print(
            f"{cell:>6} {m.num_layers:>6} {m.hidden_features:>6} {config.train.batch_size:>5} {m.num_words:>6} "
            f"{r['compile_s']:>9.1f} {r['step_ms']:>9.1f} {r['chars_per_s']:>10,.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
