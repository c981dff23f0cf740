"""The autocomplete model: character embedding → stacked recurrent cells → dense layer over words.

Spec §2.1::

    x_t (char id) → embedding (27 trainable rows + a fixed zero row for padding)
                  → cells, layer by layer, under ``jax.lax.scan``
                  → dense hidden → words  = logits

The time loop is a plain ``jax.lax.scan`` over a cell split into (graphdef, state) and merged
inside the step, with each layer's input projection hoisted out of the loop. The same path serves
training and analysis: ``nnx.RNN`` fails under ``jax.grad`` taken with respect to its inputs
(flax 0.12.8), which is exactly what connectivity needs.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
from flax import nnx

from memviz.cells import CELLS, COMPUTE_DTYPES, DISPLAY_NAMES, make_cell

#: Input alphabet size: <eos> (padding, id 0), space, a–z.
NUM_CHARS = 28


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Architecture of one autocomplete model."""

    cell: str = "gru"  # registry name in memviz.cells.CELLS: rnn | lstm | gru | nlstm
    num_layers: int = 2  # stacked recurrent layers (the article: 2 for GRU/LSTM, 1 for Nested LSTM)
    hidden_features: int = 600  # units per layer
    embedding_features: int = 600  # the article ties this to the units (one `latent_dim`)
    num_words: int = 16386  # output classes: <eos>, <unknown> and the vocabulary
    compute_dtype: str = "float32"  # matmul operand precision; "bfloat16" keeps float32 state
    unroll: int = 1  # lax.scan unroll factor (a speed knob; results are identical)

    def __post_init__(self):
        if self.cell not in CELLS:
            raise ValueError(f"unknown cell {self.cell!r}; choose one of {', '.join(sorted(CELLS))}")
        for name in ("num_layers", "hidden_features", "embedding_features", "unroll"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")
        if self.compute_dtype not in COMPUTE_DTYPES:
            raise ValueError(f"compute_dtype must be one of {sorted(COMPUTE_DTYPES)}, not {self.compute_dtype!r}")
        if self.num_words < 3:
            raise ValueError(f"num_words must include <eos>, <unknown> and at least one word, not {self.num_words}")

    @property
    def display_name(self) -> str:
        return DISPLAY_NAMES[self.cell]


class AutocompleteModel(nnx.Module):
    """Characters in, the word being typed out, at every character."""

    def __init__(self, config: ModelConfig, *, rngs: nnx.Rngs):
        self.config = config
        e, h = config.embedding_features, config.hidden_features
        # TF: rows 1..27 trainable, U(±√(1/27)); row 0 (padding) is a constant zero.
        limit = math.sqrt(1.0 / (NUM_CHARS - 1))
        self.embedding = nnx.Param(jax.random.uniform(rngs.params(), (NUM_CHARS - 1, e), jnp.float32, -limit, limit))
        sizes = [e] + [h] * (config.num_layers - 1)
        self.layers = nnx.List(
            [make_cell(config.cell, n_in, h, rngs=rngs, compute_dtype=config.compute_dtype) for n_in in sizes]
        )
        self.dense = nnx.Linear(
            h,
            config.num_words,
            kernel_init=nnx.initializers.glorot_uniform(),
            bias_init=nnx.initializers.zeros,
            dtype=COMPUTE_DTYPES[config.compute_dtype],
            rngs=rngs,
        )

    def embedding_table(self) -> jax.Array:
        """``(28, embedding)``: the full table, zero row for padding first."""
        return jnp.concatenate([jnp.zeros((1, self.embedding.shape[1]), self.embedding.dtype), self.embedding[...]])

    def embed(self, source: jax.Array) -> jax.Array:
        """``(batch, time) int`` char ids → ``(batch, time, embedding) float32``."""
        return self.embedding_table()[source]

    def recur(self, embedded: jax.Array) -> jax.Array:
        """``(batch, time, embedding)`` → ``(batch, time, hidden)``: the top layer's output at every step.

        Zero initial state. Padding sits at the end of each sequence, so it never reaches the
        outputs at real positions (the recurrence is causal).
        """
        x = embedded
        for layer in self.layers:
            x = _scan_layer(layer, x, self.config.unroll)
        return x

    def logits(self, hidden: jax.Array) -> jax.Array:
        """``(..., hidden)`` → ``(..., num_words)`` float32."""
        return self.dense(hidden).astype(jnp.float32)

    def __call__(self, source: jax.Array) -> jax.Array:
        """``(batch, time) int`` → logits ``(batch, time, num_words) float32``."""
        return self.logits(self.recur(self.embed(source)))


def _scan_layer(layer: nnx.Module, x: jax.Array, unroll: int) -> jax.Array:
    """Run one cell over time: ``(batch, time, in) → (batch, time, hidden)``."""
    graphdef, state = nnx.split(layer)
    projected = jnp.swapaxes(layer.project_inputs(x), 0, 1)  # (time, batch, gates) — hoisted out of the loop
    carry = layer.initialize_carry(x[:, 0].shape)

    def step(carry, x_projected):
        return nnx.merge(graphdef, state).step(carry, x_projected)

    _, ys = jax.lax.scan(step, carry, projected, unroll=unroll)
    return jnp.swapaxes(ys, 0, 1)


def parameter_counts(model: AutocompleteModel) -> dict[str, int]:
    """Trainable parameters by part, as the article's appendix table splits them."""

    def count(module) -> int:
        return sum(x.size for x in jax.tree.leaves(nnx.state(module, nnx.Param)))

    return {
        "embedding": int(model.embedding.size),
        "recurrent": sum(count(layer) for layer in model.layers),
        "dense": count(model.dense),
    }


#: The article's three models (spec §2.2), at its size.
ARTICLE_MODELS = {
    "gru": ModelConfig(cell="gru", num_layers=2),
    "lstm": ModelConfig(cell="lstm", num_layers=2),
    "nlstm": ModelConfig(cell="nlstm", num_layers=1),
}
