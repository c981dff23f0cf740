"""Count-based baselines for the accuracy curves: what the letters typed, or the previous word, already give.

Two predictors that never look further back than one word, counted on the training split:

* **prefix-only**: the most frequent training words that start with the letters typed so far;
* **previous word**: the most frequent training words that followed the previous word and start with
  the letters typed (a bigram with a prefix), topped up from the prefix-only list when fewer than k
  such words were seen (backing off).

Frequencies count *words* (one per word token, at its leading space), not character positions: a
character-position count would favour long words. Candidates are the vocabulary's words (``<eos>``
and ``<unknown>`` excluded), ties broken by the lower word id, so the baselines answer from the same
classes as the models and an ``<unknown>`` target is always wrong for them too. Both return
``(n, T, k)`` word ids (−1 where no candidate is left), the layout of
:func:`memviz.evaluation.metrics.predict_topk`, so :func:`memviz.evaluation.metrics.accuracy_by_chars_typed` counts them
exactly as it counts a model.
"""

from __future__ import annotations

import collections

import numpy as np

from memviz import data
from memviz.data import UNKNOWN_ID, word_counts, word_tokens

#: Word id of "no candidate" in a baseline's top-k (never equal to a target).
NO_WORD = -1


def bigram_counts(split: data.Split) -> dict[int, collections.Counter]:
    """``{previous word id: Counter(next word id)}`` over consecutive word tokens of each row (OOV = ``<unknown>``)."""
    counts: dict[int, collections.Counter] = collections.defaultdict(collections.Counter)
    previous = None
    for row, _, _, word in word_tokens(split):
        if previous is not None and previous[0] == row:
            counts[previous[1]][word] += 1
        previous = (row, word)
    return dict(counts)


def _ranked(ids, counts, k: int) -> list[int]:
    """The k ids with the highest counts, ties broken by the lower id."""
    return sorted(ids, key=lambda i: (-counts[i], i))[:k]


class PrefixBaseline:
    """The most frequent words (by training word tokens) that start with a prefix; every prefix of every word precomputed."""

    def __init__(self, vocab: data.Vocabulary, counts: np.ndarray, k: int = 3):
        self.vocab, self.counts, self.k = vocab, np.asarray(counts), k
        by_prefix: dict[str, list[int]] = collections.defaultdict(list)
        for word_id in range(UNKNOWN_ID + 1, len(vocab)):
            word = vocab.words[word_id]
            for n in range(len(word) + 1):
                by_prefix[word[:n]].append(word_id)
        self.table = {prefix: _ranked(ids, self.counts, k) for prefix, ids in by_prefix.items()}

    def top(self, prefix: str) -> list[int]:
        """Up to k word ids, most frequent first (empty when no vocabulary word starts with ``prefix``)."""
        return self.table.get(prefix, [])


class BigramBaseline:
    """Most frequent words after a previous word that start with a prefix, topped up from :class:`PrefixBaseline`."""

    def __init__(self, prefix: PrefixBaseline, bigrams: dict[int, collections.Counter]):
        self.prefix, self.bigrams, self.k = prefix, bigrams, prefix.k
        self._tables: dict[int, dict[str, list[int]]] = {}

    def _table(self, previous: int) -> dict[str, list[int]]:
        """Built lazily, once per previous word: ``{prefix: top-k ids}`` over the words seen after it."""
        if previous not in self._tables:
            followers = self.bigrams.get(previous, collections.Counter())
            by_prefix: dict[str, list[int]] = collections.defaultdict(list)
            for word_id in followers:
                if word_id > UNKNOWN_ID:
                    word = self.prefix.vocab.words[word_id]
                    for n in range(len(word) + 1):
                        by_prefix[word[:n]].append(word_id)
            self._tables[previous] = {p: _ranked(ids, followers, self.k) for p, ids in by_prefix.items()}
        return self._tables[previous]

    def top(self, previous: int | None, prefix: str) -> list[int]:
        """Up to k word ids: the bigram's, then the prefix-only list's (without repeats). ``previous=None``: no previous word."""
        best = [] if previous is None else list(self._table(previous).get(prefix, []))
        if len(best) < self.k:
            best += [w for w in self.prefix.top(prefix) if w not in best][: self.k - len(best)]
        return best


def _predict(split: data.Split, top, k: int) -> np.ndarray:
    """``(n, T, k)`` ids: ``top(previous word id or None, prefix)`` at every real position of ``split``."""
    out = np.full((*np.shape(split.source), k), NO_WORD, np.int32)
    previous = None
    for row, start, stop, word in word_tokens(split):
        letters = data.decode_chars(split.source[row, start + 1 : stop])
        before = previous[1] if previous is not None and previous[0] == row else None
        for typed in range(stop - start):  # typed = 0 at the leading space
            ids = top(before, letters[:typed])
            out[row, start + typed, : len(ids)] = ids
        previous = (row, word)
    return out


def prefix_topk(split: data.Split, vocab: data.Vocabulary, train: data.Split, k: int = 3) -> np.ndarray:
    """The prefix-only baseline's top-k at every position of ``split``, counted on ``train``: ``(n, T, k) int32``."""
    baseline = PrefixBaseline(vocab, word_counts(train, len(vocab)), k)
    return _predict(split, lambda previous, prefix: baseline.top(prefix), k)


def previous_word_topk(split: data.Split, vocab: data.Vocabulary, train: data.Split, k: int = 3) -> np.ndarray:
    """The previous-word baseline's top-k (bigram with prefix, backing off to prefix-only): ``(n, T, k) int32``.

    The first word of a row has no previous word (rows are separate sequences, as the models see
    them) and gets the prefix-only answer.
    """
    baseline = BigramBaseline(PrefixBaseline(vocab, word_counts(train, len(vocab)), k), bigram_counts(train))
    return _predict(split, baseline.top, k)
