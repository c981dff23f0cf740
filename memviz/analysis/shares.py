"""Where a connectivity row's mass lies: inside the word being typed, or further back than a cut would keep.

The in-word share of the article's connectivity figure (:func:`connectivity_share_in_word`, and by characters
typed: :func:`share_in_word_by_chars_typed`), the share a cut to the last k words removes (:func:`share_before_cut`)
and its mean beyond two words, the far reach (:func:`far_reach`, :func:`result_far_reach`).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from memviz.core.results import ConnectivityResult
from memviz.data.chars import SPACE_ID, UNKNOWN_WORD, chars_typed, encode_chars, space_mask, word_index, word_start

#: Words before the current one that count as near: :func:`far_reach` is the share of connectivity beyond them.
NEAR_WORDS = 2


def _raw_and_text(result_or_raw, text: str | None) -> tuple[np.ndarray, str]:
    if isinstance(result_or_raw, ConnectivityResult):
        return result_or_raw.raw, result_or_raw.text
    if text is None:
        raise ValueError("pass the text along with a raw matrix")
    return np.asarray(result_or_raw), text


def connectivity_share_in_word(
    result_or_raw: ConnectivityResult | np.ndarray, text: str | None = None, *, skip_unknown: bool = True
) -> np.ndarray:
    """``(T,)``: per output position, the share of its connectivity mass inside the word being typed.

    The current word runs from its leading space to the output position itself (the article's
    connectivity figure: GRU 0.59, LSTM 0.61, Nested LSTM 0.86 on the article's sample). NaN where a row is all zero
    and, with ``skip_unknown``, where a ConnectivityResult's target is ``<unknown>`` (the gradient of
    a class the model is not asked to predict). Pass a ConnectivityResult, or a raw ``(T, T)`` matrix
    and its text.
    """
    raw, text = _raw_and_text(result_or_raw, text)
    if skip_unknown and isinstance(result_or_raw, ConnectivityResult):
        raw = np.where((np.asarray(result_or_raw.targets) == UNKNOWN_WORD)[:, None], 0.0, raw)
    t = np.arange(len(text))
    start = word_start(is_space=space_mask(text))  # the leading space of the word being typed
    inside = (t[None, :] >= start[:, None]) & (t[None, :] <= t[:, None])
    total = raw.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (raw * inside).sum(axis=1) / total, np.nan)


def share_in_word_by_chars_typed(
    results: Iterable[ConnectivityResult | tuple[np.ndarray, str]],
    *,
    max_chars: int | None = None,
    skip_unknown: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean in-word share of connectivity by characters of the word typed, over many sequences.

    Returns ``(share (L,), counts (L,))``; ``share[n]`` averages every position (of every sequence)
    where n characters of the word were typed (n = 0: the leading space). Positions with more than
    ``max_chars`` characters are left out; NaN where no position counted. All-zero rows are skipped,
    and so (``skip_unknown``) are the rows of a ConnectivityResult whose target is ``<unknown>``.
    """
    shares: list[np.ndarray] = []
    typed: list[np.ndarray] = []
    for item in results:
        if isinstance(item, ConnectivityResult):
            shares.append(connectivity_share_in_word(item, skip_unknown=skip_unknown))
            text = item.text
        else:
            raw, text = np.asarray(item[0]), item[1]
            shares.append(connectivity_share_in_word(raw, text))
        typed.append(chars_typed(is_space=space_mask(text)))
    share, chars = np.concatenate(shares), np.concatenate(typed)
    keep = ~np.isnan(share)
    if max_chars is not None:
        keep &= chars <= max_chars
    length = (max_chars if max_chars is not None else int(chars[keep].max(initial=0))) + 1
    counts = np.bincount(chars[keep], minlength=length)
    sums = np.bincount(chars[keep], weights=share[keep], minlength=length)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan), counts


def share_before_cut(matrix: np.ndarray, source: np.ndarray, context_words: int) -> np.ndarray:
    """``(T,)``: per output row, the share of ``|matrix|`` on inputs that a cut to ``context_words`` words removes.

    The inputs before the leading space of the ``context_words``-th word before the current one (none
    for the first words of the text). NaN where a row is all zero. With ``context_words = 0`` it is one
    minus the in-word share of :func:`connectivity_share_in_word`.
    """
    magnitude = np.abs(np.asarray(matrix, np.float64))
    source = np.asarray(source)
    starts = np.flatnonzero(source == SPACE_ID)
    word = word_index(source)
    first = np.where(word - context_words >= 0, starts[np.maximum(word - context_words, 0)], 0)
    first = np.where(word < 0, 0, first)
    before = np.arange(len(source))[None, :] < first[:, None]
    total = magnitude.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (magnitude * before).sum(axis=1) / total, np.nan)


def far_reach(matrix: np.ndarray, source: np.ndarray, rows: np.ndarray | None = None) -> float:
    """Mean over output rows (those with any connectivity, and ``rows`` if given) of the share of the row's
    connectivity on characters more than :data:`NEAR_WORDS` words before the word being typed: the characters a
    cut to 2 words removes (:func:`share_before_cut`). NaN when no row has any mass."""
    shares = share_before_cut(matrix, source, NEAR_WORDS)
    if rows is not None:
        shares = shares[rows]
    return float(np.nanmean(shares)) if np.isfinite(shares).any() else float("nan")


def result_far_reach(result: ConnectivityResult) -> float:
    """:func:`far_reach` of a connectivity result over all its rows, e.g. the article's own
    (``memviz.data.reference.connectivity("GRU")``: 0.149) or a model's on the article's sentence."""
    return far_reach(result.raw, encode_chars(result.text))
