"""Evaluate trained runs and export them, compactly, as the models the notebooks load.

    python scripts/ship_pretrained.py runs/gru runs/lstm runs/nlstm     # -> data/pretrained/<cell>/

For each run: the article's test metrics (and the unigram baseline) on the test split, written to
the run's metrics.json together with the training wall time and the machine; then a params-only
float16 copy with config, history and metrics in ``data/pretrained/<cell>/``.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
from pathlib import Path

from memviz.evaluation import metrics
from memviz.training import checkpoint
from memviz.training.checkpoint import export_params
from memviz.training.pretrained import PRETRAINED_DIR
from memviz.training.train import load_run


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} cores, {cpu}"


def ship(run_dir: Path, out_root: Path) -> dict:
    run = load_run(run_dir)
    dataset = run.dataset()
    result = metrics.evaluate(run.model, dataset.test, train_split=dataset.train)
    result |= {
        "model": run.name,
        "preset": run.config.preset,
        "steps": run.step,
        "train_wall_s": float(run.history.sec.max()),
        "machine": machine(),
    }
    checkpoint.write_metrics(run_dir, result)
    export_params(run, out_root / run.config.model.cell, overwrite=True)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("runs", nargs="+", type=Path)
    parser.add_argument("--out", type=Path, default=PRETRAINED_DIR)
    args = parser.parse_args(argv)
    for run_dir in args.runs:
        r = ship(run_dir, args.out)
        print(
            f"{r['model']:>12}: CE {r['cross_entropy']:.4f}  accuracy {r['accuracy']:.2%}  "
            f"(unigram CE {r['unigram_cross_entropy']:.4f}, accuracy {r['unigram_accuracy']:.2%})  "
            f"{r['steps']} steps in {r['train_wall_s'] / 60:.1f} min"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
