"""Accuracy by characters typed with a bootstrap interval over test sequences.

:func:`memviz.evaluation.metrics.accuracy_by_chars_typed` pools all positions; :func:`memviz.evaluation.metrics.hits_by_chars_typed`
keeps the same counts per sequence, ``(n, k, L)`` hits and ``(n, L)`` positions, so that
:func:`memviz.evaluation.stats.bootstrap_ratio` can resample whole sequences. The pooled ratio equals ``accuracy_by_chars_typed``'s value exactly.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from memviz.evaluation.metrics import hits_by_chars_typed
from memviz.evaluation.stats import Interval, bootstrap_ratio, proportion_interval


def accuracy_interval(
    source, target, lengths, topk_ids, *, max_chars: int, where=None, seed: int = 0, resamples: int = 1000
) -> Interval:
    """Top-1…k accuracy by characters typed, ``(k, L)``, with a bootstrap interval over sequences (at least the Wilson
    interval where there are no hits or only hits: :func:`memviz.evaluation.stats.proportion_interval`)."""
    hits, counts = hits_by_chars_typed(source, target, lengths, topk_ids, max_chars=max_chars, where=where)
    return proportion_interval(hits, np.broadcast_to(counts[:, None, :], hits.shape), seed=seed, resamples=resamples)


def interval_frame(interval: Interval, **columns) -> pd.DataFrame:
    """Tidy rows ``top_k, chars_typed, accuracy, low, high`` of a ``(k, L)`` interval, plus constant ``columns``."""
    k, length = np.shape(interval.value)
    top, typed = np.meshgrid(np.arange(1, k + 1), np.arange(length), indexing="ij")
    frame = pd.DataFrame(
        {
            "top_k": top.ravel(),
            "chars_typed": typed.ravel(),
            "accuracy": np.ravel(interval.value),
            "low": np.ravel(interval.low),
            "high": np.ravel(interval.high),
        }
    )
    return frame.assign(**columns)


def accuracy_lost(
    source,
    target,
    lengths,
    ids_before,
    ids_after,
    *,
    max_chars: int,
    where=None,
    chars: tuple[int, ...] | None = None,
    sequences: np.ndarray | None = None,
    n: int | None = None,
    seed: int = 0,
) -> Interval:
    """Top-1 accuracy of ``ids_before`` minus that of ``ids_after`` (both ``(m, T, k)`` on the same positions),
    pooled over characters typed ``chars`` (default 0 … ``max_chars``), with a paired bootstrap interval.

    ``sequences (m,)`` and ``n``: when the rows are copies of ``n`` test sequences (e.g. one per repeated
    word), the rows are summed back into their sequences before resampling.
    """
    hits_a, counts = hits_by_chars_typed(source, target, lengths, ids_before, max_chars=max_chars, where=where)
    hits_b, _ = hits_by_chars_typed(source, target, lengths, ids_after, max_chars=max_chars, where=where)
    columns = list(chars) if chars is not None else list(range(max_chars + 1))
    difference = (hits_a[:, 0, columns] - hits_b[:, 0, columns]).sum(-1)
    total = counts[:, columns].sum(-1)
    if sequences is not None:
        if n is None:
            raise ValueError("pass n, the number of sequences, along with sequences")
        difference, total = _sum_rows(difference, sequences, n), _sum_rows(total, sequences, n)
    return bootstrap_ratio(difference, total, seed=seed)


def _sum_rows(values: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    out = np.zeros((n, *np.shape(values)[1:]), np.float64)
    np.add.at(out, rows, values)
    return out
