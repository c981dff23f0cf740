"""Run directories: the config as JSON, Orbax checkpoints, and the loss history, side by side.

Layout of a run directory::

    config.json        the RunConfig (rebuilds the model on load)
    history.csv        model, dataset (train|valid), sec, step, loss — the article's CSV columns
    checkpoints/<step> Orbax checkpoints: {"params", "opt_state"}; the newest few are kept
    metrics.json       test metrics, when evaluated

Orbax writes each checkpoint to a temporary directory and renames it when complete, so a crash
mid-save leaves the previous checkpoint usable; config and history are written the same way.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp
import pandas as pd

from memviz.presets import RunConfig

CONFIG_FILE = "config.json"
HISTORY_FILE = "history.csv"
METRICS_FILE = "metrics.json"
CHECKPOINT_DIR = "checkpoints"
HISTORY_COLUMNS = ["model", "dataset", "sec", "step", "loss"]


class CheckpointError(RuntimeError):
    """A checkpoint exists but cannot be used (unreadable, or of another configuration)."""


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` via a temporary file and a rename: never a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(tmp, path)


def read_config(directory: str | Path) -> RunConfig | None:
    """The run's saved config, or None if the directory holds no run."""
    path = Path(directory) / CONFIG_FILE
    if not path.exists():
        return None
    try:
        return RunConfig.from_json(path.read_text())
    except (ValueError, KeyError, TypeError) as err:
        raise CheckpointError(f"{path} is not a valid memviz run config ({err}); fix or remove it") from err


def check_config(directory: str | Path, config: RunConfig) -> None:
    """Raise CheckpointError naming every field where ``config`` differs from the run saved in ``directory``."""
    saved = read_config(directory)
    if saved is None:
        return
    diffs = saved.differences(config)
    if diffs:
        raise CheckpointError(
            f"{directory} holds a run with another configuration; fields that differ (saved -> requested):\n  "
            + "\n  ".join(diffs)
            + "\nUse another output directory, or load it with its own config (memviz.train.load_run)."
        )


def write_config(directory: str | Path, config: RunConfig) -> None:
    atomic_write_text(Path(directory) / CONFIG_FILE, config.to_json())


def write_history(directory: str | Path, history: pd.DataFrame) -> None:
    atomic_write_text(Path(directory) / HISTORY_FILE, history.to_csv(index=False))


def read_history(directory: str | Path) -> pd.DataFrame:
    path = Path(directory) / HISTORY_FILE
    if not path.exists():
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    return pd.read_csv(path)


def write_metrics(directory: str | Path, metrics: dict[str, Any]) -> None:
    atomic_write_text(Path(directory) / METRICS_FILE, json.dumps(metrics, indent=2, sort_keys=True))


def read_metrics(directory: str | Path) -> dict[str, Any] | None:
    path = Path(directory) / METRICS_FILE
    return json.loads(path.read_text()) if path.exists() else None


def manager(directory: str | Path, keep: int = 3) -> ocp.CheckpointManager:
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=True)
    return ocp.CheckpointManager(Path(directory).resolve() / CHECKPOINT_DIR, options=options)


def save(mngr: ocp.CheckpointManager, step: int, items: dict[str, Any]) -> None:
    """Save named pytrees of arrays (e.g. ``params``, ``opt_state``) at ``step``; wait until committed."""
    mngr.save(step, args=ocp.args.Composite(**{k: ocp.args.StandardSave(v) for k, v in items.items()}), force=True)
    mngr.wait_until_finished()


def restore(mngr: ocp.CheckpointManager, like: dict[str, Any], step: int | None = None) -> tuple[int, dict[str, Any]]:
    """Restore the named items of ``like`` from the checkpoint at ``step`` (default: the newest).

    Only the items named in ``like`` are read (a model needs ``params`` only; resuming also needs
    ``opt_state``); arrays come back in ``like``'s dtypes.

    A checkpoint that can't be read, or whose arrays don't fit ``like``, is an error: never a
    silent re-initialisation.
    """
    step = mngr.latest_step() if step is None else step
    if step is None:
        raise CheckpointError(f"no checkpoint in {mngr.directory}")
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, like)
    try:
        args = ocp.args.Composite(**{k: ocp.args.StandardRestore(v) for k, v in abstract.items()})
        restored = dict(mngr.restore(step, args=args))
    except Exception as err:  # orbax raises many types for corrupt or mismatched data
        raise CheckpointError(
            f"checkpoint {mngr.directory / str(step)} could not be restored: {type(err).__name__}: {err}\n"
            "It may be corrupt or from another configuration. Delete that step's folder to fall back to an "
            "earlier checkpoint, or train into a new directory."
        ) from err
    _check_shapes(abstract, restored, mngr.directory / str(step))
    return step, restored


def _check_shapes(abstract, restored, where: Path) -> None:
    for want, got in zip(jax.tree.leaves(abstract), jax.tree.leaves(restored)):
        if tuple(want.shape) != tuple(np.shape(got)):
            raise CheckpointError(f"checkpoint {where} holds an array of shape {np.shape(got)} where {want.shape} was expected")
