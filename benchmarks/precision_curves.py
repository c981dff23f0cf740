"""Does the fast path learn the same? Loss curves of float32 vs bfloat16 (+ wavefront) training.

    python benchmarks/precision_curves.py --steps 400            # on a GPU: the article's architecture
    python benchmarks/precision_curves.py --steps 20 --small     # a quick check on a CPU

Trains each cell twice from the same seed on `austen` (4,096 words; the article's 2 × 600 layers, batch 64
unless --small): the exact path (float32, layer by layer) and the fast path (bfloat16 matmuls with
float32 state, unroll 8, wavefront). Prints the training loss averaged over windows of 50 steps for
both, the largest gap between them, the validation loss and the test metrics at the end, and the
step time inside the training loop.
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import jax
import numpy as np

from memviz import data
from memviz.evaluation import metrics
from memviz.models.model import ModelConfig
from memviz.training.presets import RunConfig, TrainConfig
from memviz.training.train import train


def config(cell: str, steps: int, small: bool, fast: bool) -> RunConfig:
    units = 64 if small else 600
    layers = 1 if cell == "nlstm" else 2
    model = ModelConfig(cell=cell, num_layers=layers, hidden_features=units, embedding_features=units, num_words=4098)
    if fast:
        model = dataclasses.replace(model, compute_dtype="bfloat16", unroll=8, wavefront=True)
    return RunConfig(
        model=model,
        train=TrainConfig(
            corpus="austen", vocab_size=4096, batch_size=16 if small else 64, steps=steps, learning_rate=1e-3
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", default="lstm,gru,nlstm")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--window", type=int, default=50)
    parser.add_argument("--small", action="store_true")
    args = parser.parse_args()
    print(f"devices: {jax.devices()}  jax {jax.__version__}")
    dataset = data.load_dataset("austen", vocab_size=4096)
    for cell in args.cells.split(","):
        curves, lines = {}, []
        for fast in (False, True):
            run_config = config(cell, args.steps, args.small, fast)
            t0 = time.perf_counter()
            run = train(run_config, None, dataset=dataset, progress=False)
            seconds = time.perf_counter() - t0
            h = run.history
            tr = h[h.dataset == "train"].set_index("step").loss
            curves[fast] = tr.groupby((tr.index - 1) // args.window).mean()
            valid = h[h.dataset == "valid"].loss.tail(5).mean()
            m = metrics.evaluate(run.model, dataset.test)
            label = "bf16+unroll8+wavefront" if fast else "float32, layer by layer"
            lines.append(
                f"  {label:>24}: {1e3 * seconds / args.steps:6.1f} ms/step in the loop (compile included)  "
                f"valid loss (last 5) {valid:.4f}  test CE {m['cross_entropy']:.4f}  accuracy {m['accuracy']:.2%}"
            )
        print(f"{cell}: training loss, mean over windows of {args.window} steps (float32 | fast)")
        for (w, a), b in zip(curves[False].items(), curves[True].values):
            print(f"  steps {w * args.window + 1:>5}-{(w + 1) * args.window:<5} {a:.4f} | {b:.4f}   diff {b - a:+.4f}")
        print(f"  largest |diff| {np.max(np.abs(curves[True].values - curves[False].values)):.4f}")
        print("\n".join(lines), flush=True)


if __name__ == "__main__":
    main()
