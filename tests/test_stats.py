"""Bootstrap intervals against a slow loop over explicit resamples."""

import numpy as np
import pytest

from memviz.evaluation import stats


def test_ratio_matches_explicit_resampling_loop():
    rng = np.random.default_rng(1)
    counts = rng.integers(0, 6, size=(40, 5)).astype(float)
    hits = np.minimum(counts, rng.integers(0, 6, size=(40, 5)))
    got = stats.bootstrap_ratio(hits, counts, resamples=200, seed=7)
    # The reference draws the same multinomial weights and forms each resample explicitly.
    weights = np.random.default_rng(7).multinomial(40, np.full(40, 1 / 40), size=200)
    samples = []
    for w in weights:
        idx = np.repeat(np.arange(40), w)
        samples.append(hits[idx].sum(0) / counts[idx].sum(0))
    low, high = np.percentile(np.array(samples), [2.5, 97.5], axis=0)
    np.testing.assert_allclose(got.value, hits.sum(0) / counts.sum(0))
    np.testing.assert_allclose(got.low, low)
    np.testing.assert_allclose(got.high, high)
    assert np.all(got.low <= got.value) and np.all(got.value <= got.high)


def test_interval_narrows_with_more_sequences_and_overlap_logic():
    rng = np.random.default_rng(0)
    small = stats.bootstrap_mean(rng.normal(0, 1, 30))
    large = stats.bootstrap_mean(rng.normal(0, 1, 3000))
    assert (large.high - large.low) < (small.high - small.low) / 5
    far = stats.bootstrap_mean(rng.normal(5, 1, 30))
    assert not far.overlaps(small) and small.overlaps(large)


def test_zero_denominator_is_nan_and_bad_shapes_are_refused():
    got = stats.bootstrap_ratio(np.zeros((4, 2)), np.array([[1, 0]] * 4))
    assert got.value[0] == 0 and np.isnan(got.value[1]) and np.isnan(got.low[1])
    with pytest.raises(ValueError, match="same shape"):
        stats.bootstrap_ratio(np.zeros((3, 2)), np.zeros((3, 3)))


def test_a_proportion_with_no_hits_has_an_interval_of_nonzero_width():
    from memviz.evaluation import stats

    counts = np.full((40, 2), 3)  # 40 sequences, 3 positions each, two cells
    hits = np.zeros_like(counts)
    hits[:, 1] = 1  # the second cell: a third of the positions are hits
    plain = stats.bootstrap_ratio(hits, counts)
    assert plain.low[0] == plain.high[0] == 0  # the bootstrap collapses at 0 hits
    honest = stats.proportion_interval(hits, counts)
    assert honest.value[0] == 0 and honest.low[0] == 0 and 0.02 < honest.high[0] < 0.05  # Wilson: 3.07 % for 0 in 120
    assert honest.low[1] == plain.low[1] and honest.high[1] == plain.high[1]  # elsewhere the bootstrap's own
    low, high = stats.wilson(np.array([0, 120]), np.array([120, 120]))
    np.testing.assert_allclose([low[0], high[1]], [0, 1]) and np.testing.assert_allclose(high[0], 1 - low[1])
