"""Seconds per training step of notebook 09's models beside the GRU, on the `cpu` preset (issue 18 §2).

    python benchmarks/own_models_step.py            # minGRU, the Transformer (as shipped and 256 wide), the GRU

Each model trains 30 and then 60 steps in memory (no checkpoints) from the same seed; the difference of the two wall
times over 30 steps is the cost of a step with compilation and data loading taken out. One process, models one
after the other, so the ratios hold for one machine at one time (its speed drifts from hour to hour).
"""

from __future__ import annotations

import dataclasses
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "notebooks"))

import own_models  # noqa: E402

from memviz.training.presets import get_preset  # noqa: E402
from memviz.training.train import train  # noqa: E402

#: (label, registry name, changes to the preset's model)
MODELS = [
    ("minGRU (as shipped)", "mingru", {}),
    ("Transformer (as shipped: 2 blocks, 128 wide)", "transformer", {}),
    ("Transformer, 2 blocks, 256 wide", "transformer", {"hidden_features": 256, "embedding_features": 256}),
    ("GRU (as shipped)", "gru", {}),
]


def seconds_per_step(cell: str, changes: dict, short: int = 30, long: int = 60) -> float:
    """Wall seconds per step of ``cell``'s `cpu` preset with ``changes``: (T(long) − T(short)) / (long − short)."""
    config = get_preset("cpu", cell)
    config = dataclasses.replace(config, model=dataclasses.replace(config.model, **changes))
    times = []
    for steps in (short, long):
        start = time.perf_counter()
        train(dataclasses.replace(config, train=dataclasses.replace(config.train, steps=steps)), None, progress=False)
        times.append(time.perf_counter() - start)
    return (times[1] - times[0]) / (long - short)


def main() -> int:
    """Print each model's seconds per step and its ratio to the GRU's."""
    own_models.register()
    measured = {label: seconds_per_step(cell, changes) for label, cell, changes in MODELS}
    gru = measured["GRU (as shipped)"]
    for label, seconds in measured.items():
        print(f"{label:48} {seconds:.3f} s/step   {gru / seconds:.2f}x the GRU's speed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
