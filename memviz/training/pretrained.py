"""The models the notebooks use: shipped in ``data/pretrained/``, or trained on demand.

``load("gru")`` restores the shipped model (trained with the ``cpu`` preset on ``austen``);
``load("gru", retrain=True)`` trains it again into ``runs/gru`` (resuming if interrupted): in a clone's
top level, or in the current directory for an installed memviz (:func:`memviz.core.paths.work_dir`), never
inside the installed package.
With ``MEMVIZ_SMOKE=1`` everything switches to the ``tiny`` preset, trained in seconds.

``MEMVIZ_RUNS_DIR=/path/to/runs`` makes ``load`` use your own runs instead of the shipped ones: a run saved
in ``$MEMVIZ_RUNS_DIR/<cell>`` is restored with its own configuration, whatever its preset. It may be of
either kind :func:`load_run` reads: a training run (``memviz train --preset article --out
$MEMVIZ_RUNS_DIR/gru``; an unfinished one is resumed) or an exported one, the parameters only, as the shipped
models are (a copy of ``data/pretrained/``, or :func:`memviz.training.checkpoint.export_params`).
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

from memviz.core.model_names import ARTICLE_CELLS
from memviz.core.paths import DATA_DIR, cache_dir, work_dir
from memviz.training import checkpoint, train
from memviz.training.presets import get_preset, smoke_mode
from memviz.training.train import Run, load_or_train

PRETRAINED_DIR = DATA_DIR / "pretrained"
#: Environment variable naming a folder of your own runs (``<cell>/`` each) that ``load`` prefers to the shipped ones.
RUNS_ENV = "MEMVIZ_RUNS_DIR"


def load(cell: str, *, retrain: bool = False, runs_dir: str | Path | None = None, progress: bool = True) -> Run:
    """The ``cell`` model for the notebooks: your run in ``$MEMVIZ_RUNS_DIR/cell`` if that is set, else the shipped
    one if present, else trained (or resumed) in ``runs_dir/cell``.

    ``runs_dir`` defaults to :func:`default_runs_dir`; a finished run there is restored, an interrupted one resumed.
    """
    if smoke_mode():
        return load_or_train(get_preset("tiny", cell), cache_dir() / "smoke" / cell, progress=False)
    if os.environ.get(RUNS_ENV) and not retrain:
        return _load_own(cell, Path(os.environ[RUNS_ENV]).expanduser() / cell, progress=progress)
    shipped = PRETRAINED_DIR / cell
    if not retrain and (shipped / checkpoint.CONFIG_FILE).exists():
        return load_run(shipped)
    directory = Path(runs_dir if runs_dir is not None else default_runs_dir()) / cell
    if not retrain:
        warnings.warn(
            f"no shipped {cell} model in {shipped}; training it into {directory} (about 10 minutes on a CPU)",
            stacklevel=2,
        )
    elif progress:
        print(f"training {cell} into {directory} (an interrupted run resumes from there)")
    return load_or_train(get_preset("cpu", cell), directory, progress=progress)


def load_run(directory: str | Path) -> Run:
    """The run saved in ``directory``, at its newest checkpoint, with its config and history: a training run
    (``memviz train --out``; checkpoints with the optimiser state) or an exported one (the parameters only, as the
    shipped models in ``data/pretrained/``; :func:`memviz.training.checkpoint.export_params`). Nothing is trained.

    ``FileNotFoundError`` when ``directory`` holds no run or no checkpoint; ``CheckpointError`` when its newest
    checkpoint is damaged (saying what to do).
    """
    directory = Path(directory)
    if checkpoint.read_config(directory) is None:
        raise FileNotFoundError(
            f"{directory} holds no memviz run ({checkpoint.CONFIG_FILE} is missing): name a folder that "
            "`memviz train --out` made, or an exported run such as data/pretrained/gru"
        )
    if checkpoint.run_kind(directory) is None:
        raise FileNotFoundError(
            f"{directory} holds a run config but no checkpoint yet: train it with `memviz train --resume --out "
            f"{directory}` (and the same --cell and --preset)"
        )
    return train.load_run(directory)


def _load_own(cell: str, own: Path, *, progress: bool) -> Run:
    """``load``'s run from ``$MEMVIZ_RUNS_DIR``: an exported run or a finished training run is restored, an
    unfinished training run resumed (and finished) first."""
    config = checkpoint.read_config(own)
    if config is None:
        raise FileNotFoundError(
            f"${RUNS_ENV} is set, but {own} holds no memviz run ({checkpoint.CONFIG_FILE} is "
            f"missing): train one with `memviz train --cell {cell} --out {own}`, or copy an exported run there "
            f"(such as data/pretrained/{cell}), or unset {RUNS_ENV}"
        )
    if checkpoint.run_kind(own) == "export":  # the parameters only: never resumed, whatever its step
        return load_run(own)
    return load_or_train(config, own, progress=progress)  # restored if complete, else resumed


def load_matched(cell: str) -> Run | None:
    """The shipped checkpoint of ``cell`` at the Nested LSTM's validation accuracy (``data/pretrained/matched/``,
    made by ``scripts/matched_accuracy.py``), or None where none is shipped. Smoke mode: the tiny model stands in."""
    if smoke_mode():
        return load(cell)
    directory = PRETRAINED_DIR / "matched" / cell
    return load_run(directory) if (directory / checkpoint.CONFIG_FILE).exists() else None


def default_runs_dir() -> Path:
    """Where models are (re)trained: ``runs/`` in :func:`memviz.core.paths.work_dir` (a clone's top level, else the
    current directory)."""
    return work_dir() / "runs"


def load_all(cells: tuple[str, ...] = ARTICLE_CELLS, **kwargs) -> dict[str, Run]:
    """``{cell: Run}`` for each of ``cells`` (keyword arguments as ``load``)."""
    return {cell: load(cell, **kwargs) for cell in cells}


def describe(run: Run) -> dict:
    """What a run is and how it was trained, from its saved config, history and ``metrics.json``: display name,
    layers, units, output words, batch, steps, training minutes and the machine (``None`` where not recorded)."""
    model, train = run.config.model, run.config.train
    recorded = checkpoint.read_metrics(run.directory) if run.directory is not None else None
    minutes = float(run.history.sec.max()) / 60 if len(run.history) else None
    return {
        "model": run.name,
        "preset": run.config.preset,
        "layers": model.num_layers,
        "units": model.hidden_features,
        "words": model.num_words,
        "batch": train.batch_size,
        "steps": run.step,
        "training minutes": minutes,
        "machine": (recorded or {}).get("machine"),
    }


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def differences(runs: dict[str, Run] | list[Run]) -> str:
    """A Markdown sentence, built from the runs' configs and histories, on what besides the unit differs between
    them (width, depth, training steps and time): what a comparison of these models cannot separate from the unit."""
    rows = [describe(run) for run in (runs.values() if isinstance(runs, dict) else runs)]
    parts = []
    for key, noun in (("units", "units per layer"), ("layers", "layer(s)")):
        groups: dict[int, list[str]] = {}
        for row in rows:
            groups.setdefault(row[key], []).append(row["model"])
        if len(groups) > 1:
            parts += [
                f"the {_names(models)} {'has' if len(models) == 1 else 'have'} {value:,} {noun}"
                for value, models in groups.items()
            ]
    steps = [f"{row['steps']:,}" for row in rows]
    names = _names([row["model"] for row in rows])
    if len(set(steps)) > 1:
        parts.append(f"the {names} trained for {_names(steps)} steps")
    minutes = [row["training minutes"] for row in rows]
    if all(m is not None for m in minutes):
        machines = sorted({row["machine"] for row in rows if row["machine"]})
        where = f" on {machines[0]}" if len(machines) == 1 else ""
        parts.append(f"training took {_names([f'{m:.1f}' for m in minutes])} minutes{where}")
    if not parts:
        return f"The {names} share width, depth and training length: only the unit differs."
    return f"Besides the unit, the {names} differ in this: " + "; ".join(parts) + "."
