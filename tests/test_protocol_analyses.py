"""Every analysis takes any character model (memviz.models.protocol): flax's nnx.RNN, a causal Transformer and a plain
function, each checked where an answer is known; memviz's own model wrapped as an adapter gives its fast path's answers;
what is recurrent by nature says so."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from own_models_helpers import WORDS, as_adapter, as_function, flax_rnn, function_model, memviz_model, own_models

from memviz import data
from memviz.analysis import attribution, autocomplete, connectivity, interventions, timescales, walkthrough
from memviz.models.model import parameter_counts
from memviz.models.protocol import logits_of

TIME = 9
VOCAB = data.Vocabulary(("<eos>", "<unknown>", *(f"w{i}" for i in range(WORDS - 2))))
TEXT = (
    "the cat sat on the mat and the cat ate the rat then the dog sat on the cat "
    "a man and a maid sat at the table the man ate and the maid sang then they sat "
) * 3


@pytest.fixture(scope="module")
def models():
    return own_models()


@pytest.fixture(scope="module")
def dataset():
    return data.from_text(TEXT, vocab_size=WORDS - 2, max_length=40)


def sequence(seed: int = 0):
    rng = np.random.default_rng(seed)
    source = rng.integers(1, 28, TIME)
    source[[0, 4]] = data.SPACE_ID
    return source, rng.integers(2, WORDS, TIME)


def true_logits(model, embedded, targets) -> np.ndarray:
    """``(T,)``: each position's true-word logit of an embedded text ``(T, E)``, through the protocol only."""
    return np.asarray(model.logits_from_embedded(jnp.asarray(embedded)[None])[0, np.arange(len(targets)), targets])


# ----------------------------------------------------------------------------------------------
# Attributions
# ----------------------------------------------------------------------------------------------


def test_memviz_models_pad_with_a_fixed_zero_row():
    """The claim behind the baseline: row 0 of memviz's table is zero, and stays so whatever the parameters are."""
    model = memviz_model()
    nnx.update(model, jax.tree.map(lambda p: p + 1.0, nnx.state(model, nnx.Param)))
    assert np.all(np.asarray(model.embedding_table()[0]) == 0) and np.all(np.asarray(model.embedding_table()[1:]) != 0)
    source, targets = sequence()
    matrices = attribution.attributions(model, source, targets, steps=2)
    embedded = np.asarray(model.embedding_table())[source]
    gradient = jax.grad(lambda e: model.logits_from_embedded(e[None])[0, 5, targets[5]])(jnp.asarray(embedded))
    np.testing.assert_allclose(  # gradient × (input − baseline) is gradient × input: the baseline is zero
        matrices["gradient × input"][5], np.sum(np.asarray(gradient) * embedded, axis=-1), rtol=1e-4, atol=1e-7
    )
    occluded = embedded.copy()
    occluded[3] = 0.0  # the zero baseline itself
    want = true_logits(model, embedded, targets)[5] - true_logits(model, occluded, targets)[5]
    assert matrices["occlusion (replace)"][5, 3] == pytest.approx(want, rel=1e-4, abs=1e-6)


@pytest.mark.parametrize("wrap", [as_adapter, as_function], ids=["adapter", "function"])
def test_memviz_model_through_the_protocol_gives_the_fast_paths_attributions(wrap):
    model = memviz_model()
    wrapped = wrap(model)
    source, targets = sequence(1)
    fast = attribution.attributions(model, source, targets, steps=4)
    slow = attribution.attributions(wrapped, source, targets, steps=4)
    for method in attribution.METHODS:
        got, want = slow[method].copy(), fast[method].copy()
        if method == "occlusion (remove)":  # the empty text: the zero state there, the padding character alone here
            assert got[0, 0] == pytest.approx(slow["occlusion (replace)"][0, 0], abs=1e-6)
            got[0, 0] = want[0, 0] = 0.0
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5, err_msg=method)
    gap_fast = attribution.completeness_gap(model, source, targets, fast["integrated gradients"])
    gap_slow = attribution.completeness_gap(wrapped, source, targets, slow["integrated gradients"])
    np.testing.assert_allclose(gap_slow, gap_fast, rtol=1e-3, atol=1e-6)


