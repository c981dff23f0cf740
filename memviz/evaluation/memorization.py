"""Memorization versus understanding, over many test sequences (article §"Connectivity").

The article's closing point is that a model can connect far back (memorize) without predicting
better (understand). These helpers turn that one-sentence observation into per-sequence counts
that :mod:`memviz.evaluation.stats` can put intervals on:

* :func:`band_masks` (with :func:`memviz.data.frequency_rank`): word frequency bands (ranked by occurrences of the
  word, :func:`memviz.data.word_counts`, not by target positions);
* :func:`outside_word` and :func:`share_sums_by_chars_typed`: how much connectivity lies inside the
  word being typed, per sequence;
* :func:`quartiles_within` and :func:`grouped_sums`: positions split into quartiles of how far they
  reach back, and hits counted per sequence and group;
* :func:`pair_counts`: how often each pair of consecutive words occurs in a split (training and
  test chunks come from the same novels, so a test phrase such as "mrs elton" was usually seen in
  training).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence

import numpy as np

from memviz.analysis.shares import connectivity_share_in_word
from memviz.core.results import ConnectivityResult
from memviz.data import SPACE_ID, UNKNOWN_ID, encode_chars
from memviz.data.chars import chars_typed


def band_masks(target: np.ndarray, rank: np.ndarray, bands: Mapping[str, tuple[int, int]]) -> dict[str, np.ndarray]:
    """``band -> (n, T) bool``: in-vocabulary targets whose frequency rank is in ``[lo, hi)``."""
    target = np.asarray(target)
    ranks = np.asarray(rank)[target]
    known = target > UNKNOWN_ID
    return {name: known & (ranks >= lo) & (ranks < hi) for name, (lo, hi) in bands.items()}


def outside_word(results: Sequence[ConnectivityResult], width: int) -> np.ndarray:
    """``(n, width) float``: the share of connectivity *outside* the word being typed, per position of
    each result (one per sequence); NaN for padding, ``<unknown>`` targets and all-zero rows."""
    out = np.full((len(results), width), np.nan)
    for i, result in enumerate(results):
        out[i, : result.length] = 1 - connectivity_share_in_word(result)
    return out


def share_sums_by_chars_typed(
    results: Sequence[ConnectivityResult], *, max_chars: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sequence sums of the in-word share of connectivity by characters typed.

    Returns ``(sums (n, L), counts (n, L))``, ``L = max_chars + 1``, one row per result; positions
    without a share (``<unknown>`` targets, all-zero rows) are left out. ``sums.sum(0) /
    counts.sum(0)`` is :func:`memviz.analysis.shares.share_in_word_by_chars_typed`'s mean, and
    ``memviz.evaluation.stats.bootstrap_ratio(sums, counts)`` its interval over sequences.
    """
    width = max((r.length for r in results), default=0)
    inside = 1 - outside_word(results, width)
    typed = np.stack([np.pad(chars_typed(encode_chars(r.text)), (0, width - r.length)) for r in results])
    return grouped_sums(inside, typed, max_chars + 1, where=~np.isnan(inside))


def grouped_sums(
    values: np.ndarray, groups: np.ndarray, num_groups: int, *, where: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-row sums and counts of ``values (n, T)`` by ``groups (n, T) int`` (0 … num_groups − 1).

    Returns ``(sums (n, G), counts (n, G))``; positions outside ``where`` or with a group outside
    ``[0, num_groups)`` are left out.
    """
    values, groups = np.asarray(values, np.float64), np.asarray(groups)
    keep = (groups >= 0) & (groups < num_groups)
    if where is not None:
        keep &= np.asarray(where, bool)
    n = values.shape[0]
    cell = (np.arange(n)[:, None] * num_groups + groups)[keep]
    sums = np.bincount(cell, weights=values[keep], minlength=n * num_groups).reshape(n, num_groups)
    counts = np.bincount(cell, minlength=n * num_groups).reshape(n, num_groups)
    return sums, counts


def quartiles_within(values: np.ndarray, groups: np.ndarray, *, where: np.ndarray, quantiles: int = 4) -> np.ndarray:
    """Quantile (1 … ``quantiles``) of each value *within its group*, 0 outside ``where``.

    Ranks break ties by position, so each group splits into equal parts (sizes differ by at most
    one). E.g. the share of connectivity outside the word, within each number of characters typed.
    """
    values, groups, where = np.asarray(values), np.asarray(groups), np.asarray(where, bool)
    out = np.zeros(values.shape, int)
    for g in np.unique(groups[where]):
        (index,) = np.nonzero((where & (groups == g)).ravel())
        order = np.argsort(values.ravel()[index], kind="stable")
        rank = np.empty(len(index), int)
        rank[order] = np.arange(len(index))
        out.ravel()[index] = rank * quantiles // len(index) + 1
    return out


def pair_counts(split) -> dict[tuple[int, int], int]:
    """``(previous word id, word id) -> occurrences`` of consecutive words in a split (within chunks)."""
    counts: dict[tuple[int, int], int] = {}
    source, target = np.asarray(split.source), np.asarray(split.target)
    for s, t, n in zip(source, target, np.asarray(split.lengths)):
        words = t[:n][s[:n] == SPACE_ID].tolist()
        for pair in itertools.pairwise(words):
            counts[pair] = counts.get(pair, 0) + 1
    return counts


def previous_word(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``(n, T) int``: the word id before the current word at every position (0 where there is none)."""
    source, target = np.asarray(source), np.asarray(target)
    out = np.zeros(target.shape, int)
    for row, (s, t) in enumerate(zip(source, target)):
        starts = np.flatnonzero(s == SPACE_ID)
        word = np.cumsum(s == SPACE_ID) - 1  # index of the current word (-1 before the first space)
        ids = t[starts]
        prev = np.concatenate([[0], ids])[np.maximum(word, 0)]  # ids[k - 1] for word k, 0 for k = 0
        out[row] = np.where(word >= 1, prev, 0)
    return out
