"""Characters and words of the autocomplete task: the 28 input symbols, and where each word of a text lies.

The one place for word-position logic: the leading space of the word being typed (:func:`word_start`), how many
of its characters are typed (:func:`chars_typed`), which word of the text a position belongs to
(:func:`word_index`), and the word tokens of a split (:func:`word_tokens`, :func:`word_counts`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from memviz.data.dataset import Split

__all__ = [
    "CHARS", "PAD_ID", "SPACE_ID", "UNKNOWN_ID", "UNKNOWN_WORD", "encode_chars", "decode_chars", "space_mask",
    "chars_typed", "seen_earlier", "word_start", "word_index", "word_tokens", "word_counts", "frequency_rank",
]  # fmt: skip

#: Input symbols: ``<eos>`` (padding, id 0), space (1), a–z (2–27). The article's ``char_vocabulary``.
CHARS: tuple[str, ...] = ("<eos>", " ", *"abcdefghijklmnopqrstuvwxyz")
PAD_ID = 0
SPACE_ID = 1
#: Word id of ``"<unknown>"`` (out-of-vocabulary); word id 0 is ``"<eos>"`` (padding).
UNKNOWN_ID = 1
#: The word string of ``UNKNOWN_ID`` in a vocabulary and in every result's targets.
UNKNOWN_WORD = "<unknown>"

_CHAR_IDS = np.full(256, 255, np.uint8)  # byte -> char id, 255 = not allowed
_CHAR_IDS[ord(" ")] = SPACE_ID
_CHAR_IDS[ord("a") : ord("z") + 1] = np.arange(2, 28)
_CHAR_BYTES = np.frombuffer(b"\0 abcdefghijklmnopqrstuvwxyz", np.uint8)  # char id -> byte


# -- characters --------------------------------------------------------------------------------------


def encode_chars(text: str) -> np.ndarray:
    """``(len(text),) uint8`` char ids. ``text`` may only hold spaces and a–z (see :func:`normalize_text`)."""
    ids = _CHAR_IDS[np.frombuffer(text.encode("ascii", "replace"), np.uint8)]
    if ids.size and ids.max() == 255:
        bad = sorted({c for c in text if c not in CHARS[1:]})
        raise ValueError(f"not normalised text, characters {bad} are not in CHARS; use normalize_text() first")
    return ids


def decode_chars(ids: Sequence[int] | np.ndarray) -> str:
    """Inverse of :func:`encode_chars`; padding (id 0) is left out."""
    array = np.asarray(ids)
    array = array[array != PAD_ID]
    if array.size and (array.min() < 0 or array.max() >= len(CHARS)):
        raise ValueError(f"char ids must be in [0, {len(CHARS)}), got {array.min()}..{array.max()}")
    return _CHAR_BYTES[array].tobytes().decode("ascii")


# -- where the words are ----------------------------------------------------------------------------


def space_mask(text: str) -> np.ndarray:
    """``(len(text),) bool``: where ``text`` has a space."""
    return np.frombuffer(text.encode("ascii", "replace"), np.uint8) == ord(" ")


def chars_typed(source: np.ndarray | None = None, *, is_space: np.ndarray | None = None) -> np.ndarray:
    """Characters of the current word typed so far, at every position: ``(..., T) ids → (..., T) int``.

    As the article's ``ContextAccuracy`` counts it: 0 at a space (the word's leading space),
    otherwise one more than at the previous position, starting from 0 before the first position.
    Padding (id 0 is not a space) therefore continues the last word's count. Pass char ids as
    ``source``, or where the spaces are as ``is_space`` (``(..., T) bool``, e.g. from a result's text).
    """
    is_space = np.asarray(source) == SPACE_ID if is_space is None else np.asarray(is_space, bool)
    t = np.arange(is_space.shape[-1])
    last_space = np.maximum.accumulate(np.where(is_space, t, -1), axis=-1)
    return t - last_space


def seen_earlier(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``(n, T) bool``: the target word was already the target of an earlier word of the same row.

    ``source, target: (n, T)`` char ids and word ids. Every position of a word gets its word's flag;
    ``<unknown>`` and padding are never "seen". A mask for :func:`accuracy_by_chars_typed`'s ``where``.
    """
    source, target = np.asarray(source), np.asarray(target)
    seen = np.zeros(target.shape, bool)
    for row, (s, t) in enumerate(zip(source, target)):
        is_start = s == SPACE_ID
        first: dict[int, int] = {}
        flags = np.array([first.setdefault(w, k) < k for k, w in enumerate(t[is_start].tolist())] + [False])
        word = word_index(s)
        seen[row] = flags[word] & (word >= 0) & (t > UNKNOWN_ID)
    return seen


def word_start(source: np.ndarray | None = None, *, is_space: np.ndarray | None = None) -> np.ndarray:
    """``(..., T) int``: the index of the current word's leading space at every position (0 before the first
    space). Arguments as :func:`chars_typed`."""
    typed = chars_typed(source, is_space=is_space)
    return np.maximum(np.arange(typed.shape[-1]) - typed, 0)


def word_index(source: np.ndarray) -> np.ndarray:
    """``(..., T) int``: which word of its row each position belongs to (0 for the word of the first leading space,
    -1 before it): the number of spaces up to and including the position, minus one."""
    return np.cumsum(np.asarray(source) == SPACE_ID, axis=-1) - 1


def word_tokens(split: Split) -> Iterator[tuple[int, int, int, int]]:
    """Each word token of a split, in order: ``(row, start, stop, word id)``.

    ``start`` is the index of its leading space, ``stop`` one past its last letter (within the row's length).
    """
    for row, (source, target, length) in enumerate(zip(split.source, split.target, split.lengths)):
        starts = np.flatnonzero(source[:length] == SPACE_ID)
        stops = np.append(starts[1:], length)
        for start, stop in zip(starts.tolist(), stops.tolist()):
            yield row, start, stop, int(target[start])


def word_counts(split: Split, num_words: int) -> np.ndarray:
    """``(num_words,) int64``: how many word tokens of each word id a split holds (one per word, not per character)."""
    real = np.arange(split.source.shape[1])[None, :] < np.asarray(split.lengths)[:, None]
    at_start = real & (np.asarray(split.source) == SPACE_ID)
    return np.bincount(np.asarray(split.target)[at_start], minlength=num_words)


def frequency_rank(counts: np.ndarray) -> np.ndarray:
    """``(num_words,) int``: each word id's rank by ``counts`` (0: the most frequent; ties by id), e.g. of
    :func:`word_counts` over the training split."""
    counts = np.asarray(counts)
    rank = np.empty(len(counts), int)
    rank[np.argsort(-counts, kind="stable")] = np.arange(len(counts))
    return rank
