"""Train the variants of the shipped models that notebook 07 compares them with, and ship their measures.

    python scripts/variants.py train     # -> runs/variants/<name>: about 8 minutes each on 2 idle CPU cores
    python scripts/variants.py measure   # -> data/variants/measures.csv and data/variants/<name>/ (no weights)
    python scripts/variants.py measure gru-seed1   # only that run's rows are measured again; the others are kept

The variants (:data:`memviz.evaluation.variants.VARIANTS`) are the shipped ``cpu`` configurations with one change:

* **seeds** (``<cell>-seed1``): another seed, hence another initialisation and batch order;
  they give the seed-to-seed spread beside the bootstrap interval over test sequences.
* **matched parameters** (``gru-248``, ``lstm-232``): the GRU and the LSTM narrowed until their parameter
  count is within 1 % of the Nested LSTM's.

``measure`` measures every finished variant, the three shipped models (``shipped-<cell>``) and the GRU and LSTM
checkpoints at the Nested LSTM's accuracy (``matched-<cell>``, ``data/pretrained/matched/``) with
:func:`memviz.evaluation.variants.measure`, and copies each variant's ``config.json``, ``history.csv`` and ``metrics.json``.
``train`` skips a variant whose run finished and resumes one that stopped; name variants to train only those.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

from memviz.core.files import write_text
from memviz.core.paths import DATA_DIR
from memviz.evaluation import variants
from memviz.training import checkpoint, pretrained
from memviz.training.pretrained import PRETRAINED_DIR
from memviz.training.train import load_run

RUNS_DIR = DATA_DIR.parent / "runs" / "variants"


def train_variants(names: list[str], runs: Path) -> None:
    for name in names:
        out = runs / name
        if (out / checkpoint.METRICS_FILE).exists():
            print(f"{name}: finished already ({out})", flush=True)
            continue
        command = ["memviz", "train", *variants.VARIANTS[name].train_arguments(), "--out", str(out)]
        if (out / checkpoint.CONFIG_FILE).exists():
            command.append("--resume")
        print("$", " ".join(command), flush=True)
        subprocess.run(command, check=True)


SHIPPED = {f"shipped-{cell}": PRETRAINED_DIR / cell for cell in ("gru", "lstm", "nlstm")}
MATCHED = {f"matched-{cell}": PRETRAINED_DIR / "matched" / cell for cell in ("gru", "lstm")}
ALL = [*SHIPPED, *MATCHED, *variants.VARIANTS]
COLUMNS = ["run", "cell", "kind", "seed", "hidden", "parameters", "step", "measure", "value", "low", "high"]


def load_measured(name: str, runs: Path):
    """The run called ``name`` (a shipped model, a matched checkpoint or a variant), or None if not trained yet."""
    if name in SHIPPED:
        return pretrained.load(name.split("-")[1])
    if name in MATCHED:
        return load_run(MATCHED[name]) if (MATCHED[name] / checkpoint.CONFIG_FILE).exists() else None
    if not (runs / name / checkpoint.METRICS_FILE).exists():
        return None
    run = load_run(runs / name)
    if run.config != variants.VARIANTS[name].config():
        raise SystemExit(f"error: {runs / name} was trained with another configuration than variant {name}")
    return run


def measure_runs(names: list[str], runs: Path, out: Path) -> None:
    """Measure ``names`` and write their rows into ``out/measures.csv``, keeping the rows of the runs not named."""
    path = out / variants.MEASURES_FILE.name
    kept = pd.read_csv(path) if path.exists() else pd.DataFrame(columns=COLUMNS)
    frames, dataset, swaps = [kept[~kept.run.isin(names)]], None, None
    for name in names:
        run = load_measured(name, runs)
        if run is None:
            print(f"{name}: not trained to the end yet; left out", flush=True)
            continue
        if dataset is None:
            dataset = run.dataset()
            swaps = variants.repeated_words(dataset)
        start = time.perf_counter()
        frame = variants.measure(run.model, dataset, swaps)
        frames.append(frame.assign(**variants.describe(name, run.model, run.config, run.step))[COLUMNS])
        print(f"{name}: measured in {time.perf_counter() - start:.0f} s", flush=True)
        if name in variants.VARIANTS:
            (out / name).mkdir(parents=True, exist_ok=True)
            for file in (checkpoint.CONFIG_FILE, checkpoint.HISTORY_FILE, checkpoint.METRICS_FILE):
                shutil.copyfile(runs / name / file, out / name / file)
    order = {name: i for i, name in enumerate([*SHIPPED, *MATCHED, *variants.VARIANTS])}
    table = pd.concat([f for f in frames if len(f)], ignore_index=True).sort_values(
        "run", key=lambda r: r.map(order), kind="stable"
    )
    write_text(path, table.to_csv(index=False, float_format="%.6g"))
    print(table.pivot_table(index="run", columns="measure", values="value", sort=False).round(4).to_string())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=["train", "measure"])
    parser.add_argument("names", nargs="*", help=f"runs (default: all): {', '.join(ALL)}")
    parser.add_argument("--runs", type=Path, default=RUNS_DIR, help="where the variants are trained")
    parser.add_argument("--out", type=Path, default=variants.VARIANTS_DIR, help="where their measures ship")
    args = parser.parse_args(argv)
    trainable = set(variants.VARIANTS) if args.action == "train" else set(ALL)
    unknown = sorted(set(args.names) - trainable)
    if unknown:
        parser.error(f"{args.action}: unknown run(s) {', '.join(unknown)}; choose from {', '.join(sorted(trainable))}")
    if args.action == "train":
        train_variants(args.names or list(variants.VARIANTS), args.runs)
    else:
        measure_runs(args.names or ALL, args.runs, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
