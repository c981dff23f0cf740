"""Training with optax, as the article trained: Adam 1e-3, masked cross entropy, no tricks.

(Madsen 2019, https://distill.pub/2019/memorization-in-rnns/.)

``train(config, directory)`` trains (resuming from the newest checkpoint in ``directory``),
``load_run(directory)`` restores a trained model, ``load_or_train`` does whichever applies.
Batches are a deterministic function of the seed and the step, so a resumed run ends with the
same parameters as an uninterrupted one. Batches are split over all local devices (data
parallelism with ``jax.sharding``); parameters are replicated.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas as pd
from flax import nnx
from jax.sharding import NamedSharding, PartitionSpec

from memviz import data
from memviz.models import registry
from memviz.models.model import AutocompleteModel, ModelConfig
from memviz.models.protocol import CharacterModel, check_vocabulary, logits_of
from memviz.training import checkpoint as ckpt
from memviz.training.loss import masked_cross_entropy
from memviz.training.presets import RunConfig


class TrainingDiverged(RuntimeError):
    """The loss or the gradient became NaN or infinite."""


@dataclasses.dataclass
class Run:
    """A trained (or restored) model with everything needed to analyse it."""

    model: CharacterModel  # memviz's AutocompleteModel, or a registered model of your own
    config: RunConfig
    history: pd.DataFrame  # model, dataset (train|valid), sec, step, loss
    step: int
    directory: Path | None = None

    def validation_loss(self, window: int = 5) -> pd.Series:
        """The logged validation loss by step, as a rolling mean over ``window`` logged values (one batch each)."""
        valid = self.history[self.history.dataset == "valid"].set_index("step").loss
        return valid.rolling(window, min_periods=1).mean()

    @property
    def name(self) -> str:
        """The model's display name, e.g. ``"Nested LSTM"``."""
        return self.config.model.display_name

    def dataset(self) -> data.Dataset:
        """The dataset (corpus, vocabulary, splits) this run was trained on."""
        return dataset_for(self.config)


def dataset_for(config: RunConfig) -> data.Dataset:
    """The dataset (corpus, vocabulary, splits) that ``config`` trains on."""
    tc = config.train
    return data.load_dataset(
        tc.corpus, vocab_size=tc.vocab_size, max_length=tc.max_length, article_vocab=tc.article_vocab
    )


def build_model(config: ModelConfig, seed: int) -> CharacterModel:
    """A freshly initialised model of ``config``, its parameters drawn from ``nnx.Rngs(seed)``: memviz's own
    :class:`AutocompleteModel` for its cells, a registered model's builder (:func:`memviz.register_model`) otherwise."""
    arch = registry.registered(config.cell)
    if arch is None:
        return AutocompleteModel(config, rngs=nnx.Rngs(seed))
    model = arch.build(config, nnx.Rngs(seed))
    _check_built(model, config)
    return model


def _check_built(model, config: ModelConfig) -> None:
    """A ``TypeError``/``ValueError`` unless a registered builder gave an NNX model of the protocol with the config's
    number of output words."""
    if not isinstance(model, nnx.Module) or not isinstance(model, CharacterModel):
        raise TypeError(
            f"the builder registered as {config.cell!r} returned {type(model).__name__}: it must return an nnx.Module "
            "with name, num_words, embedding_table() and logits_from_embedded() (memviz.models.protocol)"
        )
    check_vocabulary(model, config.num_words)


def batch_loss(model: CharacterModel, source: jax.Array, target: jax.Array) -> jax.Array:
    """Σ mask·CE / Σ mask over the whole batch, as TF's weighted mean reduction."""
    logits = model(source) if isinstance(model, AutocompleteModel) else logits_of(model, source)
    ce, mask = masked_cross_entropy(logits, target)
    return jnp.sum(ce * mask) / jnp.maximum(jnp.sum(mask), 1)


def batch_indices(n: int, batch_size: int, step: int, seed: int) -> np.ndarray:
    """Sequence indices of the batch at ``step``: a fresh seeded permutation each epoch, no partial batch."""
    per_epoch = n // batch_size
    epoch, offset = divmod(step, per_epoch)
    order = np.random.RandomState((seed + epoch) % 2**32).permutation(n)
    return order[offset * batch_size : (offset + 1) * batch_size]


def _optimizer(config: RunConfig) -> optax.GradientTransformation:
    # TF1's Adam applies ε to the uncorrected √v, optax after bias correction: a negligible difference.
    tc = config.train
    if tc.lr_schedule == "cosine":
        return optax.adam(optax.cosine_decay_schedule(tc.learning_rate, decay_steps=tc.steps))
    return optax.adam(tc.learning_rate)


def _all_finite(tree) -> jax.Array:
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]))


