"""Variants of the shipped models: other seeds, and the GRU and LSTM at the Nested LSTM's parameter count.

The shipped models are one training run each. Two questions need more runs than the 8 MB the project
ships for weights: how much a measure moves from one seed to another (beside its bootstrap interval over
test sequences, which only says how much it moves from one test set to another), and whether the models
differ because of their cells or because of their sizes. ``scripts/variants.py`` trains each variant of
:data:`VARIANTS` (its shipped ``cpu`` configuration with one change), measures it with :func:`measure`,
and ships only those measures, in ``data/variants/measures.csv`` (:func:`read`), beside each run's
``config.json``, ``history.csv`` and ``metrics.json``. Retraining reproduces them: training is
deterministic on one machine.

:func:`measure` gives, per model, with a 95 % bootstrap interval over test sequences: top-1 accuracy and
cross-entropy on the whole test split (:func:`memviz.evaluation.metrics.sequence_metrics`), and the four measures of
context use of notebook 07 (:func:`memviz.evaluation.context_use.context_use`) at :data:`SETTINGS`.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import numpy as np
import pandas as pd
from flax import nnx

from memviz import data
from memviz.analysis import interventions
from memviz.core.paths import DATA_DIR
from memviz.data import SEED
from memviz.evaluation import context_use, metrics, stats
from memviz.models.protocol import CharacterModel, FunctionModel
from memviz.training.presets import RunConfig, get_preset

VARIANTS_DIR = DATA_DIR / "variants"
MEASURES_FILE = VARIANTS_DIR / "measures.csv"

#: How the variants are measured: notebook 07's full-mode sizes (test sequences for the interventions,
#: sequences searched for repeated words, sequences whose connectivity is computed, characters typed).
SETTINGS = {"test_sequences": 64, "repeat_sequences": 400, "connectivity_sequences": 24, "max_chars": 6,
            "skip_most_frequent": 100, "swap_seed": 0}  # fmt: skip

#: The measures of :func:`measure`, in order: the two test metrics, then :func:`memviz.evaluation.context_use.context_use`'s.
MEASURES = (
    "test accuracy",
    "test cross-entropy",
    "in-word share",
    "reach beyond 2 words",
    "accuracy lost, cut to 0 words",
    "recall lost on repeats",
)


@dataclasses.dataclass(frozen=True)
class Variant:
    """The shipped ``cpu`` configuration of ``cell`` with ``changes`` (``train.seed``, ``model.hidden_features``)."""

    cell: str
    kind: str  # "seed" | "parameters"
    changes: tuple[tuple[str, Any], ...]

    def config(self) -> RunConfig:
        """The ``cpu`` preset of ``cell`` with ``changes`` applied (``embedding_features`` follows
        ``hidden_features``, as ``memviz train --hidden`` does), labelled ``cpu+custom``."""
        base = get_preset("cpu", self.cell)
        changes = dict(self.changes)
        model = {k.split(".")[1]: v for k, v in changes.items() if k.startswith("model.")}
        if "hidden_features" in model:
            model["embedding_features"] = model["hidden_features"]  # as `memviz train --hidden`
        train = {k.split(".")[1]: v for k, v in changes.items() if k.startswith("train.")}
        return dataclasses.replace(
            base,
            model=dataclasses.replace(base.model, **model),
            train=dataclasses.replace(base.train, **train),
            preset="cpu+custom",
        )

    def train_arguments(self) -> list[str]:
        """The ``memviz train`` arguments that make this run."""
        flags = {"train.seed": "--seed", "model.hidden_features": "--hidden"}
        return ["--cell", self.cell, "--preset", "cpu"] + [a for k, v in self.changes for a in (flags[k], str(v))]


#: Seed 1 of each shipped model (the shipped ones use ``memviz.data.SEED``; more seeds are one more entry each, about
#: 8 minutes of 2 idle CPU cores per run, seconds on a GPU), and the GRU and the LSTM
#: narrowed to within 1 % of the Nested LSTM's 1,387,458 parameters (shipped: GRU +4.8 %, LSTM +14.3 %).
VARIANTS: dict[str, Variant] = {
    "gru-248": Variant("gru", "parameters", (("model.hidden_features", 248),)),
    "lstm-232": Variant("lstm", "parameters", (("model.hidden_features", 232),)),
    # gru-248 learned slowly for its first 500 steps (near the unigram loss): a second seed tells size from start
    "gru-248-seed1": Variant("gru", "parameters", (("model.hidden_features", 248), ("train.seed", 1))),
    **{
        f"{cell}-seed{seed}": Variant(cell, "seed", (("train.seed", seed),))
        for seed in (1,)
        for cell in ("gru", "lstm", "nlstm")
    },
}


def seed_label(seed: int) -> str:
    """``"shipped seed"`` for :data:`memviz.data.SEED`, else ``"seed <n>"``."""
    return "shipped seed" if seed == SEED else f"seed {seed}"


def parameter_count(model: nnx.Module) -> int:
    """All trainable parameters of any Flax NNX model: the sizes of its ``nnx.Param`` leaves, summed (for memviz's
    models, the sum of :func:`memviz.models.model.parameter_counts`' parts; random-key counters and other state are
    not parameters), and the leaves of a :class:`~memviz.models.protocol.FunctionModel`'s ``params``."""
    params = jax.tree.leaves(nnx.state(model, nnx.Param))
    if isinstance(model, FunctionModel):  # its parameters are the pytree it was given
        params += jax.tree.leaves(model.params.get_value())
    return int(sum(np.size(leaf) for leaf in params))


