"""The models the notebooks use: shipped in ``data/pretrained/``, or trained on demand.

``load("gru")`` restores the shipped model (trained with the ``cpu`` preset on ``austen``);
``load("gru", retrain=True)`` trains it again into ``runs/gru`` (resuming if interrupted).
With ``MEMVIZ_SMOKE=1`` everything switches to the ``tiny`` preset, trained in seconds.
"""

from __future__ import annotations

import warnings
from pathlib import Path

from memviz import checkpoint
from memviz.model_names import ARTICLE_CELLS
from memviz.paths import DATA_DIR, cache_dir
from memviz.presets import get_preset, smoke_mode
from memviz.train import Run, load_or_train, load_run

PRETRAINED_DIR = DATA_DIR / "pretrained"
#: Where models are (re)trained when not shipped: ``runs/<cell>`` at the repository's top level.
RUNS_DIR = DATA_DIR.parent / "runs"


def load(cell: str, *, retrain: bool = False, runs_dir: str | Path | None = None, progress: bool = True) -> Run:
    """The ``cell`` model for the notebooks: shipped if present, else trained (or resumed) in ``runs_dir/cell``.

    ``runs_dir`` defaults to ``RUNS_DIR``; a finished run there is restored, an interrupted one resumed.
    """
    if smoke_mode():
        return load_or_train(get_preset("tiny", cell), cache_dir() / "smoke" / cell, progress=False)
    shipped = PRETRAINED_DIR / cell
    if not retrain and (shipped / checkpoint.CONFIG_FILE).exists():
        return load_run(shipped)
    directory = Path(runs_dir if runs_dir is not None else RUNS_DIR) / cell
    if not retrain:
        warnings.warn(f"no shipped {cell} model in {shipped}; training it into {directory} (about 10 minutes on a CPU)")
    return load_or_train(get_preset("cpu", cell), directory, progress=progress)


def load_all(cells: tuple[str, ...] = ARTICLE_CELLS, **kwargs) -> dict[str, Run]:
    """``{cell: Run}`` for each of ``cells`` (keyword arguments as ``load``)."""
    return {cell: load(cell, **kwargs) for cell in cells}