@pytest.mark.parametrize("name", ["flax gru", "Transformer", "my function"])
def test_attributions_of_any_model(models, name):
    model = models[name]
    source, targets = sequence(2)
    matrices = attribution.attributions(model, source, targets, steps=4)
    assert list(matrices) == list(attribution.METHODS)
    for method, matrix in matrices.items():
        assert matrix.shape == (TIME, TIME) and np.isfinite(matrix).all(), method
        assert np.all(np.triu(matrix, k=1) == 0), method  # causal
    np.testing.assert_allclose(
        matrices["connectivity"], connectivity.connectivity_matrix(model, source, targets), rtol=1e-4, atol=1e-9
    )
    # Occlusion by replacement against the baseline, the padding character's (learned) embedding, by hand.
    table = np.asarray(model.embedding_table())
    embedded = table[source]
    occluded = embedded.copy()
    occluded[2] = table[data.PAD_ID]
    want = true_logits(model, embedded, targets)[6] - true_logits(model, occluded, targets)[6]
    assert matrices["occlusion (replace)"][6, 2] == pytest.approx(want, rel=1e-4, abs=1e-6)
    # Removal: the text closed up, read one position earlier.
    closed = np.delete(embedded, 2, axis=0)
    want = true_logits(model, embedded, targets)[6] - true_logits(model, closed, np.roll(targets, -1)[:-1])[5]
    assert matrices["occlusion (remove)"][6, 2] == pytest.approx(want, rel=1e-4, abs=1e-6)
    # The path derivative gives the same completeness gap as the attributions' own integrated gradients.
    gaps, peakiness = attribution.completeness_by_steps(model, source, targets, steps=(4,))
    gap = attribution.completeness_gap(model, source, targets, matrices["integrated gradients"])
    np.testing.assert_allclose(gaps[4], gap, rtol=1e-3, atol=1e-5)
    assert peakiness.shape == (TIME,)


def test_texts_longer_than_one_batch_of_rows(models):
    """A generic model's rows and copies go attribution.ROWS at a time: a whole batch and a remainder agree too."""
    model = models["my function"]
    length = attribution.ROWS + 5
    source = np.random.default_rng(4).integers(1, 28, length)
    targets = np.random.default_rng(5).integers(2, WORDS, length)
    matrices = attribution.attributions(model, source, targets, steps=2)
    np.testing.assert_allclose(
        matrices["connectivity"], connectivity.connectivity_matrix(model, source, targets), rtol=1e-4, atol=1e-9
    )
    table = np.asarray(model.embedding_table())
    embedded = table[source]
    for t_out, t_in in [(length - 1, length - 2), (3, 1)]:
        occluded = embedded.copy()
        occluded[t_in] = table[data.PAD_ID]
        want = true_logits(model, embedded, targets)[t_out] - true_logits(model, occluded, targets)[t_out]
        assert matrices["occlusion (replace)"][t_out, t_in] == pytest.approx(want, rel=1e-4, abs=1e-6)
        closed = np.delete(embedded, t_in, axis=0)
        want = true_logits(model, embedded, targets)[t_out] - true_logits(model, closed, targets[1:])[t_out - 1]
        assert matrices["occlusion (remove)"][t_out, t_in] == pytest.approx(want, rel=1e-4, abs=1e-6)


def test_integrated_gradients_of_any_model_are_complete_against_its_padding_baseline(models):
    model = models["flax gru"]  # an nnx.Embed: its row 0 is learned, not zero
    assert np.abs(np.asarray(model.embedding_table()[0])).sum() > 0
    source, targets = sequence(3)
    integrated = attribution.attributions(model, source, targets, steps=64)["integrated gradients"]
    table = np.asarray(model.embedding_table())
    change = true_logits(model, table[source], targets) - true_logits(
        model, np.broadcast_to(table[0], (TIME, 6)), targets
    )
    np.testing.assert_allclose(integrated.sum(axis=1), change, rtol=2e-2, atol=2e-3)


def test_text_summaries_of_any_model(dataset):
    model = function_model(len(dataset.vocab))
    out = attribution.text_summaries(model, dataset.train, [0, 1], 12, steps=2)
    assert len(out) == 2
    summary, matrix, gap = out[0]
    assert set(summary) == set(attribution.METHODS) and matrix.shape == (12, 12) and np.isfinite(gap)


# ----------------------------------------------------------------------------------------------
# The live autocomplete demo, the explorer, the walkthrough
# ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["flax gru", "Transformer", "my function"])
def test_suggestions_of_any_model_are_its_top_logits(models, name):
    model = models[name]
    text = " the cat sat on th"
    result = autocomplete.suggest(model, text, VOCAB, k=3)
    source = jnp.asarray(data.encode_chars(text), jnp.int32)
    logits = np.asarray(logits_of(model, source[None])[0])  # no padding at all
    probs = np.asarray(jax.nn.softmax(logits[-1]))
    top = np.argsort(-probs)[:3]
    assert result.model == name and result.words == tuple(VOCAB.decode(top)) and result.typed == "th"
    np.testing.assert_allclose(result.probs, probs[top], rtol=1e-5)
    # The connectivity of the last output: of its top word's logit, as the definition reads.
    row = connectivity.connectivity_matrix(model, np.asarray(source), np.full(len(text), top[0]))[-1]
    np.testing.assert_allclose(result.connectivity, row, rtol=1e-4, atol=1e-9)
    words, top_probs = autocomplete.top_words(model, text, VOCAB, k=2)
    assert words == [tuple(VOCAB.decode(np.argsort(-r)[:2])) for r in logits] and top_probs.shape == (len(text), 2)


