"""The long-context sweep (issue 16): train runs in resumable segments and measure context use at every segment.

    python scripts/long_context.py train gru-c3e3 --until 6000        # -> runs/long/gru-c3e3, 1,000 steps a segment
    python scripts/long_context.py measure gru-c3e3                  # measure the checkpoints not measured yet
    python scripts/long_context.py table                             # every run's measures, one row per checkpoint
    python scripts/long_context.py ship                              # -> data/long_context/measures.csv (no weights)

A run is an entry of :data:`RUNS`: the ``cpu`` preset of a cell with changes (a constant learning rate, so
that the run can be extended: a cosine decay is laid out over a fixed length). ``train`` trains to the next
multiple of ``--segment`` steps, measures that checkpoint, and goes on to ``--until``; stopped at any point, it
resumes bit-exactly from the newest checkpoint. Measures (``runs/long/<name>/measures.csv``, one row per
checkpoint and measure, each with its 95 % bootstrap interval over test sequences): those of
:func:`memviz.evaluation.variants.measure` (test accuracy and cross-entropy on the whole test split, in-word share,
reach beyond 2 words, accuracy lost when cut to the current word, recall lost on repeats), plus the far
reach on the article's own sentence (:func:`memviz.analysis.shares.result_far_reach`, one sentence: no interval).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

import pandas as pd

from memviz.analysis import connectivity, shares
from memviz.core.files import write_text
from memviz.core.paths import DATA_DIR
from memviz.data import reference
from memviz.evaluation import variants
from memviz.training import checkpoint
from memviz.training.presets import RunConfig, get_preset
from memviz.training.train import load_run, train

RUNS_DIR = DATA_DIR.parent / "runs" / "long"
MEASURES = "measures.csv"
#: The shipped table of every measured checkpoint (notebook 03 draws it).
SHIPPED = DATA_DIR / "long_context" / MEASURES
#: The sizes of the measures: notebook 07's, as the shipped models and their variants were measured.
SETTINGS = variants.SETTINGS


def _config(cell: str, **changes) -> RunConfig:
    base = get_preset("cpu", cell)
    model = {k: v for k, v in changes.items() if k in {f.name for f in dataclasses.fields(base.model)}}
    if "hidden_features" in model:
        model["embedding_features"] = model["hidden_features"]
    tr = {k: v for k, v in changes.items() if k not in model}
    return dataclasses.replace(
        base,
        model=dataclasses.replace(base.model, **model),
        train=dataclasses.replace(base.train, **tr, checkpoint_every=1000, keep_checkpoints=1),
        preset="long-context",
    )


#: The sweep's runs: the `cpu` preset's width and batch, a constant rate (extendable), one change at a time.
RUNS: dict[str, RunConfig] = {
    "gru-c3e3": _config("gru", learning_rate=3e-3, lr_schedule="constant"),
    "lstm-c3e3": _config("lstm", learning_rate=3e-3, lr_schedule="constant"),
    "nlstm-c3e3": _config("nlstm", learning_rate=3e-3, lr_schedule="constant"),
}


def measure(name: str, run, out: Path) -> pd.DataFrame:
    """The measures of ``run`` at its step, appended to ``out/measures.csv`` (a step measured already is replaced)."""
    dataset = run.dataset()
    clock = time.perf_counter()
    frame = variants.measure(run.model, dataset, variants.repeated_words(dataset, SETTINGS), SETTINGS)
    sentence = connectivity.compute_connectivity(run.model, reference.SAMPLE_TEXT, dataset.vocab)
    reach = shares.result_far_reach(sentence)
    frame = pd.concat(
        [
            frame,
            pd.DataFrame([{"measure": "far reach, article's sentence", "value": reach, "low": None, "high": None}]),
        ],
        ignore_index=True,
    )
    frame.insert(0, "step", run.step)
    frame.insert(0, "run", name)
    frame["train_wall_s"] = float(run.history["sec"].max()) if "sec" in run.history else float("nan")
    path = out / MEASURES
    kept = pd.read_csv(path) if path.exists() else None
    if kept is not None:
        frame = pd.concat([kept[kept.step != run.step], frame], ignore_index=True)
    write_text(path, frame.sort_values(["step"], kind="stable").to_csv(index=False))
    print(f"{name} step {run.step}: measured in {time.perf_counter() - clock:.0f} s; far reach (sentence) {reach:.4f}")
    return frame


def train_segments(name: str, until: int, segment: int) -> None:
    out = RUNS_DIR / name
    config = RUNS[name]
    saved = checkpoint.read_config(out)
    done = 0 if saved is None else load_run(out).step
    measured = set(pd.read_csv(out / MEASURES).step) if (out / MEASURES).exists() else set()
    while done < until:
        target = min(until, (done // segment + 1) * segment)
        run = train(dataclasses.replace(config, train=dataclasses.replace(config.train, steps=target)), out)
        done = run.step
        if done not in measured:
            measure(name, run, out)
            measured.add(done)


def table() -> pd.DataFrame:
    frames = [pd.read_csv(p) for p in sorted(RUNS_DIR.glob(f"*/{MEASURES}"))]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("name", choices=list(RUNS))
    t.add_argument("--until", type=int, required=True)
    t.add_argument("--segment", type=int, default=1000)
    m = sub.add_parser("measure")
    m.add_argument("name", choices=list(RUNS))
    sub.add_parser("table")
    sub.add_parser("ship")
    args = parser.parse_args(argv)
    if args.command == "train":
        train_segments(args.name, args.until, args.segment)
    elif args.command == "measure":
        measure(args.name, load_run(RUNS_DIR / args.name), RUNS_DIR / args.name)
    elif args.command == "ship":
        frame = table().sort_values(["run", "step"], kind="stable")
        write_text(SHIPPED, frame.to_csv(index=False))
        print(f"wrote {len(frame)} rows ({frame.groupby('run').step.max().to_dict()}) to {SHIPPED}")
    else:
        frame = table()
        wide = frame.pivot_table(index=["run", "step"], columns="measure", values="value").reset_index()
        print(wide.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
