"""Count baselines and per-sequence accuracy intervals against slow, obviously correct loops."""

from __future__ import annotations

import collections
import itertools

import numpy as np
import pytest

from memviz import data
from memviz.evaluation import baselines, intervals, metrics

TEXT = (
    "the cat sat on the mat and the cat ate the rat then the dog sat on the cat "
    "a man and a maid sat at the table the man ate and the maid sang then they sat "
) * 12 + "the mat the map the man then than that thin this these those"


@pytest.fixture(scope="module")
def dataset():
    return data.from_text(TEXT, vocab_size=20, max_length=40)


def _words(split, row):
    """The words of one row, as strings, in order (from its text)."""
    return split.text(row).split()


def _reference(dataset, test, *, use_previous: bool, k: int = 3) -> np.ndarray:
    """A counting loop: count words and word pairs in the training rows' texts, then rank candidates at every position."""
    vocab = dataset.vocab
    unigram, bigram = collections.Counter(), collections.Counter()
    for row in range(len(dataset.train)):
        ids = [vocab.id(w) for w in _words(dataset.train, row)]
        unigram.update(ids)
        bigram.update(itertools.pairwise(ids))
    out = np.full((*test.source.shape, k), -1)
    for row in range(len(test)):
        position, previous = 0, None
        for word in _words(test, row):
            for typed in range(len(word) + 1):
                prefix = word[:typed]
                candidates = [i for i in range(2, len(vocab)) if vocab.words[i].startswith(prefix)]
                by_prefix = sorted(candidates, key=lambda i: (-unigram[i], i))
                best = []
                if use_previous and previous is not None:
                    best = sorted(
                        [i for i in candidates if bigram[previous, i] > 0], key=lambda i: (-bigram[previous, i], i)
                    )[:k]
                best += [i for i in by_prefix if i not in best][: k - len(best)]
                out[row, position, : len(best)] = best
                position += 1
            previous = vocab.id(word)
    return out


@pytest.mark.parametrize("use_previous", [False, True], ids=["prefix", "previous_word"])
def test_baselines_match_a_counting_loop(dataset, use_previous):
    source, target = data.align(" the zebra sat on the mat", dataset.vocab)  # an out-of-vocabulary word
    extra = data.pad(data.chunk_boundaries([3, 5, 3, 2, 3, 3], 40), source, target, 40)
    parts = (dataset.test, dataset.valid, extra)
    test = data.Split(*(np.concatenate([getattr(p, a) for p in parts]) for a in ("source", "target", "lengths")))
    helper = baselines.previous_word_topk if use_previous else baselines.prefix_topk
    got = helper(test, dataset.vocab, dataset.train)
    want = _reference(dataset, test, use_previous=use_previous)
    real = np.arange(test.source.shape[1])[None, :] < test.lengths[:, None]
    np.testing.assert_array_equal(got[real], want[real])
    assert (got[~real] == baselines.NO_WORD).all()
    assert (got[real][:, 0] == baselines.NO_WORD).sum() == 5  # "zebra" from "z" to "zebra": no word starts so


def test_word_counts_count_words_not_characters(dataset):
    counts = data.word_counts(dataset.train, len(dataset.vocab))
    tokens = collections.Counter(
        dataset.vocab.id(w) for r in range(len(dataset.train)) for w in _words(dataset.train, r)
    )
    assert counts.tolist() == [tokens[i] for i in range(len(dataset.vocab))]
    # the per-character count of metrics.target_counts weighs each word by its length + 1
    assert (metrics.target_counts(dataset.train, len(dataset.vocab)) > counts).any()


def test_the_previous_word_changes_the_answer(dataset):
    """After "the", the baseline proposes what followed "the" in training; with no previous word it cannot."""
    vocab = dataset.vocab
    prefix = baselines.PrefixBaseline(vocab, data.word_counts(dataset.train, len(vocab)))
    bigram = baselines.BigramBaseline(prefix, baselines.bigram_counts(dataset.train))
    after_the = bigram.top(vocab.id("the"), "")
    assert vocab.id("the") not in after_the  # "the the" never occurs
    assert bigram.top(None, "") == prefix.top("") and prefix.top("")[0] == vocab.id("the")
    assert all(vocab.words[i].startswith("ma") for i in bigram.top(vocab.id("the"), "ma"))


def test_per_sequence_hits_pool_to_the_metric_and_bound_the_interval():
    rng = np.random.default_rng(0)
    n, length, k = 5, 30, 3
    source = rng.integers(1, 6, (n, length))  # many spaces (id 1)
    target = rng.integers(0, 6, (n, length))
    topk = rng.integers(0, 6, (n, length, k))
    lengths = rng.integers(10, length, n)
    where = rng.random((n, length)) < 0.8
    hits, counts = metrics.hits_by_chars_typed(source, target, lengths, topk, max_chars=4, where=where)
    accuracy, pooled = metrics.accuracy_by_chars_typed(source, target, lengths, topk, max_chars=4, where=where)
    np.testing.assert_array_equal(counts.sum(0), pooled)
    np.testing.assert_allclose(hits.sum(0) / counts.sum(0), accuracy)
    # one sequence, by hand: positions with 2 characters typed, top-2 hits
    typed = data.chars_typed(source[3])
    keep = (np.arange(length) < lengths[3]) & where[3] & (typed == 2)
    in_top2 = [(target[3, t] in topk[3, t, :2]) and target[3, t] != data.UNKNOWN_ID for t in np.flatnonzero(keep)]
    assert counts[3, 2] == keep.sum() and hits[3, 1, 2] == sum(in_top2)
    interval = intervals.accuracy_interval(source, target, lengths, topk, max_chars=4, where=where, resamples=200)
    assert np.all((interval.low <= accuracy + 1e-12) & (accuracy <= interval.high + 1e-12))
