"""The autocomplete model: parameter table, embedding, scan vs Python loop, causality, gradients."""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from memviz.models.cells import CELLS
from memviz.models.model import ARTICLE_MODELS, NUM_CHARS, AutocompleteModel, ModelConfig, parameter_counts

BATCH, TIME = 2, 7  # TIME not a multiple of 4, so unroll=4 leaves a remainder


def tiny_config(cell: str, **kw) -> ModelConfig:
    base = dict(cell=cell, num_layers=2, hidden_features=6, embedding_features=5, num_words=11)
    return ModelConfig(**(base | kw))


def tiny_model(cell: str, seed: int = 0, **kw) -> AutocompleteModel:
    model = AutocompleteModel(tiny_config(cell, **kw), rngs=nnx.Rngs(seed))
    # Nonzero biases everywhere, so that a bias that is dropped or doubled shows up.
    for layer in model.layers:
        state = nnx.state(layer, nnx.Param)
        keys = iter(jax.random.split(jax.random.key(seed + 100), len(jax.tree.leaves(state))))
        nnx.update(layer, jax.tree.map(lambda p, keys=keys: p + 0.3 * jax.random.normal(next(keys), p.shape), state))
    return model


def random_source(rng, batch=BATCH, time=TIME):
    return jnp.asarray(rng.integers(1, NUM_CHARS, size=(batch, time)), jnp.int32)


# ---------------------------------------------------------------- the article's parameter table


@pytest.mark.parametrize(
    "name, recurrent",
    [("gru", 4_323_600), ("lstm", 5_764_800), ("nlstm", 5_764_800)],
)
def test_article_parameter_counts(name, recurrent):
    model = nnx.eval_shape(lambda: AutocompleteModel(ARTICLE_MODELS[name], rngs=nnx.Rngs(0)))
    assert parameter_counts(model) == {"embedding": 16_200, "recurrent": recurrent, "dense": 9_847_986}
    # ... and the parts add up to every trainable parameter there is.
    total = sum(x.size for x in jax.tree.leaves(nnx.state(model, nnx.Param)))
    assert total == 16_200 + recurrent + 9_847_986


def test_article_models_layers_and_units():
    assert {k: (c.cell, c.num_layers, c.hidden_features, c.embedding_features, c.num_words)
            for k, c in ARTICLE_MODELS.items()} == {
        "gru": ("gru", 2, 600, 600, 16386),
        "lstm": ("lstm", 2, 600, 600, 16386),
        "nlstm": ("nlstm", 1, 600, 600, 16386),
    }  # fmt: skip


# ---------------------------------------------------------------- embedding and dense layer


def test_padding_row_is_zero_and_not_a_parameter():
    model = tiny_model("rnn", num_layers=1)
    table = np.asarray(model.embedding_table())
    assert table.shape == (NUM_CHARS, 5)
    assert not np.any(table[0])
    np.testing.assert_array_equal(table[1:], model.embedding[...])
    source = jnp.asarray([[0, 3, 0], [27, 0, 1]])
    embedded = np.asarray(model.embed(source))
    assert not np.any(embedded[0, 0]) and not np.any(embedded[0, 2]) and not np.any(embedded[1, 1])
    np.testing.assert_array_equal(embedded[0, 1], model.embedding[2])  # id k ↦ parameter row k − 1

    def loss(m):
        return jnp.sum(m(source) ** 2)

    grads = nnx.grad(loss)(model)
    assert grads["embedding"].shape == (NUM_CHARS - 1, 5)
    # ids 1, 3, 27 were used, so rows 0, 2, 26 get gradient; the others none.
    used = np.flatnonzero(np.abs(np.asarray(grads["embedding"][...])).sum(-1))
    np.testing.assert_array_equal(used, [0, 2, 26])


def test_initialisers_embedding_uniform_and_dense_glorot():
    model = AutocompleteModel(
        tiny_config("rnn", num_layers=1, embedding_features=300, hidden_features=40, num_words=200), rngs=nnx.Rngs(1)
    )
    e = np.asarray(model.embedding[...], np.float64)
    bound = math.sqrt(1.0 / 27)  # the article's code: U(−√(1/27), +√(1/27))
    assert np.abs(e).max() <= bound * (1 + 1e-6)
    assert np.abs(e).max() > 0.98 * bound
    np.testing.assert_allclose(e.var(), bound**2 / 3, rtol=0.08)

    w = np.asarray(model.dense.kernel[...], np.float64)  # tf.layers.dense: glorot-uniform kernel, zero bias
    assert w.shape == (40, 200)
    bound = math.sqrt(6.0 / (40 + 200))
    assert np.abs(w).max() <= bound * (1 + 1e-6)
    assert np.abs(w).max() > 0.98 * bound
    np.testing.assert_allclose(w.var(), bound**2 / 3, rtol=0.1)
    assert not np.any(np.asarray(model.dense.bias[...]))


