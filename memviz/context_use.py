"""One model's use of context in four numbers, each with a bootstrap interval over test sequences.

For comparing models (e.g. at matched accuracy): the connectivity measures of the article and notebook 06
beside the interventions of :mod:`memviz.interventions`.

* ``in-word share``: mean share of connectivity inside the current word (known targets, all positions);
* ``reach beyond 2 words``: mean share of connectivity on the characters a cut to 2 words would remove;
* ``accuracy lost, cut to 0 words``: top-1 accuracy (0 … ``max_chars`` characters typed) lost when the model
  sees only the current word;
* ``recall lost on repeats``: top-1 accuracy (0–2 characters typed) lost on a repeated word when its
  earlier occurrence is replaced (:func:`memviz.interventions.swap_earlier_occurrences`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from memviz import connectivity, data, intervals, interventions, stats
from memviz.model import AutocompleteModel


def context_use(
    model: AutocompleteModel,
    split: data.Split,
    swaps: interventions.Swaps,
    *,
    n_connectivity: int,
    max_chars: int = 6,
) -> pd.DataFrame:
    """Rows ``measure, value, low, high`` for one model (see the module docstring); ``split`` holds the test
    sequences (connectivity uses its first ``n_connectivity``), ``swaps`` repeated-word copies of any split."""
    in_word, beyond = [], []
    for i in range(min(n_connectivity, len(split))):
        n = int(split.lengths[i])
        matrix = connectivity.connectivity_matrix(model, split.source[i], split.target[i])[:n, :n]
        known = split.target[i, :n] > data.UNKNOWN_ID
        in_word.append(np.nanmean(1 - interventions.share_before_cut(matrix, split.source[i, :n], 0)[known]))
        beyond.append(np.nanmean(interventions.share_before_cut(matrix, split.source[i, :n], 2)[known]))
    full, _ = interventions.predict_cut(model, split, None)
    alone, _ = interventions.predict_cut(model, split, 0)
    ids_a, ids_b, _, _ = interventions.repeat_predictions(model, swaps)
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
