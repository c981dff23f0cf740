"""Models side by side on notebook 07's measures of context use, with intervals, and sentences read from them.

:func:`compare` measures each model (any :class:`~memviz.models.protocol.CharacterModel`: memviz's units, a
Transformer, a model of your own) with :func:`memviz.evaluation.variants.measure` on one dataset, adds the far
reach of its connectivity on the article's own sentence, and returns one tidy table. :func:`ranking` and
:func:`versus` turn that table into Markdown sentences that change with the numbers: a notebook states them
instead of typing a reading that retraining could make false.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from memviz import data
from memviz.analysis import connectivity, shares
from memviz.data import reference
from memviz.evaluation import stats, variants
from memviz.models.protocol import CharacterModel

#: The measure added to :data:`memviz.evaluation.variants.MEASURES`: one sentence, so no interval.
FAR_REACH = "far reach, article's sentence"
#: Whether more is more context use (True) or less (False), for the sentences.
MORE_IS_MORE = {
    "test accuracy": True,
    "test cross-entropy": False,
    "in-word share": False,
    "reach beyond 2 words": True,
    "accuracy lost, cut to 0 words": True,
    "recall lost on repeats": True,
    FAR_REACH: True,
}


def compare(
    models: Mapping[str, CharacterModel], dataset: data.Dataset, settings: dict = variants.SETTINGS
) -> pd.DataFrame:
    """Rows ``model, measure, value, low, high``: :func:`memviz.evaluation.variants.measure` of each model at
    ``settings`` (every model on the same sequences and the same repeated words), plus :data:`FAR_REACH`."""
    swaps = variants.repeated_words(dataset, settings)
    frames = []
    for name, model in models.items():
        frame = variants.measure(model, dataset, swaps, settings)
        sentence = connectivity.compute_connectivity(model, reference.SAMPLE_TEXT, dataset.vocab)
        far = pd.DataFrame([{"measure": FAR_REACH, "value": shares.result_far_reach(sentence)}])
        frames.append(pd.concat([frame, far], ignore_index=True).assign(model=name))
    return pd.concat(frames, ignore_index=True)[["model", "measure", "value", "low", "high"]]


def table(frame: pd.DataFrame, fmt: str = ".3f") -> pd.DataFrame:
    """:func:`compare`'s rows as a models × measures table of ``"value [low, high]"`` strings."""

    def cell(row) -> str:
        if pd.isna(row.low):
            return f"{row.value:{fmt}}"
        return f"{row.value:{fmt}} [{row.low:{fmt}}, {row.high:{fmt}}]"

    cells = frame.assign(text=frame.apply(cell, axis=1))
    wide = cells.pivot(index="model", columns="measure", values="text")
    return wide.loc[list(dict.fromkeys(frame.model)), [m for m in dict.fromkeys(frame.measure)]]


def _row(frame: pd.DataFrame, model: str, measure: str):
    rows = frame[(frame.model == model) & (frame.measure == measure)]
    if rows.empty:
        raise KeyError(f"no {measure!r} for {model!r} in the comparison")
    return rows.iloc[0]


def versus(frame: pd.DataFrame, measure: str, a: str, b: str, fmt: str = ".3f") -> str:
    """A Markdown clause comparing model ``a`` with ``b`` on ``measure``: "higher than", "lower than" or "not
    clearly different from" by their 95 % intervals (a measure without intervals is only "higher"/"lower", and
    says it has none)."""
    ra, rb = _row(frame, a, measure), _row(frame, b, measure)
    if pd.isna(ra.low) or pd.isna(rb.low):
        word = "higher than" if ra.value > rb.value else "lower than" if ra.value < rb.value else "equal to"
        return f"the {a}'s {measure} ({ra.value:{fmt}}) is {word} the {b}'s ({rb.value:{fmt}}; one text, no interval)"
    if stats.overlap(ra, rb):
        word = "not clearly different from"
    else:
        word = "higher than" if ra.value > rb.value else "lower than"
    return (
        f"the {a}'s {measure} ({ra.value:{fmt}} [{ra.low:{fmt}}, {ra.high:{fmt}}]) is {word} the {b}'s "
        f"({rb.value:{fmt}} [{rb.low:{fmt}}, {rb.high:{fmt}}])"
    )


def ranking(frame: pd.DataFrame, measure: str) -> list[str]:
    """The models by ``measure``, the most context use (or accuracy) first (:data:`MORE_IS_MORE`)."""
    rows = frame[frame.measure == measure]
    return list(rows.sort_values("value", ascending=not MORE_IS_MORE.get(measure, True)).model)
