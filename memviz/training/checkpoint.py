"""Run directories: the config as JSON, Orbax checkpoints, and the loss history, side by side.

Layout of a run directory::

    config.json        the RunConfig (rebuilds the model on load)
    history.csv        model, dataset (train|valid), sec, step, loss — the article's CSV columns
    checkpoints/<step> Orbax checkpoints: {"params", "opt_state"}; the newest few are kept
    metrics.json       test metrics, when evaluated

Orbax writes each checkpoint to a temporary directory and renames it when complete, so a crash
mid-save leaves the previous checkpoint usable; config and history are written the same way
(:func:`memviz.core.files.atomic_file`). A checkpoint holds finite numbers only: training never saves a
diverged state, and restoring one is an error.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import traceback
import warnings
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import orbax.checkpoint as ocp
import pandas as pd
from flax import nnx

from memviz.core.files import write_text
from memviz.models import registry
from memviz.training.presets import RunConfig

CONFIG_FILE = "config.json"
HISTORY_FILE = "history.csv"
METRICS_FILE = "metrics.json"
CHECKPOINT_DIR = "checkpoints"
HISTORY_COLUMNS = ["model", "dataset", "sec", "step", "loss"]


class CheckpointError(RuntimeError):
    """A checkpoint exists but cannot be used (unreadable, or of another configuration)."""


def read_config(directory: str | Path) -> RunConfig | None:
    """The run's saved config, or None if the directory holds no run."""
    path = Path(directory) / CONFIG_FILE
    if not path.exists():
        return None
    try:
        return RunConfig.from_json(path.read_text())
    except registry.UnknownModel as err:
        raise CheckpointError(
            f"{path.parent} is a run of the model {err.name!r}, which is not registered in this session: register "
            f"its builder first (memviz.register_model({err.name!r}, build)), then load it"
        ) from err
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
            + "\nUse another output directory, or load it with its own config (memviz.training.train.load_run)."
        )


def write_config(directory: str | Path, config: RunConfig) -> None:
    """Write ``config`` as JSON to the run's ``config.json``, atomically."""
    write_text(Path(directory) / CONFIG_FILE, config.to_json())


def write_history(directory: str | Path, history: pd.DataFrame) -> None:
    """Write the loss history to the run's ``history.csv``, atomically."""
    write_text(Path(directory) / HISTORY_FILE, history.to_csv(index=False))


def read_history(directory: str | Path) -> pd.DataFrame:
    """The run's loss history (columns ``HISTORY_COLUMNS``); an empty frame when there is no ``history.csv``."""
    path = Path(directory) / HISTORY_FILE
    if not path.exists():
        return pd.DataFrame(columns=HISTORY_COLUMNS)
    return pd.read_csv(path)


def write_metrics(directory: str | Path, metrics: dict[str, Any]) -> None:
    """Write ``metrics`` to the run's ``metrics.json`` (sorted keys), atomically, replacing what it held."""
    write_text(Path(directory) / METRICS_FILE, json.dumps(metrics, indent=2, sort_keys=True))


def read_metrics(directory: str | Path) -> dict[str, Any] | None:
    """The run's ``metrics.json``, or None if it has none."""
    path = Path(directory) / METRICS_FILE
    return json.loads(path.read_text()) if path.exists() else None