# ---------------------------------------------------------------- shapes, scan vs loop, unroll, bf16


def python_loop_recur(model, embedded):
    """Each layer's ``__call__`` one step at a time, zero initial state."""
    x = embedded
    for layer in model.layers:
        carry = layer.initialize_carry(x[:, 0].shape)
        ys = []
        for t in range(x.shape[1]):
            carry, y = layer(carry, x[:, t])
            ys.append(y)
        x = jnp.stack(ys, axis=1)
    return x


@pytest.mark.parametrize("name", sorted(CELLS))
def test_scan_equals_python_loop(name):
    model = tiny_model(name)
    embedded = model.embed(random_source(np.random.default_rng(1)))
    np.testing.assert_allclose(model.recur(embedded), python_loop_recur(model, embedded), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", ["gru", "nlstm"])  # a single-array carry and a tuple carry
def test_unroll_does_not_change_results(name):
    a, b = tiny_model(name), tiny_model(name, unroll=4)
    nnx.update(b, nnx.state(a, nnx.Param))
    source = random_source(np.random.default_rng(2))
    np.testing.assert_allclose(a(source), b(source), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", sorted(CELLS))
@pytest.mark.parametrize("layers", [2, 3])
def test_wavefront_equals_layer_by_layer(name, layers):
    """The wavefront scan computes the same function, and the same gradients, as one scan per layer."""
    kw = dict(num_layers=layers, embedding_features=12, hidden_features=12)
    a, b = tiny_model(name, **kw), tiny_model(name, wavefront=True, unroll=2, **kw)
    nnx.update(b, nnx.state(a, nnx.Param))
    source = random_source(np.random.default_rng(3))
    np.testing.assert_allclose(b(source), a(source), rtol=2e-5, atol=2e-6)

    def loss(model, embedded):
        return jnp.sum(jnp.sin(model.recur(embedded)))

    embedded = a.embed(source)
    grads_a = nnx.grad(loss, argnums=(0, 1))(a, embedded)
    grads_b = nnx.grad(loss, argnums=(0, 1))(b, embedded)
    for u, v in zip(jax.tree.leaves(grads_a), jax.tree.leaves(grads_b), strict=True):
        np.testing.assert_allclose(v, u, rtol=1e-4, atol=1e-5)


def test_wavefront_needs_embedding_equal_to_units():
    with pytest.raises(ValueError, match="embedding_features == hidden_features"):
        tiny_config("lstm", num_layers=2, embedding_features=8, hidden_features=12, wavefront=True)
    tiny_config("lstm", num_layers=1, embedding_features=8, hidden_features=12, wavefront=True)  # one layer: no stack


@pytest.mark.parametrize("name", ["lstm"])  # every cell is checked in bf16 in test_cells.py
def test_bfloat16_model_close_to_float32(name):
    a, b = tiny_model(name), tiny_model(name, compute_dtype="bfloat16")
    nnx.update(b, nnx.state(a, nnx.Param))
    source = random_source(np.random.default_rng(3))
    la, lb = a(source), b(source)
    assert lb.dtype == jnp.float32
    np.testing.assert_allclose(lb, la, atol=5e-2)
    assert not np.array_equal(np.asarray(la), np.asarray(lb))


# ---------------------------------------------------------------- shape, causality and padding


@pytest.mark.parametrize("name", sorted(CELLS))
def test_logits_shape_causality_and_end_padding(name):
    model = tiny_model(name)
    source = random_source(np.random.default_rng(4), batch=1)
    t = 3
    changed = source.at[:, t].set(jnp.where(source[:, t] == 5, 6, 5))  # a different char at t
    padded = source.at[:, 4:].set(0)  # real length 4, <eos> padding after
    logits = model(jnp.concatenate([source, changed]))  # rows are independent
    assert logits.shape == (BATCH, TIME, 11) and logits.dtype == jnp.float32
    original, after_change = np.asarray(logits)
    np.testing.assert_allclose(after_change[:t], original[:t], rtol=1e-6, atol=1e-6)
    assert np.max(np.abs(after_change[t:] - original[t:])) > 1e-4  # ... and it does change the rest
    original, after_padding = np.asarray(model(jnp.concatenate([source, padded])))
    np.testing.assert_allclose(after_padding[:4], original[:4], rtol=1e-6, atol=1e-6)
    assert np.max(np.abs(after_padding[4:] - original[4:])) > 1e-4


# ---------------------------------------------------------------- gradients w.r.t. the embedded inputs


def _output_unit(model, embedded):
    """A scalar: one unit of the top layer's output at the last step."""
    return model.recur(embedded)[0, -1, 1]


def _jitted_grad(model):
    graphdef, state = nnx.split(model)
    grad = jax.jit(lambda state, e: jax.grad(lambda e: _output_unit(nnx.merge(graphdef, state), e))(e))
    return lambda e: grad(state, e)


@pytest.mark.parametrize("name", sorted(CELLS))
def test_jitted_grad_wrt_embedded_inputs_matches_finite_differences(name):
    model = tiny_model(name)
    embedded = model.embed(random_source(np.random.default_rng(6)))
    g = np.asarray(_jitted_grad(model)(embedded))
    assert g.shape == embedded.shape
    assert not np.any(g[1])  # other batch rows do not feed this output
    assert np.abs(g[0, 0]).max() > 1e-6  # the first step reaches the last, through both layers

    # Central differences (float32, eps chosen so O(eps²) truncation and rounding both stay small),
    # on a few coordinates spread over time and along two random directions, all in one batched call.
    eps = 1e-2
    e = np.asarray(embedded[0], np.float32)
    rng = np.random.default_rng(7)
    directions = []
    for t, k in [(0, 0), (2, 3), (TIME - 1, 1), (TIME - 1, 4)]:
        d = np.zeros_like(e)
        d[t, k] = 1.0
        directions.append(d)
    directions += [rng.normal(size=e.shape).astype(np.float32) for _ in range(2)]
    d = np.stack(directions)
    out = np.asarray(model.recur(jnp.asarray(np.concatenate([e + eps * d, e - eps * d]))))[:, -1, 1]
    fd = (out[: len(d)] - out[len(d) :]) / (2 * eps)
    np.testing.assert_allclose(fd, np.einsum("ntk,tk->n", d, g[0]), rtol=2e-2, atol=2e-4)


def test_eager_grad_equals_jitted_and_is_zero_for_future_inputs():
    model = tiny_model("nlstm")
    embedded = model.embed(random_source(np.random.default_rng(6)))
    eager = jax.grad(lambda e: _output_unit(model, e))(embedded)
    np.testing.assert_allclose(eager, _jitted_grad(model)(embedded), rtol=1e-5, atol=1e-7)
    g = np.asarray(jax.grad(lambda e: model.recur(e)[0, 2].sum())(embedded))
    assert not np.any(g[0, 3:])  # outputs at t = 2 do not depend on later inputs
    assert np.all(np.abs(g[0, :3]).sum(-1) > 0)


# ---------------------------------------------------------------- bad input


def test_config_unknown_cell_lists_valid_ones():
    with pytest.raises(ValueError) as info:
        ModelConfig(cell="transformer")
    for name in ("rnn", "lstm", "gru", "nlstm"):
        assert name in str(info.value)


@pytest.mark.parametrize("field", ["num_layers", "hidden_features", "embedding_features", "unroll"])
def test_config_rejects_zero_sizes(field):
    with pytest.raises(ValueError, match=field):
        ModelConfig(**{field: 0})


def test_config_rejects_too_few_words():
    with pytest.raises(ValueError, match="num_words"):
        ModelConfig(num_words=2)


def test_every_cell_has_one_display_name():
    from memviz.core import model_names
    from memviz.data import reference
    from memviz.models import cells

    assert set(model_names.DISPLAY_NAMES) == set(cells.CELLS)
    assert {ModelConfig(cell=c).display_name for c in cells.CELLS} == set(model_names.DISPLAY_NAMES.values())
    assert list(reference.TEST_METRICS.model) == list(model_names.TABLE_ORDER) == list(model_names.ARTICLE_ORDER[::-1])
    assert [model_names.display_name(c) for c in model_names.ARTICLE_CELLS] == list(model_names.ARTICLE_ORDER)
    assert model_names.cell_name("nested lstm") == "nlstm" and model_names.display_name("GRU") == "GRU"
    with pytest.raises(ValueError, match="unknown model"):
        model_names.display_name("transformer")


def test_config_rejects_bad_compute_dtype():
    """The config is saved with every result, so it should refuse a dtype no cell can use."""
    with pytest.raises(ValueError, match="compute_dtype"):
        ModelConfig(compute_dtype="float16")


def test_config_is_frozen_and_replaceable():
    config = tiny_config("gru")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.cell = "lstm"  # type: ignore[misc]
    assert dataclasses.replace(config, cell="nlstm").display_name == "Nested LSTM"