def _compile_steps(graphdef, tx: optax.GradientTransformation):
    # The state's buffers are donated: each step updates them in place instead of allocating a copy.
    @functools.partial(jax.jit, donate_argnums=(0, 1))
    def train_step(params, opt_state, diverged_at, step, source, target):
        """One Adam step; from the first step whose loss, gradient or new state is not finite, none is
        applied and ``diverged_at`` holds that step. Checked in the graph: no host sync per step."""
        loss, grads = jax.value_and_grad(lambda p: batch_loss(nnx.merge(graphdef, p), source, target))(params)
        updates, new_opt_state = tx.update(grads, opt_state, params)
        new_params = optax.apply_updates(params, updates)
        finite = _all_finite((loss, grads, new_params, new_opt_state))
        diverged_at = jnp.where((diverged_at == 0) & ~finite, step, diverged_at)

        def keep_if_diverged(new, old):
            return jnp.where(diverged_at > 0, old, new)

        params = jax.tree.map(keep_if_diverged, new_params, params)
        return params, jax.tree.map(keep_if_diverged, new_opt_state, opt_state), diverged_at, loss

    @jax.jit
    def eval_step(params, source, target):
        return batch_loss(nnx.merge(graphdef, params), source, target)

    return train_step, eval_step


class _Sharding:
    """Batch split along its first axis over every local device; parameters replicated."""

    def __init__(self, batch_size: int):
        devices = jax.local_devices()
        if batch_size % len(devices):
            raise ValueError(f"batch_size {batch_size} is not divisible by the {len(devices)} local devices")
        mesh = jax.sharding.Mesh(np.array(devices), ("data",))
        self.batch = NamedSharding(mesh, PartitionSpec("data"))
        self.replicated = NamedSharding(mesh, PartitionSpec())

    def put_batch(self, split: data.Split, idx: np.ndarray):
        """Rows ``idx`` of ``split`` as ``(source, target)``, ``(len(idx), max_length) int32`` sharded over the
        devices, and the number of characters they hold (before padding)."""
        source = np.asarray(split.source[idx], np.int32)
        target = np.asarray(split.target[idx], np.int32)
        return jax.device_put(source, self.batch), jax.device_put(target, self.batch), int(split.lengths[idx].sum())


def _diverged(diverged_at: jax.Array, config: RunConfig, directory: Path | None, saved_step: int | None):
    """Raise TrainingDiverged if a step diverged (``diverged_at > 0``); a host sync, so only at logged steps."""
    step = int(diverged_at)
    if not step:
        return
    kept = f"the last good checkpoint (step {saved_step}) is kept in {directory}" if saved_step else "nothing was saved"
    hint = "Lower the learning rate"
    if config.model.compute_dtype != "float32":
        hint += " or use compute_dtype='float32'"
    raise TrainingDiverged(
        f"training diverged at step {step}: the loss, the gradient or the updated parameters stopped being finite; "
        f"{kept}. {hint}."
    )


def _check_outputs(valid_loss: float, step: int, config: RunConfig, directory: Path | None, saved_step: int | None):
    """Raise TrainingDiverged when the parameters are finite but the model's outputs are not (a validation batch's
    loss is NaN or infinite): such a state is never saved, nor analysed."""
    if math.isfinite(valid_loss):
        return
    kept = f"the last good checkpoint (step {saved_step}) is kept in {directory}" if saved_step else "nothing was saved"
    raise TrainingDiverged(
        f"training diverged by step {step}: the parameters are finite but the model's outputs are not (a validation "
        f"batch's loss is {valid_loss}); {kept}. Lower the learning rate (it is {config.train.learning_rate:g})."
    )


