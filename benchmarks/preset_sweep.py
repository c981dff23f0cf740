"""Sweep the CPU preset's learning rate and length, reporting the article's test metrics.

    python benchmarks/preset_sweep.py --cells lstm,nlstm --lrs 1e-3,3e-3 --steps 1600
    python benchmarks/preset_sweep.py --steps lstm=1000,gru=1200,nlstm=1100 --schedules constant,cosine

Used to size the ``cpu`` preset (fast on a GPU; the same runs take ~10 minutes each on 2 CPU cores).
Each line: the cell, learning rate, steps, training seconds on this device, test CE and accuracy.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import time

import jax

from memviz import data
from memviz.evaluation import metrics
from memviz.training.presets import get_preset
from memviz.training.train import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cells", default="lstm,gru,nlstm")
    parser.add_argument("--lrs", default="1e-3,3e-3")
    parser.add_argument("--steps", default="1600", help="steps for every cell (1600) or per cell (lstm=1000,gru=1200)")
    parser.add_argument("--schedules", default="constant", help="learning-rate schedules to try: constant,cosine")
    parser.add_argument("--hidden", type=int, help="override the preset's units (and embedding size)")
    args = parser.parse_args()
    print(f"devices: {jax.devices()}")
    dataset = data.load_dataset("austen", vocab_size=4096)
    per_cell = dict(item.split("=") for item in args.steps.split(",")) if "=" in args.steps else {}
    for cell, lr, schedule in itertools.product(
        args.cells.split(","), map(float, args.lrs.split(",")), args.schedules.split(",")
    ):
        steps = int(per_cell.get(cell, args.steps if not per_cell else get_preset("cpu", cell).train.steps))
        config = get_preset("cpu", cell)
        config = dataclasses.replace(
            config, train=dataclasses.replace(config.train, learning_rate=lr, steps=steps, lr_schedule=schedule)
        )
        if args.hidden:
            model = dataclasses.replace(config.model, hidden_features=args.hidden, embedding_features=args.hidden)
            config = dataclasses.replace(config, model=model)
        t0 = time.perf_counter()
        run = train(config, None, dataset=dataset, progress=False)
        seconds = time.perf_counter() - t0
        m = metrics.evaluate(run.model, dataset.test)
        print(
            f"{cell:>6} {config.model.hidden_features} units lr {lr:.0e} {schedule:>8} steps {steps}: {seconds:6.1f} s  test CE {m['cross_entropy']:.4f}  "
            f"accuracy {m['accuracy']:.2%}",
            flush=True,
        )


if __name__ == "__main__":
    main()
