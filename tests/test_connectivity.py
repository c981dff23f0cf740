"""Connectivity: against finite differences, a loop of jax.grad calls, causality, and hand-built cases."""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from memviz import data
from memviz.analysis import connectivity
from memviz.analysis.connectivity import (
    _schedule,
    compute_connectivity,
    connectivity_by_definition,
    connectivity_matrix,
    gradient_by_distance,
    sequence_connectivity,
)
from memviz.analysis.shares import connectivity_share_in_word, share_in_word_by_chars_typed
from memviz.core.paths import DATA_DIR
from memviz.core.results import ConnectivityResult
from memviz.models.cells import CELLS
from memviz.models.model import NUM_CHARS, AutocompleteModel, ModelConfig

TIME = 13  # not a multiple of any chunk size used below
WORDS = 17


def tiny_model(cell: str, num_layers: int = 2, seed: int = 0, num_words: int = WORDS) -> AutocompleteModel:
    config = ModelConfig(cell=cell, num_layers=num_layers, hidden_features=8, embedding_features=6, num_words=num_words)
    model = AutocompleteModel(config, rngs=nnx.Rngs(seed))
    # Larger recurrent weights than glorot gives, so that far inputs still matter at T = 13.
    state = nnx.state(model.layers, nnx.Param)
    nnx.update(model.layers, jax.tree.map(lambda p: 1.5 * p, state))
    return model


def sequence(seed: int = 0, time: int = TIME):
    rng = np.random.default_rng(seed)
    source = rng.integers(1, NUM_CHARS, time)
    source[0] = data.SPACE_ID
    return source, rng.integers(2, WORDS, time)


@pytest.fixture(scope="module")
def gru():
    model = tiny_model("gru")
    source, targets = sequence()
    return model, source, targets, connectivity_matrix(model, source, targets)


@pytest.mark.parametrize("cell", sorted(CELLS))
def test_equals_a_loop_of_per_position_grads(cell):
    model = tiny_model(cell, num_layers=1 if cell == "nlstm" else 2)
    source, targets = sequence(1)
    got = connectivity_matrix(model, source, targets, chunk_size=4)
    want = connectivity_by_definition(model, source, targets)
    np.testing.assert_allclose(got, want, rtol=2e-4, atol=1e-7 * want.max())
    assert np.all(np.diag(got) > 0) and got[-1, 0] > 1e-6 * got.max()  # far inputs matter too


def test_equals_central_finite_differences(gru):
    """Perturb the embedded input at t along each one-hot direction's embedding E_v: d logit / d onehot_v = g_t·E_v."""
    model, source, targets, got = gru
    table = model.embedding_table()
    eps = 1e-2
    embedded = table[jnp.asarray(source)]  # (T, embedding)
    # Every (t, v, ±) perturbation is one sequence; one batched forward gives every output's logit.
    t, v, sign = np.meshgrid(np.arange(TIME), np.arange(NUM_CHARS), [1.0, -1.0], indexing="ij")
    shift = (
        jnp.zeros((t.size, TIME, embedded.shape[1]))
        .at[np.arange(t.size), t.ravel()]
        .set(eps * sign.ravel()[:, None] * table[v.ravel()])
    )
    logits = jax.jit(lambda e: model.logits(model.recur(e)))(embedded[None] + shift)  # (t·v·2, T, words)
    true = np.asarray(logits[:, np.arange(TIME), targets]).reshape(TIME, NUM_CHARS, 2, TIME)
    slope = (true[:, :, 0] - true[:, :, 1]) / (2 * eps)  # (t_in, v, t_out)
    want = np.sum(slope**2, axis=1).T  # (t_out, t_in)
    big = want > 1e-3 * want.max()
    np.testing.assert_allclose(got[big], want[big], rtol=2e-2)
    assert big.sum() > TIME  # the comparison covers more than the diagonal


def test_causal_upper_triangle_exactly_zero(gru):
    _, _, _, got = gru
    assert np.all(np.triu(got, 1) == 0.0)
    assert np.all(got[np.tril_indices(TIME)] > 0)