def manager(directory: str | Path, keep: int = 3) -> ocp.CheckpointManager:
    """An Orbax manager of ``directory/checkpoints`` (created if missing) that keeps the newest ``keep``."""
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

    A checkpoint that can't be read, or whose arrays don't fit ``like``, is a :class:`CheckpointError`
    (never a silent re-initialisation): a short message naming the run and the step, what is wrong and
    what to do, with orbax's own error chained as its cause.
    """
    step = mngr.latest_step() if step is None else step
    if step is None:
        raise CheckpointError(f"no checkpoint in {mngr.directory}")
    where = Path(str(mngr.directory)) / str(step)
    _check_items(like, where)
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, like)
    # Compare shapes before reading: a restore that fails midway leaves reads in flight, whose callbacks
    # then print "Event loop is closed" tracebacks after the error.
    _check_shapes(abstract, where)
    _silence_failed_read_echoes()
    try:
        args = ocp.args.Composite(**{k: ocp.args.StandardRestore(v) for k, v in abstract.items()})
        restored = dict(mngr.restore(step, args=args))
    except Exception as err:  # orbax raises many types for corrupt data
        raise damaged(where, err) from err
    _check_finite(restored, where)
    return step, restored


def damaged(where: Path, err: BaseException) -> CheckpointError:
    """The error for the checkpoint folder ``where`` (``<run>/checkpoints/<step>``) that could not be read because of
    ``err``: one sentence naming the run and the step, with what to do (orbax's message, with its TensorStore spec
    of several KB, stays in ``err``, to chain as the cause)."""
    run, step = where.parent.parent, where.name
    return CheckpointError(
        f"the checkpoint at step {step} of the run in {run} is damaged: it could not be restored "
        f"({type(err).__name__} while reading it). Delete its folder {where} to resume from an earlier checkpoint, "
        "or train the run again."
    )


def _from_orbax(exc: BaseException | None) -> bool:
    """Whether ``exc`` is an echo of a failed read: raised in orbax's or TensorStore's code, or the closed-loop
    error of a TensorStore read that finished after orbax's event loop closed (``call_soon_threadsafe`` called
    from TensorStore's C++ thread, with no Python caller)."""
    if exc is None:
        return False
    frames = traceback.extract_tb(exc.__traceback__)
    if isinstance(exc, RuntimeError) and "Event loop is closed" in str(exc):
        return bool(frames) and frames[0].name == "call_soon_threadsafe"
    return "tensorstore" in str(exc).lower() or any(
        "orbax" in frame.filename or "tensorstore" in frame.filename for frame in frames
    )


def _not_an_echo(record: logging.LogRecord) -> bool:
    """A logging filter: drop asyncio's ``... exception was never retrieved`` about a failed read of orbax."""
    echo = "exception was never retrieved" in record.getMessage()
    return not (echo and record.exc_info is not None and _from_orbax(record.exc_info[1]))


_echoes_silenced = False


def _silence_failed_read_echoes() -> None:
    """Keep the reads that a failed restore leaves in flight quiet: when they end, after orbax closed its event
    loop, they report ``Event loop is closed`` (to ``sys.unraisablehook``) and asyncio logs their unretrieved
    errors, each with a TensorStore spec of several KB, at any later moment. Only those echoes are dropped (the
    error itself is raised as usual); installed once per process."""
    global _echoes_silenced
    if _echoes_silenced:
        return
    _echoes_silenced = True
    previous = sys.unraisablehook

    def hook(unraisable) -> None:
        if not _from_orbax(unraisable.exc_value):
            previous(unraisable)

    sys.unraisablehook = hook
    logging.getLogger("asyncio").addFilter(_not_an_echo)
    # a read coroutine of the failed restore, dropped unawaited when its loop closed (seen under load)
    warnings.filterwarnings("ignore", message=r"coroutine 'Store\._\w+' was never awaited", category=RuntimeWarning)


def saved_items(directory: str | Path, step: int | None = None) -> set[str]:
    """The items (``params``, ``opt_state``) saved in the run's checkpoint at ``step`` (default: the newest);
    empty when there is none."""
    steps = checkpoint_steps(directory)
    step = steps[-1] if step is None and steps else step
    where = Path(directory) / CHECKPOINT_DIR / str(step)
    return {p.name for p in where.iterdir() if p.is_dir()} if step is not None and where.is_dir() else set()


def checkpoint_steps(directory: str | Path) -> list[int]:
    """The steps of the checkpoints in ``directory`` (a run directory), in increasing order."""
    folder = Path(directory) / CHECKPOINT_DIR
    return sorted(int(p.name) for p in folder.iterdir() if p.name.isdigit() and p.is_dir()) if folder.is_dir() else []


def run_kind(directory: str | Path) -> str | None:
    """What ``directory`` holds: ``"training"`` (checkpoints with the optimiser state: it can be resumed),
    ``"export"`` (the parameters only, :func:`export_params`: it loads but does not resume, as the shipped
    models), or None (no checkpoint)."""
    items = saved_items(directory)
    if not items:
        return None
    return "training" if "opt_state" in items else "export"


