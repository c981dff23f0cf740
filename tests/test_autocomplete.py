"""memviz.analysis.autocomplete: the demo's suggestions against an unpadded forward pass and a plain jax.grad,
the text preparation, and one compilation per bucket (never one per text length)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from memviz import data, viz
from memviz.analysis import autocomplete
from memviz.models.model import NUM_CHARS, AutocompleteModel, ModelConfig
from memviz.viz import style

WORDS = ("<eos>", "<unknown>", *(f"w{i}" for i in range(30)))


def tiny_model(cell: str = "gru", seed: int = 0) -> AutocompleteModel:
    config = ModelConfig(cell=cell, num_layers=2, hidden_features=8, embedding_features=6, num_words=len(WORDS))
    return AutocompleteModel(config, rngs=nnx.Rngs(seed))


VOCAB = data.Vocabulary(WORDS)


def test_prepare_text():
    assert autocomplete.prepare_text("Parts of North Af") == " parts of north af"
    assert autocomplete.prepare_text("parts of  north ") == " parts of north "  # a finished word: next word
    assert autocomplete.prepare_text("") == " " and autocomplete.prepare_text("1") == " one"
    long = autocomplete.prepare_text("ab " * 200)
    assert len(long) == autocomplete.MAX_CHARS and long.endswith("ab ")


def test_buckets():
    assert [autocomplete.bucket(n) for n in (1, 32, 33, 200, 201, 256)] == [32, 32, 64, 200, 256, 256]
    for bad in (0, 257):
        with pytest.raises(ValueError, match="characters"):
            autocomplete.bucket(bad)


@pytest.mark.parametrize("cell", ["gru", "lstm", "nlstm"])
def test_suggest_matches_an_unpadded_pass_and_jax_grad(cell):
    model = tiny_model(cell)
    text = " the cat sat on th"
    result = autocomplete.suggest(model, text, VOCAB, k=3)
    source = jnp.asarray(data.encode_chars(text), jnp.int32)
    probs = np.asarray(jax.nn.softmax(model(source[None])[0, -1]))  # no padding at all
    top = np.argsort(-probs)[:3]
    assert result.words == tuple(VOCAB.decode(top)) and result.typed == "th" and result.text == text
    np.testing.assert_allclose(result.probs, probs[top], rtol=1e-5)
    np.testing.assert_allclose(result.output, probs, rtol=1e-5, atol=1e-7)

    table = model.embedding_table()

    def top_logit(onehot):  # the article's definition, written out: d logit_k(last) / d one-hot input
        return (
            model(source[None])[0, -1, top[0]]
            if onehot is None
            else model.logits(model.recur((onehot @ table)[None])[0, -1])[top[0]]
        )

    grad = jax.grad(top_logit)(jax.nn.one_hot(source, NUM_CHARS))
    np.testing.assert_allclose(result.connectivity, np.sum(np.asarray(grad) ** 2, axis=-1), rtol=1e-4, atol=1e-10)
    assert result.normalized().max() == pytest.approx(1.0)


def test_top_words_at_every_character():
    model = tiny_model("lstm", seed=3)
    text = " a bb ccc"
    words, probs = autocomplete.top_words(model, text, VOCAB, k=2)
    full = np.asarray(jax.nn.softmax(model(jnp.asarray(data.encode_chars(text), jnp.int32)[None])[0], axis=-1))
    assert len(words) == len(text) and probs.shape == (len(text), 2)
    for t in range(len(text)):
        top = np.argsort(-full[t])[:2]
        assert words[t] == tuple(VOCAB.decode(top))
        np.testing.assert_allclose(probs[t], full[t, top], rtol=1e-5)


def test_one_compilation_per_bucket_not_per_length():
    model = tiny_model("gru", seed=7)  # a new structure: nothing compiled for it yet
    before = autocomplete.TRACES.copy()
    for n in range(1, 63, 3):  # 21 different lengths (2 … 62 characters with the leading space), two buckets
        autocomplete.suggest(model, "a" * n, VOCAB)
    new = autocomplete.TRACES - before
    # at most once per bucket (bucket 32 may already be compiled for this structure by another test)
    assert set(new) <= {(32, "last"), (64, "last")} and set(new.values()) <= {1} and (64, "last") in new


def test_output_strip_and_static_twin():
    probs = np.arange(300, dtype=float)
    np.testing.assert_array_equal(autocomplete.output_strip(probs, bins=100), np.arange(2, 300, 3))
    model = tiny_model()
    suggestions = [autocomplete.suggest(model, "a cat", VOCAB, name=name) for name in ("GRU", "Nested LSTM")]
    spec = viz.autocomplete_panels(suggestions).to_dict()
    assert "a cat" in spec["title"]["text"] and len(spec["vconcat"]) == 2
    labels = json_labels(spec)
    assert "typed: “cat”" in labels and viz.suggestion_label(suggestions[0].words[0], suggestions[0].probs[0]) in labels
    # viridis(1/3) for an empty bin, viridis(2/3) (the connectivity green) for the fullest: the article's mapping
    assert style.output_strip_colour(0) == style.CONNECTIVITY_PALETTE[85 - 74] and style.output_strip_colour(
        1
    ) == style.connectivity_colour(1.0)


def json_labels(spec) -> set[str]:
    return {row["label"] for rows in spec["datasets"].values() for row in rows if "label" in row}
