"""Connectivity of a reader's own JAX model (memviz.models.protocol): flax's nnx.RNN, a causal Transformer and a plain
function, each checked against jax.grad on the original model, and the errors for what does not fit."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from own_models_helpers import CausalTransformer

from memviz import data
from memviz.analysis import connectivity
from memviz.models.model import NUM_CHARS
from memviz.models.protocol import CharacterModel, EmbedRecurrentModel, FunctionModel

TEXT = " the cat sat on"
WORDS = 9  # output classes of the toy models


def _ids():
    source = data.encode_chars(TEXT)
    targets = np.random.default_rng(0).integers(2, WORDS, len(TEXT))
    return source, targets


def _reference(forward, table, source, targets, module=None) -> np.ndarray:
    """The article's definition, one gradient per output row: of the true word's logit with respect to the embedded
    input, through the embedding table to the 28 one-hot dims, squared and summed. ``forward(e)`` with jax.grad, or
    ``forward(module, e)`` with NNX's own grad (plain jax.grad through nnx.RNN raises TraceContextError)."""
    embedded = jnp.asarray(table)[jnp.asarray(source)][None]
    rows = []
    for t in range(len(source)):
        if module is None:
            g = jax.grad(lambda e, t=t: forward(e)[0, t, targets[t]])(embedded)[0]
        else:
            g = nnx.grad(lambda m, e, t=t: forward(m, e)[0, t, targets[t]], argnums=1)(module, embedded)[0]
        rows.append(np.asarray(jnp.sum((g @ jnp.asarray(table).T) ** 2, axis=-1)))
    return np.stack(rows)


@pytest.mark.parametrize("cell", ["gru", "lstm", "simple"])
def test_flax_rnn_cells(cell):
    rngs = nnx.Rngs(0)
    make = {"gru": nnx.GRUCell, "lstm": nnx.LSTMCell, "simple": nnx.SimpleCell}
    embed = nnx.Embed(NUM_CHARS, 6, rngs=rngs)
    rnn = nnx.RNN(make[cell](6, 8, rngs=rngs), rngs=rngs)
    head = nnx.Linear(8, WORDS, rngs=rngs)
    model = EmbedRecurrentModel(embed, rnn, head, name=f"flax {cell}")
    assert isinstance(model, CharacterModel) and model.num_words == WORDS
    source, targets = _ids()
    got = connectivity.connectivity_matrix(model, source, targets, chunk_size=4)

    parts = nnx.List([rnn, head])
    want = _reference(lambda m, e: m[1](m[0](e)), embed.embedding[...], source, targets, module=parts)
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=1e-9)
    assert np.all(np.triu(got, k=1) == 0) and np.all(np.diag(got) > 0)  # causal, and each output reads its input
    result = connectivity.connectivity_result(
        model, source, targets, data.Vocabulary(("<eos>", "<unknown>", *(f"w{i}" for i in range(WORDS - 2))))
    )
    assert result.model == f"flax {cell}" and len(result.top_words[0]) == 3


def test_a_causal_transformer():
    net = CausalTransformer(rngs=nnx.Rngs(1), words=WORDS)  # its __call__ is the body: embedded -> hidden
    model = EmbedRecurrentModel(net.embed, net, net.head, name="Transformer")
    source, targets = _ids()
    got = connectivity.connectivity_matrix(model, source, targets, chunk_size=5)
    want = _reference(lambda m, e: m.head(m(e)), net.embed.embedding[...], source, targets, module=net)
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=1e-9)
    assert np.all(np.triu(got, k=1) == 0)  # the causal mask: nothing reads ahead
    assert (got[-1, :3] > 0).all()  # a Transformer reads the whole past at once


def test_a_plain_function():
    """``(params, onehot) -> logits``: a causal convolution over the last three characters, then a readout."""
    key = jax.random.PRNGKey(2)
    params = {"taps": jax.random.normal(key, (3, NUM_CHARS, 5)), "out": jax.random.normal(key, (5, WORDS))}

    def apply(p, onehot):
        padded = jnp.pad(onehot, ((0, 0), (2, 0), (0, 0)))
        hidden = sum(padded[:, 2 - k : padded.shape[1] - k] @ p["taps"][k] for k in range(3))
        return jnp.tanh(hidden) @ p["out"]

    model = FunctionModel(apply, params, num_words=WORDS, name="my function")
    source, targets = _ids()
    got = connectivity.connectivity_matrix(model, source, targets)
    want = _reference(lambda e: apply(params, e), np.eye(NUM_CHARS), source, targets)
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=1e-9)
    band = np.tril(np.ones_like(got, bool)) & ~np.tril(np.ones_like(got, bool), k=-3)  # the last three characters
    assert np.all(got[~band] == 0) and np.all(got[band] > 0)
    np.testing.assert_allclose(connectivity.connectivity_by_definition(model, source, targets), got, rtol=2e-4)


