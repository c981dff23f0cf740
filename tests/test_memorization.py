"""Per-sequence counts (metrics.hits_by_chars_typed, word_frequencies) and notebook 06's analyses (memviz.evaluation.memorization)."""

from types import SimpleNamespace

import numpy as np
import pytest

from memviz import data
from memviz.analysis import shares
from memviz.core.results import ConnectivityResult
from memviz.evaluation import memorization, metrics


def random_split(seed: int = 0, n: int = 6, width: int = 40, words: int = 9):
    rng = np.random.default_rng(seed)
    texts = [" " + " ".join("abcdefghij"[: rng.integers(1, 8)] for _ in range(8)) for _ in range(n)]
    source = np.zeros((n, width), np.uint8)
    target = np.zeros((n, width), np.int32)
    lengths = np.array([min(len(t), width) for t in texts])
    for i, text in enumerate(texts):
        source[i, : lengths[i]] = data.encode_chars(text[: lengths[i]])
        target[i, : lengths[i]] = rng.integers(1, words, lengths[i])
    topk = rng.integers(1, words, (n, width, 3))
    return SimpleNamespace(source=source, target=target, lengths=lengths), topk


@pytest.mark.parametrize("padding", [False, True])
def test_hits_by_chars_typed_sum_to_the_accuracy_curve(padding):
    split, topk = random_split()
    where = np.random.default_rng(1).random(split.target.shape) < 0.7
    args = (split.source, split.target, split.lengths, topk)
    hits, counts = metrics.hits_by_chars_typed(*args, max_chars=5, include_padding=padding, where=where)
    accuracy, total = metrics.accuracy_by_chars_typed(*args, max_chars=5, include_padding=padding, where=where)
    assert hits.shape == (6, 3, 6) and counts.shape == (6, 6)
    np.testing.assert_array_equal(counts.sum(0), total)
    np.testing.assert_allclose(hits.sum(0) / counts.sum(0), accuracy)
    # row by row: the same function on one sequence
    one, one_counts = metrics.accuracy_by_chars_typed(
        *(a[2:3] for a in args), max_chars=5, where=where[2:3], include_padding=padding
    )
    np.testing.assert_array_equal(one_counts, counts[2])
    np.testing.assert_allclose(np.nan_to_num(one * one_counts), hits[2])


def test_word_frequencies_count_words_not_positions():
    vocab = data.Vocabulary(("<eos>", "<unknown>", "a", "elephant"))
    source, target = data.align(" elephant a a a", vocab)
    split = SimpleNamespace(source=source[None], target=target[None], lengths=np.array([len(source)]))
    assert data.word_counts(split, 4).tolist() == [0, 0, 3, 1]
    assert metrics.target_counts(split, 4).tolist() == [0, 0, 6, 9]  # per position: "elephant" wins
    rank = data.frequency_rank(data.word_counts(split, 4))
    assert rank.tolist() == [2, 3, 0, 1]
    bands = memorization.band_masks(target[None], rank, {"top": (0, 1), "rest": (1, 4)})
    assert bands["top"].sum() == 6 and bands["rest"].sum() == 9  # <unknown> and <eos> are in no band


def test_grouped_sums_against_a_loop():
    rng = np.random.default_rng(0)
    values, groups = rng.random((4, 10)), rng.integers(-1, 4, (4, 10))
    where = rng.random((4, 10)) < 0.8
    sums, counts = memorization.grouped_sums(values, groups, 3, where=where)
    for i in range(4):
        for g in range(3):
            mask = where[i] & (groups[i] == g)
            assert counts[i, g] == mask.sum() and sums[i, g] == pytest.approx(values[i][mask].sum())


def test_quartiles_split_each_group_in_equal_ordered_parts():
    rng = np.random.default_rng(0)
    values, groups = rng.random((3, 50)), rng.integers(0, 2, (3, 50))
    where = rng.random((3, 50)) < 0.9
    q = memorization.quartiles_within(values, groups, where=where)
    assert (q[~where] == 0).all() and set(np.unique(q[where])) == {1, 2, 3, 4}
    for g in (0, 1):
        in_group = where & (groups == g)
        sizes = np.bincount(q[in_group], minlength=5)[1:]
        assert sizes.max() - sizes.min() <= 1
        for k in (1, 2, 3):  # every value of quartile k is below every value of quartile k + 1
            assert values[in_group & (q == k)].max() <= values[in_group & (q == k + 1)].min()


def result_of(text: str, seed: int) -> ConnectivityResult:
    rng = np.random.default_rng(seed)
    n = len(text)
    targets = tuple("<unknown>" if i % 7 == 3 else "w" for i in range(n))
    return ConnectivityResult(
        model="GRU",
        text=text,
        targets=targets,
        raw=np.tril(rng.random((n, n))),
        top_words=(("w", "x", "y"),) * n,
        top_probs=np.tile([0.5, 0.2, 0.1], (n, 1)),
    )


def test_share_sums_match_the_pooled_share():
    results = [result_of(" the cat sat on it", 0), result_of(" a longer sentence here", 1)]
    sums, counts = memorization.share_sums_by_chars_typed(results, max_chars=6)
    share, total = shares.share_in_word_by_chars_typed(results, max_chars=6)
    np.testing.assert_array_equal(counts.sum(0), total)
    np.testing.assert_allclose(sums.sum(0) / counts.sum(0), share)
    outside = memorization.outside_word(results, 30)
    assert outside.shape == (2, 30) and np.isnan(outside[0, 18:]).all() and np.isnan(outside[0, 3])


def test_pairs_and_previous_words():
    vocab = data.Vocabulary(("<eos>", "<unknown>", "mrs", "elton", "said"))
    source, target = data.align(" mrs elton said mrs elton", vocab)
    split = SimpleNamespace(source=source[None], target=target[None], lengths=np.array([len(source)]))
    assert memorization.pair_counts(split) == {(2, 3): 2, (3, 4): 1, (4, 2): 1}
    prev = memorization.previous_word(source[None], target[None])[0]
    assert prev[:5].tolist() == [0, 0, 0, 0, 2]  # " mrs" has no previous word; " elton" follows "mrs"
    assert prev[-1] == 2 and prev[11] == 3  # the last "elton" follows "mrs"; " said" follows "elton"


def test_verdicts_and_their_description():
    from memviz.evaluation import stats

    diff = stats.Interval(
        value=np.array([0.02, 0.01, 0.0, -0.03, -0.02]),
        low=np.array([0.01, 0.005, -0.01, -0.05, -0.04]),
        high=np.array([0.03, 0.02, 0.01, -0.01, 0.001]),
    )
    labels = stats.verdicts(diff)
    assert labels.tolist() == ["higher", "higher", "no clear difference", "lower", "no clear difference"]
    assert (
        stats.describe_runs(labels, range(5))
        == "higher at 0–1, no clear difference at 2, lower at 3, no clear difference at 4"
    )
    assert diff[1:3].value.tolist() == [0.01, 0.0] and diff.text(0) == "2.0% (1.0% to 3.0%)"
