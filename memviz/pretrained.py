"""The models the notebooks use: shipped in ``data/pretrained/``, or trained on demand.

``load("gru")`` restores the shipped model (trained with the ``cpu`` preset on ``austen``);
``load("gru", retrain=True)`` trains it again into ``runs/gru`` (resuming if interrupted).
With ``MEMVIZ_SMOKE=1`` everything switches to the ``tiny`` preset, trained in seconds.
"""

from __future__ import annotations

from pathlib import Path

from memviz import checkpoint
from memviz.paths import DATA_DIR, cache_dir
from memviz.presets import get_preset, smoke_mode
from memviz.train import Run, load_or_train, load_run

PRETRAINED_DIR = DATA_DIR / "pretrained"
#: The article's three models, in the order its connectivity figure stacks them.
ARTICLE_CELLS = ("nlstm", "lstm", "gru")


def load(cell: str, *, retrain: bool = False, directory: str | Path | None = None, progress: bool = True) -> Run:
    """The ``cell`` model for the notebooks: shipped if present, else trained (or resumed) in ``directory``."""
    if smoke_mode():
        return load_or_train(get_preset("tiny", cell), cache_dir() / "smoke" / cell, progress=False)
    shipped = PRETRAINED_DIR / cell
    if not retrain and (shipped / checkpoint.CONFIG_FILE).exists():
        return load_run(shipped)
    directory = Path(directory) if directory is not None else Path("runs") / cell
    return load_or_train(get_preset("cpu", cell), directory, progress=progress)


def load_all(cells: tuple[str, ...] = ARTICLE_CELLS, **kwargs) -> dict[str, Run]:
    """``{cell: Run}`` for each of ``cells``."""
    return {cell: load(cell, **kwargs) for cell in cells}