def train(
    config: RunConfig,
    directory: str | Path | None = None,
    *,
    dataset: data.Dataset | None = None,
    progress: bool = True,
    on_log: Callable[[pd.DataFrame], None] | None = None,
) -> Run:
    """Train ``config``, resuming from the newest checkpoint in ``directory`` if there is one.

    Args:
      config: the run to train; must match the config saved in ``directory``, if any, and train at
        least as many steps as were already trained there.
      directory: where config, checkpoints and history go; None trains in memory only.
      dataset: a loaded dataset (default: load ``config.train``'s corpus).
      progress: show a progress bar (terminal and Jupyter) with loss, chars/s and ETA.
      on_log: called with the history so far at every logged step (e.g. to redraw a live chart).
    """
    tc = config.train
    directory = Path(directory) if directory is not None else None
    dataset = dataset or dataset_for(config)
    _check_dataset(dataset, config)
    model, saver, start, params, opt_state, train_step, logger, sharding = _start(config, directory, dataset)
    diverged_at = jnp.zeros((), jnp.int32)
    bar = _progress_bar(config, start, progress)
    clock, chars, elapsed0 = time.perf_counter(), 0, logger.elapsed()
    step = start

    def save(at: int) -> None:
        _diverged(diverged_at, config, directory, saver.step)  # never save a diverged state
        _check_outputs(logger.valid_loss(at, params), at, config, directory, saver.step)  # nor one that predicts NaN
        saver.save(at, {"params": params, "opt_state": opt_state}, logger.frame())

    try:
        for step in range(start + 1, tc.steps + 1):
            idx = batch_indices(len(dataset.train), tc.batch_size, step - 1, tc.seed)
            source, target, n_chars = sharding.put_batch(dataset.train, idx)
            params, opt_state, diverged_at, loss = train_step(params, opt_state, diverged_at, step, source, target)
            chars += n_chars
            sec = elapsed0 + time.perf_counter() - clock
            if logger.due(step):
                _diverged(diverged_at, config, directory, saver.step)
                valid = logger.log(step, sec, float(loss), params)
                if valid is not None:  # the divergence check reads the validation loss too
                    _check_outputs(valid, step, config, directory, saver.step)
                _report(bar, on_log, logger, float(loss), chars / max(sec - elapsed0, 1e-9))
            if bar is not None:
                bar.update(1)
            if step % tc.checkpoint_every == 0:
                save(step)
        save(step)
    except KeyboardInterrupt:
        save(step)  # keep what was trained; `train` again resumes from here
        raise
    finally:
        if bar is not None:
            bar.close()
    _diverged(diverged_at, config, directory, saver.step)
    nnx.update(model, jax.device_get(params))
    return Run(model, config, logger.frame(), step, directory)


def _start(config: RunConfig, directory: Path | None, dataset: data.Dataset):
    """What the training loop starts from: ``(model, saver, start step, params, optimiser state, the compiled
    train step, the logger, the sharding)``, resumed from ``directory``'s newest checkpoint if there is one."""
    sharding = _Sharding(config.train.batch_size)
    model = build_model(config.model, config.train.seed)
    graphdef, params = nnx.split(model, nnx.Param)
    tx = _optimizer(config)
    saver = _Saver(directory, config)
    start, params, opt_state, rows = saver.resume(params, tx.init(params))
    params = jax.device_put(params, sharding.replicated)
    opt_state = jax.device_put(opt_state, sharding.replicated)
    train_step, eval_step = _compile_steps(graphdef, tx)
    logger = _Logger(config, rows, eval_step, dataset.valid, sharding)
    return model, saver, start, params, opt_state, train_step, logger, sharding


def _report(bar, on_log, logger, loss: float, chars_per_s: float) -> None:
    """A logged step, shown: the progress bar's loss and speed, and ``on_log`` with the history so far."""
    if bar is not None:
        bar.set_postfix(loss=f"{loss:.3f}", chars_per_s=f"{chars_per_s:,.0f}")
    if on_log is not None:
        on_log(logger.frame())


class _Saver:
    """The run directory's side of training: refuse a mismatched run, resume, save history then checkpoint."""

    def __init__(self, directory: Path | None, config: RunConfig):
        self.directory, self.config = directory, config
        self.mngr: Any = None  # an orbax CheckpointManager when there is a directory
        self.step: int | None = None  # the newest checkpoint's step
        if directory is None:
            return
        ckpt.check_config(directory, config)
        self.mngr = ckpt.manager(directory, config.train.keep_checkpoints)
        trained = self.mngr.latest_step()
        if trained is not None and trained > config.train.steps:
            raise ckpt.CheckpointError(
                f"{directory} has already trained {trained} steps; to resume it, ask for at least that many "
                f"(steps={config.train.steps} was asked)"
            )
        ckpt.write_config(directory, config)

    def resume(self, params, opt_state) -> tuple[int, Any, Any, list[dict]]:
        """``(step, params, opt_state, history rows)`` of the newest checkpoint, or the fresh state at step 0."""
        if self.directory is None or self.mngr is None or self.mngr.latest_step() is None:
            return 0, params, opt_state, []
        step, items = ckpt.restore(self.mngr, {"params": params, "opt_state": opt_state})
        self.step = step
        history = ckpt.read_history(self.directory)
        # History is written before its checkpoint: rows past the checkpoint come from a run killed in between.
        rows = history[history.step <= step].to_dict("records")
        return step, items["params"], items["opt_state"], rows

    def save(self, step: int, items: dict[str, Any], history: pd.DataFrame) -> None:
        """Write ``history``, then checkpoint ``items`` at ``step``; nothing without a directory or when ``step``
        is already saved."""
        if self.directory is None or self.mngr is None or step == self.step:
            return
        ckpt.write_history(self.directory, history)  # first: a kill before the checkpoint only leaves rows to redo
        ckpt.save(self.mngr, step, items)
        self.step = step


