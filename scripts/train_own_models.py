"""Train and ship notebook 09's two models of a reader's own (notebooks/own_models.py) with memviz's trainer.

    python scripts/train_own_models.py              # -> runs/own/<name>, then data/pretrained/<name>/
    python scripts/train_own_models.py mingru       # one of them

Each is the ``cpu`` preset (the GRU's width, 1,200 steps, Adam 5e-3 with a cosine decay, Austen, 4,096 words), the
Transformer with 2 blocks (its registered default). Stopped at any point, a run resumes bit-exactly from its newest
checkpoint; shipping evaluates it on the test split and writes a float16 copy, as for the article's three units.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "notebooks"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import own_models  # noqa: E402  (the reader's code, beside the notebooks)
from ship_pretrained import ship  # noqa: E402

from memviz.training.presets import get_preset  # noqa: E402
from memviz.training.pretrained import PRETRAINED_DIR, default_runs_dir  # noqa: E402
from memviz.training.train import load_or_train  # noqa: E402

NAMES = ("transformer", "mingru")


def main(argv: list[str] | None = None) -> int:
    """Train (or resume) and ship each model named, default both."""
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", help=f"any of {', '.join(NAMES)} (default: both)")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.names) - set(NAMES))
    if unknown:
        parser.error(f"unknown model(s) {', '.join(unknown)}; choose from {', '.join(NAMES)}")
    own_models.register()
    for name in args.names or NAMES:
        directory = default_runs_dir() / "own" / name
        load_or_train(get_preset("cpu", name), directory)
        r = ship(directory, PRETRAINED_DIR)
        print(
            f"{r['model']:>12}: CE {r['cross_entropy']:.4f}  accuracy {r['accuracy']:.2%}  {r['steps']} steps in "
            f"{r['train_wall_s'] / 60:.1f} min"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