def repeated_words(dataset: data.Dataset, settings: dict = SETTINGS) -> interventions.Swaps:
    """The repeated-word copies every variant is measured on (the same for all: they depend on the data only)."""
    counts = data.word_counts(dataset.train, len(dataset.vocab))
    return interventions.swap_earlier_occurrences(
        dataset.test[: settings["repeat_sequences"]],
        dataset.vocab,
        counts,
        skip_most_frequent=settings["skip_most_frequent"],
        seed=settings["swap_seed"],
    )


def measure(
    model: CharacterModel,
    dataset: data.Dataset,
    swaps: interventions.Swaps,
    settings: dict = SETTINGS,
    *,
    computed: context_use.Parts | None = None,
) -> pd.DataFrame:
    """Rows ``measure, value, low, high`` (:data:`MEASURES`) for one model; ``swaps`` from :func:`repeated_words`;
    ``computed``: its :class:`memviz.evaluation.context_use.Parts` where already computed."""
    per = metrics.sequence_metrics(model, dataset.test)
    trained = per["trained"] > 0
    rows = [
        ("test accuracy", stats.bootstrap_ratio(per["hits"], per["positions"])),
        ("test cross-entropy", stats.bootstrap_mean(per["loss"][trained] / per["trained"][trained])),
    ]
    frame = pd.DataFrame(
        [{"measure": name, "value": float(i.value), "low": float(i.low), "high": float(i.high)} for name, i in rows]
    )
    use = context_use.context_use(
        model,
        dataset.test[: settings["test_sequences"]],
        swaps,
        n_connectivity=settings["connectivity_sequences"],
        max_chars=settings["max_chars"],
        computed=computed,
    )
    return pd.concat([frame, use], ignore_index=True)


def describe(name: str, model: nnx.Module, config: RunConfig, step: int) -> dict:
    """The columns that name a measured run in ``measures.csv``."""
    variant = VARIANTS.get(name)
    return {
        "run": name,
        "cell": config.model.cell,
        "kind": variant.kind if variant else "shipped" if name.startswith("shipped-") else "matched accuracy",
        "seed": config.train.seed,
        "hidden": config.model.hidden_features,
        "parameters": parameter_count(model),
        "step": step,
    }


def read(path=None) -> pd.DataFrame:
    """The shipped measures: one row per (run, measure); runs named as in :data:`VARIANTS`, ``shipped-<cell>`` (the
    shipped models) or ``matched-<cell>`` (``data/pretrained/matched/``), with their ``kind``.

    Raises ``FileNotFoundError`` saying how to make the file when it is missing.
    """
    path = MEASURES_FILE if path is None else path
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing: `python scripts/variants.py train` then `python scripts/variants.py measure` make it"
        )
    frame = pd.read_csv(path)
    unknown = sorted(set(frame.measure) - set(MEASURES))
    if unknown:
        raise ValueError(f"{path} has unknown measures {unknown}; it was written by another memviz version")
    return frame


def seed_spread(frame: pd.DataFrame) -> pd.DataFrame:
    """Per cell and measure, over the shipped run and its seeds: the seeds' range and standard deviation beside the
    mean half-width of their bootstrap intervals (how much a measure moves between seeds, against how much it
    moves between test sets)."""
    seeds = frame[frame.kind.isin(["shipped", "seed"])]
    grouped = seeds.assign(half_width=(seeds.high - seeds.low) / 2).groupby(["cell", "measure"], sort=False)
    return grouped.agg(
        runs=("value", "size"),
        mean=("value", "mean"),
        low=("value", "min"),
        high=("value", "max"),
        seed_sd=("value", "std"),
        bootstrap_half_width=("half_width", "mean"),
    ).reset_index()
