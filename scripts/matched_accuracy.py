"""Train the GRU and the LSTM to the Nested LSTM's validation accuracy and ship those checkpoints.

    python scripts/matched_accuracy.py --stop 260 --first 200     # -> runs/matched/<cell>, data/pretrained/matched/<cell>

(The shipped GRU was made with exactly that command: its training losses matched the shipped run's to 0.0,
and step 210 was chosen; 260 steps took 25 minutes on the 2-core CPU under heavy contention.)

The shipped GRU and LSTM pass the Nested LSTM's final validation loss long before their last step. This
retrains each with its shipped ``cpu`` configuration (same seed, same batches, same learning-rate schedule
laid out over the full run: training is deterministic, so the trajectory is the shipped run's; the script
prints how far its training losses are from the shipped history's), keeps a checkpoint every
``--every`` steps, stops after ``--stop`` steps, and picks the checkpoint whose top-1 accuracy on the
first ``--valid`` validation sequences is closest to the shipped Nested LSTM's on the same sequences.
That checkpoint is exported in float16 (as ``scripts/ship_pretrained.py`` does) with a metrics.json
naming the step, both accuracies and the test metrics.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from flax import nnx

from memviz.core.paths import DATA_DIR
from memviz.evaluation import metrics
from memviz.training import checkpoint
from memviz.training.checkpoint import export_params
from memviz.training.presets import get_preset
from memviz.training.pretrained import PRETRAINED_DIR, load
from memviz.training.train import Run, build_model, train

MATCHED_DIR = PRETRAINED_DIR / "matched"


class _Stop(KeyboardInterrupt):
    """Raised from ``train``'s ``on_log`` to stop at a step; ``train`` saves a checkpoint on KeyboardInterrupt."""


def train_until(cell: str, directory: Path, stop: int, every: int) -> None:
    base = get_preset("cpu", cell)
    config = dataclasses.replace(
        base, train=dataclasses.replace(base.train, checkpoint_every=every, keep_checkpoints=10_000)
    )

    def on_log(history: pd.DataFrame) -> None:
        if int(history.step.max()) >= stop:
            raise _Stop

    try:
        train(config, directory, on_log=on_log)
    except _Stop:
        pass


def restore_at(directory: Path, step: int) -> Run:
    config = checkpoint.read_config(directory)
    model = build_model(config.model, config.train.seed)
    _, params = nnx.split(model, nnx.Param)
    _, items = checkpoint.restore(
        checkpoint.manager(directory, config.train.keep_checkpoints), {"params": params}, step=step
    )
    nnx.update(model, items["params"])
    history = checkpoint.read_history(directory)
    return Run(model, config, history[history.step <= step], step, directory)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=Path, default=DATA_DIR.parent / "runs" / "matched")
    parser.add_argument("--out", type=Path, default=MATCHED_DIR)
    parser.add_argument("--stop", type=int, default=320, help="train this many steps (the shipped runs match near 240)")
    parser.add_argument("--every", type=int, default=10, help="steps between checkpoints")
    parser.add_argument("--first", type=int, default=150, help="first step considered")
    parser.add_argument("--valid", type=int, default=400, help="validation sequences used to match accuracy")
    parser.add_argument("--cells", nargs="+", default=["gru", "lstm"], choices=["gru", "lstm"])
    args = parser.parse_args(argv)
    nested = load("nlstm", progress=False)
    dataset = nested.dataset()
    valid = dataset.valid[: args.valid]
    target = metrics.evaluate(nested.model, valid)["accuracy"]
    print(f"Nested LSTM (shipped, step {nested.step}): validation accuracy {target:.4f} on {len(valid)} sequences")
    for cell in args.cells:
        directory = args.runs / cell
        train_until(cell, directory, args.stop, args.every)
        shipped = pd.read_csv(PRETRAINED_DIR / cell / checkpoint.HISTORY_FILE)
        ours = checkpoint.read_history(directory)
        both = ours.merge(shipped, on=["dataset", "step"], suffixes=("", "_shipped"))
        print(
            f"{cell}: {len(both)} logged losses, largest difference from the shipped run {np.abs(both.loss - both.loss_shipped).max():.2e}"
        )
        steps = [s for s in checkpoint.manager(directory).all_steps() if s >= args.first]
        accuracy = {s: metrics.evaluate(restore_at(directory, s).model, valid)["accuracy"] for s in sorted(steps)}
        print(f"{cell}: validation accuracy by step", {s: round(a, 4) for s, a in accuracy.items()})
        step = min(accuracy, key=lambda s: abs(accuracy[s] - target))
        run = restore_at(directory, step)
        test = metrics.evaluate(run.model, dataset.test, train_split=dataset.train)
        export_params(run, args.out / cell, overwrite=True)
        checkpoint.write_metrics(
            args.out / cell,
            test
            | {
                "model": run.name,
                "preset": run.config.preset,
                "steps": step,
                "matched_to": "Nested LSTM",
                "valid_sequences": len(valid),
                "valid_accuracy": accuracy[step],
                "nested_lstm_valid_accuracy": target,
            },
        )
        print(
            f"{cell}: step {step}, validation accuracy {accuracy[step]:.4f} (Nested LSTM {target:.4f}); "
            f"test accuracy {test['accuracy']:.4f} -> {args.out / cell}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
