"""Run configurations: frozen dataclasses, saved as JSON beside every checkpoint and rebuilt from it.

A run is a ``RunConfig``: the model architecture (``ModelConfig``) and how it is trained
(``TrainConfig``). Presets name the configurations the project uses; vary one with
``dataclasses.replace``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any

from memviz.data import SEED
from memviz.models import registry
from memviz.models.cells import CELLS
from memviz.models.model import ARTICLE_MODELS, ModelConfig


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """How a model is trained (the article's code trained with Adam 1e-3 on batches of 64)."""

    corpus: str = "austen"  # memviz.data.corpora name: austen | text8
    vocab_size: int = 4096  # words in the output vocabulary, besides <eos> and <unknown>
    article_vocab: bool = False  # text8 only: use the article's exact word list (data/distill-2019)
    max_length: int = 200  # characters per sequence (whole words only)
    batch_size: int = 64  # sequences per step (the article: 64)
    steps: int = 14_278  # optimisation steps (the article: 2 epochs of 7,139 batches)
    learning_rate: float = 1e-3  # Adam with default betas/eps, no clipping (the article)
    lr_schedule: str = "constant"  # constant (the article) | cosine: decays to 0 at `steps` (fixed-budget runs)
    seed: int = SEED  # initialisation and batch order
    eval_every: int = 10  # log the loss of one validation batch every this many steps (the article: every step)
    log_every: int = 10  # record the training loss in the history every this many steps
    checkpoint_every: int = 500  # steps between checkpoints (and always at the end)
    keep_checkpoints: int = 3  # how many recent checkpoints to keep

    def __post_init__(self):
        for name in (
            "vocab_size",
            "max_length",
            "batch_size",
            "steps",
            "eval_every",
            "log_every",
            "checkpoint_every",
            "keep_checkpoints",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")
        if not self.learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, not {self.learning_rate}")
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"unknown lr_schedule {self.lr_schedule!r}; choose one of {', '.join(LR_SCHEDULES)}")


#: Learning-rate schedules: ``constant`` as the article trained; ``cosine`` decays to zero over ``steps``.
LR_SCHEDULES = ("constant", "cosine")


#: Fields a resumed run may change: they set how long and how often, not what is trained.
RESUMABLE_FIELDS = frozenset({"train.steps", "train.checkpoint_every", "train.keep_checkpoints"})


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything needed to rebuild a trained model: architecture, training, and the preset's name."""

    model: ModelConfig
    train: TrainConfig
    preset: str = "custom"

    def __post_init__(self):
        if self.model.num_words != self.train.vocab_size + 2:
            raise ValueError(
                f"model.num_words ({self.model.num_words}) must be train.vocab_size + 2 "
                f"({self.train.vocab_size + 2}: <eos>, <unknown> and the vocabulary)"
            )

    def to_json(self) -> str:
        """The config as indented JSON with sorted keys (read back by :meth:`from_json`)."""
        return json.dumps(dataclasses.asdict(self), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, blob: dict[str, Any]) -> RunConfig:
        """From the layout of :meth:`to_json`, parsed; a missing ``preset`` is ``"custom"``."""
        return cls(
            model=ModelConfig(**blob["model"]), train=TrainConfig(**blob["train"]), preset=blob.get("preset", "custom")
        )

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        """From the text written by :meth:`to_json`."""
        return cls.from_dict(json.loads(text))

    def differences(self, other: RunConfig) -> list[str]:
        """Fields that differ and change what is trained, as ``section.field: self -> other`` lines.

        The schedule fields (``RESUMABLE_FIELDS``: how long, how often to save) may differ: a run
        can be resumed to train for longer, unless its learning rate decays over ``steps``.
        """
        resumable = RESUMABLE_FIELDS
        if {self.train.lr_schedule, other.train.lr_schedule} != {"constant"}:
            resumable = resumable - {"train.steps"}  # the decay is laid out over `steps`: changing it changes the run
        lines = []
        for section in ("model", "train"):
            mine, theirs = dataclasses.asdict(getattr(self, section)), dataclasses.asdict(getattr(other, section))
            lines += [
                f"{section}.{k}: {mine[k]!r} -> {theirs[k]!r}"
                for k in mine
                if mine[k] != theirs[k] and f"{section}.{k}" not in resumable
            ]
        return lines


def _article(cell: str) -> RunConfig:
    return RunConfig(
        model=ARTICLE_MODELS[cell],
        train=TrainConfig(corpus="text8", vocab_size=16_384, article_vocab=True, batch_size=64, steps=14_278),
        preset="article",
    )


def _cpu(cell: str) -> RunConfig:
    # Sized so that each model trains on `austen` in at most 10 minutes on a 2-core CPU, whole
    # `memviz train` process included (benchmarks/results/train_throughput_cpu.md). One layer: a second
    # layer costs more time than it returns at this budget. The output layer dominates the cost, hence
    # the 4,096-word vocabulary. The length follows each cell's step time (the LSTM's is the slowest);
    # Adam at 5e-3 with a cosine decay to zero learns the most in that budget (the article: constant 1e-3;
    # sweep in benchmarks/results/train_throughput_h200.md).
    # A model of your own (memviz.register_model) gets the GRU's width and length.
    hidden = {"rnn": 256, "gru": 256, "lstm": 256, "nlstm": 192}.get(cell, 256)
    steps = {"rnn": 1200, "gru": 1200, "lstm": 1000, "nlstm": 1100}.get(cell, 1200)
    return RunConfig(
        model=ModelConfig(cell=cell, num_layers=1, hidden_features=hidden, embedding_features=hidden, num_words=4098),
        train=TrainConfig(
            corpus="austen",
            vocab_size=4096,
            batch_size=32,
            steps=steps,
            learning_rate=5e-3,
            lr_schedule="cosine",
            checkpoint_every=250,
        ),
        preset="cpu",
    )


def _tiny(cell: str) -> RunConfig:
    # For tests and the notebooks' smoke mode (MEMVIZ_SMOKE=1): seconds, not minutes.
    return RunConfig(
        model=ModelConfig(cell=cell, num_layers=1, hidden_features=32, embedding_features=16, num_words=514),
        train=TrainConfig(
            corpus="austen",
            vocab_size=512,
            batch_size=8,
            steps=4,
            eval_every=2,
            log_every=1,
            checkpoint_every=2,
            max_length=200,
        ),
        preset="tiny",
    )


PRESETS = {"article": _article, "cpu": _cpu, "tiny": _tiny}


def get_preset(name: str, cell: str) -> RunConfig:
    """The configuration of preset ``name`` for the cell ``cell``: one of memviz's cells, or a model registered with
    :func:`memviz.register_model` (the GRU's width and length, then the registered ``defaults``)."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    if cell not in CELLS and registry.registered(cell) is None:
        raise ValueError(
            f"unknown cell {cell!r}; choose one of {', '.join(sorted(CELLS))}, or register your own model under "
            "that name first (memviz.register_model)"
        )
    if name == "article" and cell not in ARTICLE_MODELS:
        raise ValueError(f"the article trained only {', '.join(ARTICLE_MODELS)}; cell {cell!r} has no article preset")
    config = PRESETS[name](cell)
    arch = registry.registered(cell)
    if arch is not None and arch.defaults:
        config = dataclasses.replace(config, model=dataclasses.replace(config.model, **dict(arch.defaults)))
    return config


def smoke_mode() -> bool:
    """True when ``MEMVIZ_SMOKE`` is set: notebooks and scripts switch to tiny configurations."""
    return os.environ.get("MEMVIZ_SMOKE", "") not in ("", "0", "false", "False")


def pick(full, smoke):
    """``smoke`` in smoke mode (``MEMVIZ_SMOKE=1``), else ``full``: the size of a notebook's work."""
    return smoke if smoke_mode() else full