def test_zero_recurrent_weights_connect_each_output_to_its_own_input_only():
    """With the h-part of every kernel at zero, the tanh RNN has no memory: a diagonal matrix.

    (Gated cells keep memory even then, through u ⊙ h or the cell state, so this holds for the RNN only.)
    """
    model = tiny_model("rnn")
    for layer in model.layers:
        layer.kernel[...] = layer.kernel[...].at[layer.in_features :].set(0.0)
    source, targets = sequence(2)
    got = connectivity_matrix(model, source, targets)
    off_diagonal = got[~np.eye(TIME, dtype=bool)]
    assert np.all(off_diagonal == 0.0)
    assert np.all(np.diag(got) > 0)


def test_plain_norm_squared_is_the_squared_norm(gru):
    model, source, targets, squared = gru
    plain = connectivity_matrix(model, source, targets, squared=False)
    np.testing.assert_allclose(plain**2, squared, rtol=1e-5)
    by_definition = connectivity_by_definition(model, source, targets, squared=False)
    np.testing.assert_allclose(plain, by_definition, rtol=2e-4, atol=1e-7 * plain.max())


def test_chunk_size_does_not_change_the_result(gru):
    model, source, targets, want = gru  # chunk_size 64: four walks side by side
    for chunk_size in (1, 40):  # one walk of one row at a time; two walks side by side
        np.testing.assert_allclose(connectivity_matrix(model, source, targets, chunk_size=chunk_size), want, rtol=1e-5)


@pytest.mark.parametrize("length, chunk_size", [(1, 64), (5, 64), (7, 3), (198, 64), (2000, 64), (33, 1)])
def test_schedule_visits_every_causal_pair_once(length, chunk_size):
    lanes, parallel, taus, row0, starts = _schedule(length, chunk_size)
    rows = row0[:, None, :] + np.arange(lanes)[None, :, None]
    cols = np.broadcast_to(taus[:, None, :], rows.shape)
    keep = (rows < length) & (cols <= rows)
    visits = np.zeros((length, length), int)
    np.add.at(visits, (rows[keep], cols[keep]), 1)
    assert np.array_equal(visits, np.tri(length, dtype=int))
    assert taus.shape[0] % parallel == 0
    # Each walk restarts at time 0 exactly where a chunk starts.
    assert np.all(taus[starts & (row0 < length)] == 0)


@pytest.mark.parametrize("chunk_size", [64, 128])
def test_schedule_wastes_little_at_the_article_length(chunk_size):
    """At most one chunk's width of extra steps per row beyond the causal triangle (T = 198: 22,275)."""
    length = 198
    lanes, _, taus, _, _ = _schedule(length, chunk_size)
    assert taus.size * lanes <= length * (length + 1) // 2 + length * lanes  # 20,904 row-steps here


def test_oov_words_target_unknown_and_still_compute():
    vocab = data.Vocabulary(("<eos>", "<unknown>", "the", "cat", "on", "mat"))
    model = tiny_model("lstm", num_words=len(vocab))
    result = compute_connectivity(model, "The cat sat on the MAT!", vocab, k=2)
    assert result.text == " the cat sat on the mat"
    assert result.targets[8:12] == ("<unknown>",) * 4  # " sat"
    assert result.targets[:4] == ("the",) * 4 and result.targets[-4:] == ("mat",) * 4
    assert result.raw.shape == (23, 23) and np.isfinite(result.raw).all()
    assert np.all(np.diag(result.raw) > 0)
    assert result.model == "LSTM" and len(result.top_words[0]) == 2
    np.testing.assert_array_less(result.top_probs[:, 1], result.top_probs[:, 0] + 1e-7)