class _Logger:
    """The loss history: the training loss every ``log_every`` steps, one validation batch every ``eval_every``."""

    def __init__(self, config: RunConfig, rows: list[dict], eval_step, valid: data.Split, sharding: _Sharding):
        self.config, self.rows, self.eval_step, self.valid, self.sharding = config, rows, eval_step, valid, sharding
        self._last: tuple[int, float] | None = None  # (step, validation loss) last computed: the parameters of a step

    def elapsed(self) -> float:
        """Seconds of training already logged (the latest ``sec``); 0.0 when there are no rows."""
        return float(max(row["sec"] for row in self.rows)) if self.rows else 0.0

    def due(self, step: int) -> bool:
        """True when ``step`` logs something: step 1 and every multiple of ``log_every`` or ``eval_every``."""
        tc = self.config.train
        return step == 1 or step % tc.log_every == 0 or step % tc.eval_every == 0

    def log(self, step: int, sec: float, loss: float, params) -> float | None:
        """Append the training ``loss`` (step 1, every ``log_every``) and one validation batch's loss under
        ``params`` (step 1, every ``eval_every``) at ``sec`` seconds; returns that validation loss, or None."""
        tc, name = self.config.train, self.config.model.display_name
        if step % tc.log_every == 0 or step == 1:
            self.rows.append({"model": name, "dataset": "train", "sec": sec, "step": step, "loss": loss})
        if step % tc.eval_every == 0 or step == 1:
            valid = self.valid_loss(step, params)
            self.rows.append({"model": name, "dataset": "valid", "sec": sec, "step": step, "loss": valid})
            return valid
        return None

    def valid_loss(self, step: int, params) -> float:
        """The loss of the validation batch of ``step`` (the same batch at every call) under ``params``, the
        parameters of that step: computed once per step (a checkpoint at a logged step reuses it)."""
        if self._last is not None and self._last[0] == step:
            return self._last[1]
        tc = self.config.train
        idx = batch_indices(len(self.valid), min(tc.batch_size, len(self.valid)), step - 1, tc.seed + 1)
        idx = idx[: len(idx) - len(idx) % len(jax.local_devices())]
        source, target, _ = self.sharding.put_batch(self.valid, idx)
        loss = float(self.eval_step(params, source, target))
        self._last = (step, loss)
        return loss

    def frame(self) -> pd.DataFrame:
        """The history so far, one row per logged loss, columns ``HISTORY_COLUMNS``."""
        return pd.DataFrame(self.rows, columns=ckpt.HISTORY_COLUMNS)


def _progress_bar(config: RunConfig, start: int, enabled: bool):
    if not enabled:
        return None
    from memviz.core.progress import progress_bar

    return progress_bar(
        total=config.train.steps, initial=start, desc=f"{config.model.display_name} ({config.preset})", unit="step"
    )


def _check_dataset(dataset: data.Dataset, config: RunConfig) -> None:
    tc = config.train
    if len(dataset.vocab) != config.model.num_words:
        raise ValueError(
            f"the dataset's vocabulary has {len(dataset.vocab)} classes but the model outputs {config.model.num_words}"
        )
    if len(dataset.train) < tc.batch_size:
        raise ValueError(
            f"the corpus is too small for one batch: {len(dataset.train)} training sequences < batch size "
            f"{tc.batch_size}; use a smaller batch_size or a larger corpus"
        )
    if len(dataset.valid) < len(jax.local_devices()):
        raise ValueError(f"the validation split has only {len(dataset.valid)} sequences; use a larger corpus")


def load_run(directory: str | Path) -> Run:
    """Restore the model saved in ``directory`` (its newest checkpoint), with config and history."""
    directory = Path(directory)
    config = ckpt.read_config(directory)
    if config is None:
        raise FileNotFoundError(f"{directory} holds no memviz run ({ckpt.CONFIG_FILE} is missing)")
    model = build_model(config.model, config.train.seed)
    _, params = nnx.split(model, nnx.Param)
    step, items = ckpt.restore(ckpt.manager(directory, config.train.keep_checkpoints), {"params": params})
    nnx.update(model, items["params"])
    history = ckpt.read_history(directory)
    # Rows past the checkpoint: a run killed between writing its history and its checkpoint.
    return Run(model, config, history[history.step <= step].reset_index(drop=True), step, directory)


def load_or_train(config: RunConfig, directory: str | Path, **kwargs) -> Run:
    """Restore the run in ``directory`` if it is complete, otherwise train (or resume) it."""
    directory = Path(directory)
    ckpt.check_config(directory, config)
    mngr = (
        ckpt.manager(directory, config.train.keep_checkpoints) if (directory / ckpt.CHECKPOINT_DIR).exists() else None
    )
    if mngr is not None and mngr.latest_step() == config.train.steps:
        return load_run(directory)
    return train(config, directory, **kwargs)