def _check_items(like: dict[str, Any], where: Path) -> None:
    """Raise CheckpointError when the checkpoint at ``where`` lacks an item of ``like`` (an exported run, which
    holds the parameters only, asked for its optimiser state to resume)."""
    if not where.is_dir():
        return  # the restore reports it
    saved = {p.name for p in where.iterdir() if p.is_dir()}
    missing = sorted(set(like) - saved)
    if not missing:
        return
    run = where.parent.parent
    if saved == {"params"}:
        raise CheckpointError(
            f"{run} holds an exported model (the parameters only, step {where.name}): it loads for analysis "
            "(memviz.training.pretrained.load_run) but cannot be resumed; train into a new directory instead."
        )
    raise CheckpointError(
        f"the checkpoint at step {where.name} of the run in {run} lacks {', '.join(missing)} (it holds "
        f"{', '.join(sorted(saved)) or 'nothing'}): it is damaged or not a memviz checkpoint. Delete its folder "
        f"{where} to resume from an earlier checkpoint, or train the run again."
    )


def _saved_shapes(where: Path, item: str) -> dict[str, tuple[int, ...]] | None:
    """``{path: shape}`` of the arrays saved under ``item`` at ``where``, None if the metadata can't be read."""
    try:
        reader = ocp.PyTreeCheckpointHandler()  # reads the tree's metadata only (no arrays), quietly
        try:
            tree = reader.metadata(where / item)
        finally:
            reader.close()
    except Exception:  # unreadable metadata: the restore itself reports it
        return None
    shapes = {jax.tree_util.keystr(p, simple=True, separator="/"): tuple(m.shape) for p, m in _leaves(tree)}
    return shapes or None  # no arrays listed: damaged metadata, which the restore reports


def _leaves(tree):
    return jax.tree_util.tree_flatten_with_path(tree)[0]


def _check_shapes(abstract: dict[str, Any], where: Path) -> None:
    """Raise CheckpointError listing the arrays whose saved shape differs from the one ``abstract`` expects."""
    wrong = []
    for item, like in abstract.items():
        saved = _saved_shapes(where, item)
        if saved is None:
            continue
        wanted = {jax.tree_util.keystr(p, simple=True, separator="/"): tuple(a.shape) for p, a in _leaves(like)}
        for name in sorted(saved.keys() | wanted.keys()):
            if saved.get(name) != wanted.get(name):
                wrong.append(
                    f"{item}/{name}: saved {saved.get(name, 'nothing')}, expected {wanted.get(name, 'nothing')}"
                )
    if wrong:
        shown = "\n  ".join(wrong[:6]) + (f"\n  ... and {len(wrong) - 6} more" if len(wrong) > 6 else "")
        raise CheckpointError(
            f"checkpoint {where} is of another configuration; arrays that differ:\n  {shown}\n"
            "Load it with the config saved beside it (memviz.training.train.load_run), or train into a new directory."
        )


def _check_finite(restored: dict[str, Any], where: Path) -> None:
    bad = sum(int(np.size(x) - np.isfinite(x).sum()) for x in jax.tree.leaves(restored)
              if np.issubdtype(np.asarray(x).dtype, np.inexact))  # fmt: skip
    if bad:
        raise CheckpointError(
            f"checkpoint {where} holds {bad:,} non-finite numbers (NaN or infinity): it is from a diverged run.\n"
            "Delete that step's folder to fall back to an earlier checkpoint, or train again with a lower "
            "learning rate."
        )


def export_params(run, directory: str | Path, dtype=jnp.float16, *, overwrite: bool = False) -> None:
    """Write a compact, params-only copy of a :class:`memviz.training.train.Run` (config, history, metrics, half-precision weights).

    A directory that already holds checkpoints is refused unless ``overwrite`` (then they are replaced:
    an older export at a higher step would otherwise stay the one that loads).
    """
    directory = Path(directory)
    existing = directory / CHECKPOINT_DIR
    if existing.exists() and any(existing.iterdir()):
        if not overwrite:
            raise FileExistsError(f"{directory} already holds checkpoints; pass overwrite=True to replace them")
        shutil.rmtree(existing)
    write_config(directory, run.config)
    write_history(directory, run.history)
    if run.directory is not None and (metrics := read_metrics(run.directory)) is not None:
        write_metrics(directory, metrics)
    _, params = nnx.split(run.model, nnx.Param)
    save(manager(directory, 1), run.step, {"params": jax.tree.map(lambda x: x.astype(dtype), params)})
