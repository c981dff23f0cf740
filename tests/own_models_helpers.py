"""Tiny models of a reader's own, as memviz.models.protocol takes them (flax's nnx.RNN, a causal Transformer, a plain
function), and memviz's own model wrapped as each adapter: shared by the tests of the analyses that take any model."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from flax import nnx

from memviz.models.model import NUM_CHARS, AutocompleteModel, ModelConfig
from memviz.models.protocol import EmbedRecurrentModel, FunctionModel

#: Output classes of the toy models: <eos>, <unknown> and 7 words.
WORDS = 9


def flax_rnn(cell: str = "gru", words: int = WORDS, seed: int = 0) -> EmbedRecurrentModel:
    """An ``nnx.Embed`` (row 0 learned, not zero), an ``nnx.RNN`` of flax's ``cell`` and an ``nnx.Linear`` head."""
    rngs = nnx.Rngs(seed)
    make = {"gru": nnx.GRUCell, "lstm": nnx.LSTMCell, "simple": nnx.SimpleCell}
    embed = nnx.Embed(NUM_CHARS, 6, rngs=rngs)
    rnn = nnx.RNN(make[cell](6, 8, rngs=rngs), rngs=rngs)
    return EmbedRecurrentModel(embed, rnn, nnx.Linear(8, words, rngs=rngs), name=f"flax {cell}")


class CausalTransformer(nnx.Module):
    """A one-block causal Transformer over 28 symbols (learned positions, up to ``length``)."""

    def __init__(self, *, rngs: nnx.Rngs, words: int = WORDS, width: int = 8, length: int = 64):
        self.embed = nnx.Embed(NUM_CHARS, width, rngs=rngs)
        self.position = nnx.Param(0.1 * jax.random.normal(rngs.params(), (length, width)))
        self.attention = nnx.MultiHeadAttention(2, width, decode=False, rngs=rngs)
        self.mlp = nnx.Linear(width, width, rngs=rngs)
        self.head = nnx.Linear(width, words, rngs=rngs)

    def __call__(self, e):
        x = e + self.position[: e.shape[1]]
        x = x + self.attention(x, mask=nnx.make_causal_mask(jnp.ones(e.shape[:2])))
        return x + jax.nn.gelu(self.mlp(x))


def transformer(words: int = WORDS, seed: int = 1) -> EmbedRecurrentModel:
    """The :class:`CausalTransformer` as an adapter (its blocks as the body)."""
    net = CausalTransformer(rngs=nnx.Rngs(seed), words=words)
    return EmbedRecurrentModel(net.embed, net, net.head, name="Transformer")


def function_model(words: int = WORDS, seed: int = 2) -> FunctionModel:
    """``(params, onehot) -> logits``: a causal convolution over the last three characters, then a readout."""
    key = jax.random.PRNGKey(seed)
    params = {"taps": jax.random.normal(key, (3, NUM_CHARS, 5)), "out": jax.random.normal(key, (5, words))}

    def apply(p, onehot):
        padded = jnp.pad(onehot, ((0, 0), (2, 0), (0, 0)))
        hidden = sum(padded[:, 2 - k : padded.shape[1] - k] @ p["taps"][k] for k in range(3))
        return jnp.tanh(hidden) @ p["out"]

    return FunctionModel(apply, params, num_words=words, name="my function")


def own_models(words: int = WORDS) -> dict:
    """``{name: model}``: the flax GRU, the Transformer and the plain function."""
    return {"flax gru": flax_rnn("gru", words), "Transformer": transformer(words), "my function": function_model(words)}


def memviz_model(words: int = WORDS, cell: str = "gru", seed: int = 0) -> AutocompleteModel:
    """memviz's own model, tiny, with larger recurrent weights (far inputs still matter)."""
    config = ModelConfig(cell=cell, num_layers=1, hidden_features=8, embedding_features=6, num_words=words)
    model = AutocompleteModel(config, rngs=nnx.Rngs(seed))
    nnx.update(model.layers, jax.tree.map(lambda p: 1.5 * p, nnx.state(model.layers, nnx.Param)))
    return model


class _Recurrence(nnx.Module):
    """memviz's model's recurrence as a body ``(batch, T, E) -> (batch, T, hidden)``."""

    def __init__(self, model: AutocompleteModel):
        self.model = model

    def __call__(self, embedded):
        return self.model.recur(embedded)


def as_adapter(model: AutocompleteModel) -> EmbedRecurrentModel:
    """memviz's model as an :class:`EmbedRecurrentModel`: the same table, recurrence and dense layer, seen only
    through the protocol (so the analyses take their generic path)."""
    return EmbedRecurrentModel(model.embedding_table(), _Recurrence(model), model.dense, name=f"{model.name} parts")


def as_function(model: AutocompleteModel) -> FunctionModel:
    """memviz's model as a :class:`FunctionModel` of its parameters and the one-hot input."""
    graphdef, state = nnx.split(model)

    def apply(params, onehot):
        merged = nnx.merge(graphdef, params, copy=True)
        return merged.logits_from_embedded(onehot @ merged.embedding_table())

    return FunctionModel(apply, nnx.to_pure_dict(state), num_words=model.num_words, name=f"{model.name} function")