def test_a_vocabulary_that_does_not_fit_is_an_error():
    params = {"out": jnp.ones((NUM_CHARS, WORDS))}
    model = FunctionModel(lambda p, oh: oh @ p["out"], params, num_words=WORDS, name="tiny")
    source, targets = _ids()
    with pytest.raises(ValueError, match="another vocabulary"):
        connectivity.connectivity_matrix(model, source, np.full_like(targets, WORDS + 3))
    big = data.Vocabulary(("<eos>", "<unknown>", *(f"w{i}" for i in range(40))))
    with pytest.raises(ValueError, match=r"42 classes but tiny outputs 9"):
        connectivity.compute_connectivity(model, "the cat", big)


def test_what_is_not_a_character_model_is_told_so():
    with pytest.raises(TypeError, match="CharacterModel"):
        connectivity.connectivity_matrix(object(), *_ids())
    with pytest.raises(ValueError, match="28 rows"):
        EmbedRecurrentModel(
            jnp.zeros((27, 4)), nnx.Linear(4, 4, rngs=nnx.Rngs(0)), nnx.Linear(4, WORDS, rngs=nnx.Rngs(0)), name="x"
        )


def _function_model(words: int):
    """A causal model of the last two characters, as a plain function, with ``words`` output classes."""
    key = jax.random.PRNGKey(3)
    params = {"now": jax.random.normal(key, (NUM_CHARS, words)), "before": jax.random.normal(key, (NUM_CHARS, words))}

    def apply(p, onehot):
        previous = jnp.pad(onehot, ((0, 0), (1, 0), (0, 0)))[:, :-1]
        return onehot @ p["now"] + previous @ p["before"]

    return FunctionModel(apply, params, num_words=words, name="bigram function"), apply, params


def test_accuracy_and_interventions_take_any_model():
    from memviz.analysis import interventions
    from memviz.evaluation import metrics

    dataset = data.from_text(" the cat sat on the mat and the dog sat on the log " * 6, max_length=40)
    model, apply, params = _function_model(len(dataset.vocab))
    split = dataset.test if len(dataset.test) else dataset.train
    logits = apply(params, jax.nn.one_hot(split.source, NUM_CHARS))
    want = np.asarray(jax.lax.top_k(logits, 3)[1])
    np.testing.assert_array_equal(metrics.predict_topk(model, split), want)
    ids, log_p = interventions.predict_cut(model, split, None)
    real = np.arange(split.source.shape[1])[None] < split.lengths[:, None]
    np.testing.assert_array_equal(ids[real], want[real])
    true = np.take_along_axis(np.asarray(jax.nn.log_softmax(logits)), split.target[..., None], -1)[..., 0]
    np.testing.assert_allclose(log_p[real], true[real], rtol=1e-5)
    curve = metrics.autocomplete_accuracy(model, split)
    assert curve.model == "bigram function" and np.all((curve.accuracy >= 0) & (curve.accuracy <= 1))
    assert set(metrics.evaluate(model, split)) >= {"accuracy", "cross_entropy"}


def test_bytes_are_a_clear_error():
    with pytest.raises(TypeError, match=r"must be a str, not bytes: decode it first"):
        data.from_text(b"the cat sat")


def test_connectivity_says_how_it_normalised_the_text():
    model, _, _ = _function_model(9)
    vocab = data.Vocabulary(("<eos>", "<unknown>", *(f"w{i}" for i in range(7))))
    with pytest.warns(UserWarning, match=r"normalised .* ' one nine eight four naive cafe'"):
        result = connectivity.compute_connectivity(model, "1984 Naïve CAFÉ", vocab)
    assert result.text == " one nine eight four naive cafe"
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # case and spacing alone are no news
        connectivity.compute_connectivity(model, "The   cat", vocab)


def test_a_model_whose_outputs_are_not_finite_is_not_analysed():
    model = FunctionModel(lambda p, oh: oh @ p, jnp.full((NUM_CHARS, WORDS), jnp.nan), num_words=WORDS, name="NaN")
    with pytest.raises(ValueError, match="NaN's connectivity is not finite"):
        connectivity.connectivity_matrix(model, *_ids())
