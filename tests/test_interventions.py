"""Interventions against running the cut or swapped text through the model by hand."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from flax import nnx

from memviz import data
from memviz.analysis import interventions, shares
from memviz.models.model import AutocompleteModel, ModelConfig

TEXT = (
    "the cat sat on the mat and the cat ate the rat then the dog sat on the cat "
    "a man and a maid sat at the table the man ate and the maid sang then they sat "
) * 6


@pytest.fixture(scope="module")
def dataset():
    return data.from_text(TEXT, vocab_size=20, max_length=60)


@pytest.fixture(scope="module")
def model(dataset):
    config = ModelConfig(
        cell="lstm", num_layers=1, hidden_features=12, embedding_features=8, num_words=len(dataset.vocab)
    )
    model = AutocompleteModel(config, rngs=nnx.Rngs(3))
    nnx.update(model.layers, jax.tree.map(lambda p: 1.5 * p, nnx.state(model.layers, nnx.Param)))
    return model


_FORWARD = {}


def _forward(model):
    """The model's plain forward pass, jitted."""
    return _FORWARD.setdefault(id(model), jax.jit(lambda ids: model(ids)))


def by_hand(model, vocab, text: str, word: str):
    """Run ``text`` (normalised, starting with a space) through the model; top-3 and log p(word) at every position."""
    ids = data.encode_chars(text)  # padded at the end to one width (one compilation): the model is causal
    logits = _forward(model)(jnp.asarray(np.pad(ids, (0, 64 - len(ids))), jnp.int32)[None])[0, : len(ids)]
    log_p = jax.nn.log_softmax(logits, axis=-1)
    return np.asarray(jax.lax.top_k(logits, 3)[1]), np.asarray(log_p[:, vocab.id(word)])


@pytest.mark.parametrize("context_words", [0, 1, 2, None])
def test_cut_context_matches_the_cut_text(dataset, model, context_words):
    split = dataset.train[:3]
    ids, log_p = interventions.predict_cut(model, split, context_words, batch_size=16)
    checked = 0
    for row in range(len(split)):
        words = split.text(row).split()
        position = 0
        for i, word in enumerate(words):
            kept = words if context_words is None else words[max(0, i - context_words) : i + 1]
            text = " " + " ".join(kept if context_words is not None else words[: i + 1])
            top, true = by_hand(model, dataset.vocab, text, word)
            n = len(word) + 1  # the word's leading space and letters: the last n positions of the cut text
            np.testing.assert_array_equal(ids[row, position : position + n], top[-n:])
            np.testing.assert_allclose(log_p[row, position : position + n], true[-n:], rtol=1e-4, atol=1e-5)
            position += n
            checked += n
        assert position == split.lengths[row]
        assert (ids[row, position:] == 0).all()
    assert checked == split.lengths.sum()


def test_cutting_changes_predictions(dataset, model):
    split = dataset.train[:3]
    zero, _ = interventions.predict_cut(model, split, 0)
    everything, _ = interventions.predict_cut(model, split, None)
    starts = split.source == data.SPACE_ID
    assert (zero[starts][:, 0] != everything[starts][:, 0]).any()
    first = np.zeros_like(starts)
    first[:, :4] = True  # the first word has no context to cut: identical
    np.testing.assert_array_equal(zero[first], everything[first])


def test_share_before_cut():
    source = data.encode_chars(" ab cd ef")
    matrix = np.tril(np.ones((9, 9)))
    share = shares.share_before_cut(matrix, source, 1)
    # row 8 ('f', word 2): cut to 1 word keeps " cd ef" (from position 3): 3 of its 9 inputs are removed
    assert share[8] == pytest.approx(3 / 9)
    assert share[5] == pytest.approx(0.0)  # word 1 keeps word 0: nothing removed
    zero = shares.share_before_cut(matrix, source, 0)
    assert zero[8] == pytest.approx(6 / 9) and zero[2] == 0