def test_sequence_connectivity_trims_a_split_row(gru):
    model, source, targets, want = gru
    vocab = data.Vocabulary(("<eos>", "<unknown>", *(f"w{i}" for i in range(WORDS - 2))))
    other_source, other_targets = sequence(4, TIME + 4)
    split = data.Split(
        np.stack([np.pad(source, (0, 4)), other_source]).astype(np.uint8),
        np.stack([np.pad(targets, (0, 4)), other_targets]).astype(np.int32),
        np.array([TIME, TIME + 4], np.int32),
    )
    result = sequence_connectivity(model, split, 0, vocab, name="mine")
    assert result.model == "mine" and result.length == TIME
    assert result.text == data.decode_chars(source) and result.targets[0] == vocab.words[targets[0]]
    np.testing.assert_allclose(result.raw, want, rtol=1e-6)
    # The top words are the model's most probable, in order.
    logits = np.asarray(model(jnp.asarray(source)[None]))[0]
    assert [vocab.words[i] for i in np.argsort(-logits, axis=-1)[:, 0]] == [w[0] for w in result.top_words]
    result.raw[0, 0] = 0.0  # a writable copy
    # One compilation per padded width: the second row (another length) reuses the first one's function.
    misses = connectivity._connectivity_and_topk._cache_size()
    sequence_connectivity(model, split, 1, vocab)
    assert connectivity._connectivity_and_topk._cache_size() == misses


def test_share_in_word_skips_unknown_targets():
    text = " ab c"
    raw = np.tril(np.ones((5, 5)))
    result = ConnectivityResult(
        model="m",
        text=text,
        targets=("ab", "ab", "ab", "<unknown>", "<unknown>"),
        raw=raw,
        top_words=(("ab",),) * 5,
        top_probs=np.ones((5, 1)),
    )
    np.testing.assert_allclose(connectivity_share_in_word(result), [1, 1, 1, np.nan, np.nan])
    np.testing.assert_allclose(connectivity_share_in_word(result, skip_unknown=False), [1, 1, 1, 1 / 4, 2 / 5])
    mean, counts = share_in_word_by_chars_typed([result])
    assert counts.tolist() == [1, 1, 1] and np.allclose(mean, 1)
    _, counts = share_in_word_by_chars_typed([result], skip_unknown=False)
    assert counts.tolist() == [2, 2, 1]


def test_gradient_by_distance_matches_the_jacobian_column_norms():
    model = tiny_model("lstm")
    source, _ = sequence()
    norms = gradient_by_distance(model, source)
    embedded = model.embed(jnp.asarray(source, jnp.int32)[None])[0]
    step = 3  # d = TIME - 1 - step: by hand, through a single input
    grad = jax.jacrev(lambda e: model.recur(embedded.at[step].set(e)[None])[0, -1])(embedded[step])
    assert norms.shape == (len(source),)
    np.testing.assert_allclose(norms[len(source) - 1 - step], np.sqrt((np.asarray(grad) ** 2).sum()), rtol=1e-5)


def test_share_in_word_by_hand():
    text = " ab c"  # chars typed 0 1 2 0 1; the second word starts at index 3
    raw = np.tril(np.ones((5, 5)))
    share = connectivity_share_in_word(raw, text)
    np.testing.assert_allclose(share, [1, 1, 1, 1 / 4, 2 / 5])
    raw[4] = 0.0  # an all-zero row has no share
    mean, counts = share_in_word_by_chars_typed([(raw, text), (np.tril(np.ones((5, 5))), text)])
    np.testing.assert_array_equal(counts, [4, 3, 2])
    np.testing.assert_allclose(mean, [(1 + 1 / 4) * 2 / 4, (1 + 1 + 2 / 5) / 3, 1])
    mean, counts = share_in_word_by_chars_typed([(raw, text)], max_chars=3)
    assert counts.tolist() == [2, 1, 1, 0] and np.isnan(mean[3])


def test_share_in_word_on_the_articles_data():
    """The article's connectivity figure: mean share over the 198 positions GRU 0.59, LSTM 0.61, NLSTM 0.86;
    at spaces 0.24/0.18/0.36."""
    for name, everywhere, at_spaces in [("gru", 0.59, 0.24), ("lstm", 0.61, 0.18), ("nlstm", 0.86, 0.36)]:
        records = json.loads((DATA_DIR / "distill-2019" / f"connectivity_{name}.json").read_text())
        result = ConnectivityResult.from_records(records, model=name)
        share = connectivity_share_in_word(result)
        assert np.nanmean(share) == pytest.approx(everywhere, abs=0.005)
        assert np.nanmean(share[np.array(list(result.text)) == " "]) == pytest.approx(at_spaces, abs=0.005)
        by_chars, _ = share_in_word_by_chars_typed([result])
        assert by_chars[0] == pytest.approx(at_spaces, abs=0.005)
