"""Metrics: accuracy by characters typed and the test metrics, on hand-built cases with known answers."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from memviz import data
from memviz.data import chars_typed, seen_earlier
from memviz.evaluation.metrics import (
    accuracy_by_chars_typed,
    autocomplete_accuracy,
    evaluate,
    predict_topk,
    target_counts,
    unigram_log_probs,
)
from memviz.models.model import AutocompleteModel, ModelConfig
from memviz.training.loss import masked_cross_entropy

# Two sequences, k = 2. Sequence 0 is " ab cd": word 5 then word 6. Sequence 1 is " a" (an OOV word,
# target 1) and four padding positions.
SOURCE = np.array([[1, 2, 3, 1, 4, 5], [1, 2, 0, 0, 0, 0]], np.uint8)
TARGET = np.array([[5, 5, 5, 6, 6, 6], [1, 1, 0, 0, 0, 0]], np.int32)
LENGTHS = np.array([6, 2])
TOPK = np.array(
    [
        [[7, 5], [5, 7], [5, 8], [8, 9], [9, 6], [6, 9]],  # ranks 1, 0, 0, miss, 1, 0
        [[1, 3], [3, 1], [0, 2], [0, 2], [0, 2], [0, 2]],  # predicts <unknown> and <eos>: still wrong
    ],
    np.int32,
)


def test_chars_typed_resets_at_spaces_and_runs_on_through_padding():
    assert chars_typed(SOURCE).tolist() == [[0, 1, 2, 0, 1, 2], [0, 1, 2, 3, 4, 5]]
    assert chars_typed(np.array([2, 3, 1, 2])).tolist() == [1, 2, 0, 1]  # no leading space: counts from 1


def test_accuracy_by_chars_typed_by_hand():
    accuracy, counts = accuracy_by_chars_typed(SOURCE, TARGET, LENGTHS, TOPK)
    # chars typed 0: (0,0) top-2, (0,3) miss, (1,0) OOV | 1: (0,1) top-1, (0,4) top-2, (1,1) OOV | 2: (0,2), (0,5) top-1
    assert counts.tolist() == [3, 3, 2]
    np.testing.assert_allclose(accuracy, [[0 / 3, 1 / 3, 2 / 2], [1 / 3, 2 / 3, 2 / 2]])


def test_accuracy_with_padding_reproduces_the_articles_artefact():
    accuracy, counts = accuracy_by_chars_typed(SOURCE, TARGET, LENGTHS, TOPK, include_padding=True)
    # Sequence 1's padding continues its word's counter (2, 3, 4, 5) and counts as wrong.
    assert counts.tolist() == [3, 3, 3, 1, 1, 1]
    np.testing.assert_allclose(accuracy, [[0, 1 / 3, 2 / 3, 0, 0, 0], [1 / 3, 2 / 3, 2 / 3, 0, 0, 0]])


def test_accuracy_max_chars_cuts_and_pads_columns():
    accuracy, counts = accuracy_by_chars_typed(SOURCE, TARGET, LENGTHS, TOPK, max_chars=1)
    assert counts.tolist() == [3, 3]
    np.testing.assert_allclose(accuracy[0], [0, 1 / 3])
    accuracy, counts = accuracy_by_chars_typed(SOURCE, TARGET, LENGTHS, TOPK, max_chars=3)
    assert counts.tolist() == [3, 3, 2, 0] and np.isnan(accuracy[:, 3]).all()


def test_masked_cross_entropy_by_hand():
    logits = jnp.log(jnp.array([[0.1, 0.2, 0.3, 0.4]] * 3))
    loss, mask = masked_cross_entropy(logits, jnp.array([3, 1, 0]))
    np.testing.assert_allclose(loss, [-math.log(0.4), 0, 0], rtol=1e-6)
    assert mask.tolist() == [True, False, False]


def constant_model(probs) -> AutocompleteModel:
    """A model whose logits are log(probs) at every position: all weights zero, so h = tanh(0) = 0."""
    config = ModelConfig(cell="rnn", num_layers=1, hidden_features=3, embedding_features=3, num_words=len(probs))
    model = AutocompleteModel(config, rngs=nnx.Rngs(0))
    nnx.update(model, jax.tree.map(jnp.zeros_like, nnx.state(model, nnx.Param)))
    model.dense.bias[...] = jnp.log(jnp.asarray(probs, jnp.float32))
    return model


def test_evaluate_by_hand():
    p = np.array([0.05, 0.05, 0.5, 0.3, 0.1])
    split = data.Split(
        source=np.array([[1, 2, 3, 4], [1, 5, 0, 0]], np.uint8),
        target=np.array([[2, 3, 1, 4], [3, 3, 0, 0]], np.int32),  # position (0, 2) is OOV
        lengths=np.array([4, 2], np.int32),
    )
    train_counts = np.array([0, 10, 5, 3, 1])  # → unigram (add-one, no <eos>/<unknown>) 6/12, 4/12, 2/12
    got = evaluate(constant_model(p), split, train_counts, batch_size=3)
    ce = -np.log(p)
    seq0, seq1 = (ce[2] + ce[3] + ce[4]) / 3, ce[3]
    assert got["cross_entropy"] == pytest.approx((seq0 + seq1) / 2, rel=1e-5)
    assert got["token_cross_entropy"] == pytest.approx((ce[2] + ce[3] + ce[4] + 2 * ce[3]) / 5, rel=1e-5)
    assert got["accuracy"] == pytest.approx(1 / 6)  # argmax is word 2: right once; the OOV position counts
    base = dict(zip([2, 3, 4], -np.log([6 / 12, 4 / 12, 2 / 12])))
    assert got["unigram_cross_entropy"] == pytest.approx(((base[2] + base[3] + base[4]) / 3 + base[3]) / 2, rel=1e-5)
    assert got["unigram_token_cross_entropy"] == pytest.approx((base[2] + 3 * base[3] + base[4]) / 5, rel=1e-5)
    assert got["unigram_accuracy"] == pytest.approx(1 / 6)
    # Counting the training targets from a split: (1, 3, 1) + 1 → word 3 is the most frequent, right 3 times.
    assert target_counts(split, 5).tolist() == [0, 1, 1, 3, 1]
    assert evaluate(constant_model(p), split, train_split=split)["unigram_accuracy"] == pytest.approx(3 / 6)
    assert "unigram_accuracy" not in evaluate(constant_model(p), split)


def test_unigram_log_probs_give_no_mass_to_eos_and_unknown():
    logp = unigram_log_probs(np.array([50, 50, 1, 0]))
    np.testing.assert_allclose(np.exp(logp), [0, 0, 2 / 3, 1 / 3], rtol=1e-6)


def test_predict_topk_and_accuracy_curve_from_a_model():
    config = ModelConfig(cell="gru", num_layers=1, hidden_features=8, embedding_features=4, num_words=9)
    model = AutocompleteModel(config, rngs=nnx.Rngs(1))
    rng = np.random.default_rng(0)
    lengths = np.array([7, 3, 5, 7, 1])
    real = np.arange(7) < lengths[:, None]
    source = np.where(real, rng.integers(1, 28, (5, 7)), 0).astype(np.uint8)
    target = np.where(real, rng.integers(1, 9, (5, 7)), 0).astype(np.int32)
    split = data.Split(source, target, lengths.astype(np.int32))
    topk = predict_topk(model, split, k=3, batch_size=2)  # the last batch is padded
    logits = np.asarray(model(jnp.asarray(source, jnp.int32)))
    assert topk.shape == (5, 7, 3) and topk.dtype == np.int32
    np.testing.assert_array_equal(topk, np.argsort(-logits, axis=-1)[..., :3])
    curve = autocomplete_accuracy(model, split, name="tiny", batch_size=2)
    accuracy, counts = accuracy_by_chars_typed(source, target, lengths, topk)
    assert curve.model == "tiny" and counts.sum() == lengths.sum()
    np.testing.assert_array_equal(curve.accuracy, accuracy)
    assert np.all(np.diff(curve.accuracy, axis=0) >= 0)  # top-k is cumulative


def test_accuracy_where_everywhere_is_the_articles_curve():
    rng = np.random.default_rng(0)
    split = data.from_text("the cat saw the dog and the cat ran to the dog " * 30, vocab_size=6, max_length=40).train
    topk = rng.integers(0, 8, (*split.source.shape, 3))
    topk[..., 1] = split.target  # some hits at rank 2
    expected, counts = accuracy_by_chars_typed(split.source, split.target, split.lengths, topk, max_chars=4)
    everywhere = np.ones(split.source.shape, bool)
    accuracy, where_counts = accuracy_by_chars_typed(
        split.source, split.target, split.lengths, topk, max_chars=4, where=everywhere
    )
    np.testing.assert_array_equal(where_counts, counts)
    np.testing.assert_allclose(accuracy, expected)
    seen = seen_earlier(split.source, split.target)
    half, half_counts = accuracy_by_chars_typed(
        split.source, split.target, split.lengths, topk, max_chars=4, where=seen
    )
    assert (half_counts <= counts).all() and 0 < half_counts.sum() < counts.sum()
    # the mask selects exactly the flagged real positions
    real = np.arange(split.source.shape[1])[None] < split.lengths[:, None]
    assert half_counts.sum() == (seen & real & (chars_typed(split.source) <= 4)).sum()


def test_seen_earlier_flags_whole_repeated_words():
    vocab = data.Vocabulary.build(" she was not sure she was", 10)
    source, target = data.align(" she was not sure she was", vocab)
    flags = seen_earlier(source[None], target[None])[0]
    assert flags.tolist() == [False] * 17 + [True] * 8
    unknown = data.Vocabulary.build(" she was", 1)  # "was" is out of vocabulary: never "seen"
    source, target = data.align(" was was", unknown)
    assert not seen_earlier(source[None], target[None]).any()


def test_sequence_metrics_add_up_to_evaluate():
    """The per-sequence sums behind the bootstrap intervals reproduce ``evaluate``'s figures exactly."""
    from memviz.data import Split
    from memviz.evaluation import metrics

    model = AutocompleteModel(
        ModelConfig(cell="gru", num_layers=1, hidden_features=8, embedding_features=8, num_words=6), rngs=nnx.Rngs(0)
    )
    rng = np.random.default_rng(0)
    lengths = np.array([7, 3, 9, 5], np.int32)
    real = np.arange(9) < lengths[:, None]
    split = Split(
        source=np.where(real, rng.integers(1, 28, (4, 9)), 0).astype(np.uint8),
        target=np.where(real, rng.integers(1, 6, (4, 9)), 0).astype(np.int32),
        lengths=lengths,
    )
    counts = np.array([0, 0, 5, 1, 3, 2])
    per = metrics.sequence_metrics(model, split, counts, batch_size=3)
    whole = metrics.evaluate(model, split, counts, batch_size=3)
    has = per["trained"] > 0
    assert np.mean(per["loss"][has] / per["trained"][has]) == pytest.approx(whole["cross_entropy"])
    assert per["hits"].sum() / per["positions"].sum() == pytest.approx(whole["accuracy"])
    assert np.mean(per["unigram_loss"][has] / per["trained"][has]) == pytest.approx(whole["unigram_cross_entropy"])
    assert per["positions"].tolist() == lengths.tolist()