def test_swaps_replace_the_first_occurrence(dataset, model):
    vocab = dataset.vocab
    counts = data.word_counts(dataset.train, len(vocab))
    split = dataset.test
    swaps = interventions.swap_earlier_occurrences(split, vocab, counts, skip_most_frequent=2, bands=(0, 5, 10), seed=1)
    assert len(swaps) > 0
    band = interventions.frequency_bands(counts, (0, 5, 10))
    for j in range(len(swaps)):
        before, after = swaps.original.text(j).split(), swaps.swapped.text(j).split()
        word, substitute = vocab.words[swaps.words[j]], vocab.words[swaps.substitutes[j]]
        changed = [i for i, (a, b) in enumerate(zip(before, after)) if a != b]
        assert len(changed) == 1 and before[changed[0]] == word and after[changed[0]] == substitute
        assert before.index(word) == changed[0] and before.count(word) >= 2  # the first of several
        assert len(substitute) == len(word) and band[swaps.substitutes[j]] == band[swaps.words[j]]
        assert substitute not in before
        repeat_text = "".join(np.array(list(swaps.original.text(j)))[swaps.repeat[j, : swaps.original.lengths[j]]])
        assert repeat_text == " " + word
    # predictions on the swapped copy are the model's on the swapped text
    _, ids_b, _, _ = interventions.repeat_predictions(model, swaps)
    top, _ = by_hand(model, vocab, swaps.swapped.text(0), vocab.words[swaps.words[0]])
    np.testing.assert_array_equal(ids_b[0, : swaps.swapped.lengths[0]], top)
    per = interventions.per_sequence(swaps.repeat.astype(float), swaps.rows, len(split))
    assert per.sum() == swaps.repeat.sum()


def test_context_use_is_its_parts(dataset, model):
    from memviz.analysis import connectivity
    from memviz.evaluation import context_use, metrics

    split = dataset.test
    counts = data.word_counts(dataset.train, len(dataset.vocab))
    swaps = interventions.swap_earlier_occurrences(
        split, dataset.vocab, counts, skip_most_frequent=2, bands=(0, 5, 10), seed=1
    )
    use = context_use.context_use(model, split, swaps, n_connectivity=2, max_chars=4).set_index("measure").value
    in_word = []
    for i in range(2):
        n = split.lengths[i]
        matrix = connectivity.connectivity_matrix(model, split.source[i, :n], split.target[i, :n])
        in_word.append(np.nanmean(shares.connectivity_share_in_word(matrix, split.text(i))[split.target[i, :n] > 1]))
    assert use["in-word share"] == pytest.approx(np.mean(in_word), rel=1e-5)
    full, _ = interventions.predict_cut(model, split, None)
    alone, _ = interventions.predict_cut(model, split, 0)
    a, _ = metrics.accuracy_by_chars_typed(split.source, split.target, split.lengths, full, max_chars=4)
    b, counts_by_typed = metrics.accuracy_by_chars_typed(split.source, split.target, split.lengths, alone, max_chars=4)
    want = ((a[0] - b[0]) * counts_by_typed).sum() / counts_by_typed.sum()
    assert use["accuracy lost, cut to 0 words"] == pytest.approx(want)


def test_context_use_from_computed_parts_is_the_same(dataset, model):
    from memviz.evaluation import context_use

    split = dataset.test
    counts = data.word_counts(dataset.train, len(dataset.vocab))
    swaps = interventions.swap_earlier_occurrences(split, dataset.vocab, counts, skip_most_frequent=2, bands=(0, 5, 10))
    fresh = context_use.context_use(model, split, swaps, n_connectivity=2, max_chars=4)
    computed = context_use.parts(model, split, swaps, n_connectivity=2)
    again = context_use.context_use(model, split, swaps, n_connectivity=2, max_chars=4, computed=computed)
    pd.testing.assert_frame_equal(fresh, again)
    with pytest.raises(ValueError, match="connectivity matrices"):
        context_use.context_use(model, split, swaps, n_connectivity=1, max_chars=4, computed=computed)