def test_suggestions_need_the_models_vocabulary(models):
    with pytest.raises(ValueError, match="classes but Transformer outputs"):
        autocomplete.suggest(models["Transformer"], "the", data.Vocabulary(("<eos>", "<unknown>", "a")))


def test_the_demo_and_the_explorer_take_any_model(models):
    from memviz.frontend import widgets

    demo = widgets.AutocompleteDemo(models, VOCAB, text="the ca", order=None)
    assert [s.model for s in demo.suggestions] == list(models)
    assert demo.suggestions[1].words == autocomplete.suggest(models["Transformer"], "the ca", VOCAB).words

    compute = widgets.own_text({"Transformer": models["Transformer"], "my function": models["my function"]}, VOCAB)
    explorer = widgets.ConnectivityExplorer(list(compute("the cat")), compute=compute, order=None)
    assert [r.model for r in explorer.results] == ["Transformer", "my function"]
    explorer.text.value = "a dog sat"
    explorer._on_compute()
    assert "could not" not in explorer.status.value
    assert [r.text for r in explorer.results] == [" a dog sat"] * 2
    want = connectivity.compute_connectivity(models["Transformer"], "a dog sat", VOCAB)
    np.testing.assert_allclose(explorer.results[0].raw, want.raw, rtol=1e-5)


def test_a_walkthrough_of_any_models(dataset):
    from memviz.evaluation import metrics

    own = own_models(len(dataset.vocab))
    split = dataset.test if len(dataset.test) else dataset.train
    topk = {name: metrics.predict_topk(model, split) for name, model in own.items()}
    lengths = np.array([0, 0, *(len(w) for w in dataset.vocab.words[2:])])
    index = walkthrough.choose_sequence(split, topk, lengths)
    results = [connectivity.sequence_connectivity(m, split, index, dataset.vocab, name=n) for n, m in own.items()]
    steps = walkthrough.choose_steps(results)
    assert steps and all(name in step.caption for step in steps for name in own)
    assert all(step.model in (None, *own) for step in steps)


# ----------------------------------------------------------------------------------------------
# Interventions, context use, parameters; what is recurrent by nature
# ----------------------------------------------------------------------------------------------


def test_repeat_predictions_and_context_use_of_any_model(dataset):
    from memviz.evaluation import context_use

    model = flax_rnn("gru", len(dataset.vocab))
    split = dataset.train
    counts = data.word_counts(split, len(dataset.vocab))
    swaps = interventions.swap_earlier_occurrences(split, dataset.vocab, counts, skip_most_frequent=1, bands=(0,))
    assert len(swaps)
    ids_a, ids_b, lp_a, lp_b = interventions.repeat_predictions(model, swaps)
    np.testing.assert_array_equal(ids_a, interventions.predict_cut(model, swaps.original, None)[0])
    np.testing.assert_array_equal(ids_b, interventions.predict_cut(model, swaps.swapped, None)[0])
    row = swaps.swapped
    n = int(row.lengths[0])
    log_p = np.asarray(jax.nn.log_softmax(logits_of(model, jnp.asarray(row.source[:1, :n], jnp.int32))[0]))
    np.testing.assert_allclose(lp_b[0, :n], log_p[np.arange(n), row.target[0, :n]], rtol=1e-5, atol=1e-6)
    use = context_use.context_use(model, split, swaps, n_connectivity=2, max_chars=4)
    assert list(use.measure) == ["in-word share", "reach beyond 2 words", "accuracy lost, cut to 0 words",
                                 "recall lost on repeats"]  # fmt: skip
    assert np.isfinite(use.value[:3]).all()


def test_parameter_count_of_any_model(models):
    from memviz.evaluation import variants

    model = memviz_model()
    assert variants.parameter_count(model) == sum(parameter_counts(model).values())
    gru = models["flax gru"]
    parts = [gru.embed, gru.body.cell, gru.head]
    want = sum(np.size(x) for part in parts for x in jax.tree.leaves(nnx.state(part, nnx.Param)))
    assert variants.parameter_count(gru) == want < sum(np.size(x) for x in jax.tree.leaves(nnx.state(gru)))
    assert want == 28 * 6 + (6 * 8 + 8) * 3 + 8 * 8 * 3 + 8 * 9 + 9  # embed, GRU (input with bias, hidden), head
    assert variants.parameter_count(models["my function"]) == 3 * 28 * 5 + 5 * WORDS


def test_recurrent_only_analyses_say_so(models, dataset):
    with pytest.raises(TypeError, match="Transformer .* has none to read"):
        timescales.mean_retention(models["Transformer"], dataset.train)
    with pytest.raises(TypeError, match="AutocompleteModel"):
        connectivity.gradient_by_distance(models["flax gru"], data.encode_chars(" the"))
