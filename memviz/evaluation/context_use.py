"""One model's use of context in four numbers, each with a bootstrap interval over test sequences.

For comparing models (e.g. at matched accuracy): the connectivity measures of the article and notebook 06
beside the interventions of :mod:`memviz.analysis.interventions`.

* ``in-word share``: mean share of connectivity inside the current word (known targets, all positions);
* ``reach beyond 2 words``: mean share of connectivity on the characters a cut to 2 words would remove;
* ``accuracy lost, cut to 0 words``: top-1 accuracy (0 … ``max_chars`` characters typed) lost when the model
  sees only the current word;
* ``recall lost on repeats``: top-1 accuracy (0–2 characters typed) lost on a repeated word when its
  earlier occurrence is replaced (:func:`memviz.analysis.interventions.swap_earlier_occurrences`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import pandas as pd

from memviz import data
from memviz.analysis import connectivity, interventions, shares
from memviz.evaluation import intervals, stats
from memviz.models.protocol import CharacterModel


def effective_context(losses: Mapping[int, stats.Interval], beyond: str = "more than 8") -> int | str:
    """The fewest words of context (a key of ``losses``: words kept -> accuracy lost against the whole context,
    e.g. :func:`memviz.evaluation.intervals.accuracy_lost` of each cut) whose loss is not clear (its interval reaches
    0); ``beyond`` when every cut loses clearly."""
    return next((k for k in sorted(losses) if losses[k].low <= 0), beyond)


class Parts(NamedTuple):
    """What :func:`context_use` computes before it counts: pass them when already computed (notebook 07 has them
    for its models from sections 1–3), and nothing is run twice."""

    matrices: list[np.ndarray]  # connectivity of the first n_connectivity sequences, cropped to their lengths
    full: np.ndarray  # interventions.predict_cut(model, split, None) ids
    alone: np.ndarray  # interventions.predict_cut(model, split, 0) ids
    repeat_original: np.ndarray  # interventions.repeat_predictions(model, swaps) ids, original text
    repeat_swapped: np.ndarray  # … and with the earlier occurrence replaced


def parts(model: CharacterModel, split: data.Split, swaps: interventions.Swaps, *, n_connectivity: int) -> Parts:
    """The :class:`Parts` of one model (any :class:`~memviz.models.protocol.CharacterModel`), computed."""
    matrices = [
        connectivity.connectivity_matrix(model, split.source[i], split.target[i])[
            : split.lengths[i], : split.lengths[i]
        ]
        for i in range(min(n_connectivity, len(split)))
    ]
    full, _ = interventions.predict_cut(model, split, None)
    alone, _ = interventions.predict_cut(model, split, 0)
    ids_a, ids_b, _, _ = interventions.repeat_predictions(model, swaps)
    return Parts(matrices, full, alone, ids_a, ids_b)


def context_use(
    model: CharacterModel,
    split: data.Split,
    swaps: interventions.Swaps,
    *,
    n_connectivity: int,
    max_chars: int = 6,
    computed: Parts | None = None,
) -> pd.DataFrame:
    """Rows ``measure, value, low, high`` for one model (see the module docstring); ``split`` holds the test
    sequences (connectivity uses its first ``n_connectivity``), ``swaps`` repeated-word copies of any split;
    ``computed``: the model's :class:`Parts` where already computed."""
    computed = computed or parts(model, split, swaps, n_connectivity=n_connectivity)
    if len(computed.matrices) != min(n_connectivity, len(split)):
        raise ValueError(f"computed has {len(computed.matrices)} connectivity matrices, not {n_connectivity}")
    in_word, beyond = [], []
    for i, matrix in enumerate(computed.matrices):
        n = len(matrix)
        known = split.target[i, :n] > data.UNKNOWN_ID
        in_word.append(np.nanmean(1 - shares.share_before_cut(matrix, split.source[i, :n], 0)[known]))
        beyond.append(shares.far_reach(matrix, split.source[i, :n], known))
    full, alone, ids_a, ids_b = computed.full, computed.alone, computed.repeat_original, computed.repeat_swapped
    rows = {
        "in-word share": stats.bootstrap_mean(np.array(in_word)),
        "reach beyond 2 words": stats.bootstrap_mean(np.array(beyond)),
        "accuracy lost, cut to 0 words": intervals.accuracy_lost(
            split.source, split.target, split.lengths, full, alone, max_chars=max_chars
        ),
        "recall lost on repeats": intervals.accuracy_lost(
            swaps.original.source,
            swaps.original.target,
            swaps.original.lengths,
            ids_a,
            ids_b,
            max_chars=max_chars,
            where=swaps.repeat,
            chars=(0, 1, 2),
            sequences=swaps.rows,
            n=swaps.sequences,
        ),
    }
    return pd.DataFrame(
        [
            {"measure": name, "value": float(i.value), "low": float(i.low), "high": float(i.high)}
            for name, i in rows.items()
        ]
    )
