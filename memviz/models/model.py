"""The autocomplete model: character embedding → stacked recurrent cells → dense layer over words.

As the article's appendix describes them (https://distill.pub/2019/memorization-in-rnns/)::

    x_t (char id) → embedding (27 trainable rows + a fixed zero row for padding)
                  → cells, layer by layer, under ``jax.lax.scan``
                  → dense hidden → words  = logits

The time loop is a plain ``jax.lax.scan`` over a cell split into (graphdef, state) and merged
inside the step, with each layer's input projection hoisted out of the loop. The same path serves
training and analysis: ``nnx.RNN`` fails under ``jax.grad`` taken with respect to its inputs
(flax 0.12.8), which is exactly what connectivity needs.

``ModelConfig(wavefront=True)`` runs a stack of layers as a wavefront instead: one scan of
T + L − 1 steps in which layer l works on time t − l while layer 0 works on t, all layers in one
``jax.vmap``-ed cell call over their stacked parameters, so each matmul is one batched matmul over
the layers. The sequential chain drops from L·T cell steps to T + L − 1, which pays on a GPU
(benchmarks/results/train_throughput_h200.md); on a 2-core CPU it makes no measurable difference
(benchmarks/results/train_throughput_cpu.md). Same function, same parameters; results agree to
float rounding.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from memviz.core.model_names import DISPLAY_NAMES
from memviz.models import registry
from memviz.models.cells import CELLS, COMPUTE_DTYPES, RecurrentCell, check_compute_dtype, make_cell

#: Input alphabet size: <eos> (padding, id 0), space, a–z.
NUM_CHARS = 28


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    """Architecture of one autocomplete model."""

    cell: str = "gru"  # memviz.models.cells.CELLS: rnn | lstm | gru | nlstm; or a name of memviz.models.registry
    num_layers: int = 2  # stacked recurrent layers (the article: 2 for GRU/LSTM, 1 for Nested LSTM)
    hidden_features: int = 600  # units per layer
    embedding_features: int = 600  # the article ties this to the units (one `latent_dim`)
    num_words: int = 16386  # output classes: <eos>, <unknown> and the vocabulary
    compute_dtype: str = "float32"  # matmul operand precision; "bfloat16" keeps float32 state
    unroll: int = 1  # lax.scan unroll factor (a speed knob; results are identical)
    wavefront: bool = False  # run stacked layers as one wavefront scan (a GPU speed knob; needs embedding = units)

    def __post_init__(self):
        if self.cell not in CELLS and registry.registered(self.cell) is None:
            own = registry.registered_names()
            raise registry.UnknownModel(
                self.cell,
                f"unknown cell {self.cell!r}; choose one of {', '.join(sorted(CELLS))}"
                + (f" or your models {', '.join(own)}" if own else "")
                + ", or register your own model under that name first (memviz.register_model)",
            )
        for name in ("num_layers", "hidden_features", "embedding_features", "unroll"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, not {getattr(self, name)}")
        check_compute_dtype(self.compute_dtype)
        if self.wavefront and self.num_layers > 1 and self.embedding_features != self.hidden_features:
            raise ValueError(
                f"wavefront=True stacks the layers' parameters, so it needs embedding_features == hidden_features "
                f"(got {self.embedding_features} and {self.hidden_features}); use wavefront=False"
            )
        if self.num_words < 3:
            raise ValueError(f"num_words must include <eos>, <unknown> and at least one word, not {self.num_words}")

    @property
    def display_name(self) -> str:
        """The cell's name as the article writes it (``"GRU"``, ``"LSTM"``, ``"Nested LSTM"``), or a registered
        model's label."""
        arch = registry.registered(self.cell)
        return arch.display if arch is not None else DISPLAY_NAMES[self.cell]


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
        if self.config.wavefront and len(self.layers) > 1:
            return _scan_wavefront(self.layers, embedded, self.config.unroll)
        x = embedded
        for layer in self.layers:
            x = _scan_layer(layer, x, self.config.unroll)
        return x

    @property
    def name(self) -> str:
        """The display name (:class:`memviz.models.protocol.CharacterModel`): ``"GRU"``, ``"Nested LSTM"`` ..."""
        return self.config.display_name

    @property
    def num_words(self) -> int:
        """Output classes: ``<eos>``, ``<unknown>``, then the vocabulary's words."""
        return self.config.num_words

    def logits_from_embedded(self, embedded: jax.Array) -> jax.Array:
        """``(batch, time, embedding)`` → logits ``(batch, time, num_words)`` float32 (the protocol's forward)."""
        return self.logits(self.recur(embedded))

    def logits(self, hidden: jax.Array) -> jax.Array:
        """``(..., hidden)`` → ``(..., num_words)`` float32."""
        return self.dense(hidden).astype(jnp.float32)

    def __call__(self, source: jax.Array) -> jax.Array:
        """``(batch, time) int`` → logits ``(batch, time, num_words) float32``."""
        return self.logits(self.recur(self.embed(source)))


def scan_over_time(layer: RecurrentCell, xs: jax.Array, step: Callable, *, unroll: int = 1) -> Any:
    """The one time loop over a cell: ``step(cell, carry, x_t) -> (carry, out)`` from the cell's initial carry, over
    ``xs (batch, time, ...)``; the outs stacked ``(batch, time, ...)`` (any pytree)."""
    graphdef, state = nnx.split(layer)

    def body(carry, x_t):
        return step(nnx.merge(graphdef, state), carry, x_t)

    _, outs = jax.lax.scan(body, layer.initialize_carry(xs[:, 0].shape), jnp.swapaxes(xs, 0, 1), unroll=unroll)
    return jax.tree.map(lambda a: jnp.swapaxes(a, 0, 1), outs)


def _scan_layer(layer: RecurrentCell, x: jax.Array, unroll: int) -> jax.Array:
    """Run one cell over time: ``(batch, time, in) → (batch, time, hidden)``; the input half of every step's matmul
    is hoisted out of the loop (:meth:`project_inputs`)."""
    return scan_over_time(layer, layer.project_inputs(x), lambda cell, carry, xp: cell.step(carry, xp), unroll=unroll)


def _scan_wavefront(layers: nnx.List, x: jax.Array, unroll: int) -> jax.Array:
    """Run a stack of identical cells as a wavefront: ``(batch, time, in) → (batch, time, hidden)``.

    At loop step s, layer l computes time t = s − l from layer l − 1's output at t (produced at step
    s − 1): every layer's step is independent of the others' at the same s, so all run as one
    ``vmap``-ed call with the layers' parameters stacked. Before its first time step (s < l) a layer
    keeps its initial carry.
    """
    graphdefs, states = zip(*(nnx.split(layer) for layer in layers))
    if any(g != graphdefs[0] for g in graphdefs):
        raise ValueError("the wavefront needs identical layers (same cell, input size = hidden size)")
    stacked = jax.tree.map(lambda *leaves: jnp.stack(leaves), *states)
    n_layers, length = len(layers), x.shape[1]
    inputs = jnp.swapaxes(x, 0, 1)  # (time, batch, in)
    inputs = jnp.concatenate([inputs, jnp.zeros((n_layers - 1, *inputs.shape[1:]), inputs.dtype)])
    carry0 = layers[0].initialize_carry(x[:, 0].shape)
    carries = jax.tree.map(lambda a: jnp.broadcast_to(a, (n_layers, *a.shape)), carry0)
    below = jnp.zeros((n_layers - 1, *x[:, 0].shape[:-1], layers[0].hidden_features), jnp.float32)

    def cell_call(state, carry, x_in):
        return nnx.merge(graphdefs[0], state)(carry, x_in)

    def step(loop_carry, inputs_s):
        carries, below = loop_carry
        s, x0 = inputs_s
        layer_inputs = jnp.concatenate([x0[None].astype(below.dtype), below])  # (layers, batch, in)
        new, ys = jax.vmap(cell_call)(stacked, carries, layer_inputs)
        started = s >= jnp.arange(n_layers)  # layer l has work from step l on
        carries = jax.tree.map(lambda a, b: jnp.where(started.reshape(-1, *[1] * (a.ndim - 1)), a, b), new, carries)
        return (carries, ys[:-1]), ys[-1]

    steps = jnp.arange(length + n_layers - 1)
    _, top = jax.lax.scan(step, (carries, below), (steps, inputs), unroll=unroll)
    return jnp.swapaxes(top[n_layers - 1 :], 0, 1)


def parameter_counts(model: AutocompleteModel) -> dict[str, int]:
    """Trainable parameters by part, as the article's appendix table splits them."""

    def count(module) -> int:
        return sum(x.size for x in jax.tree.leaves(nnx.state(module, nnx.Param)))

    return {
        "embedding": int(model.embedding.size),
        "recurrent": sum(count(layer) for layer in model.layers),
        "dense": count(model.dense),
    }


#: The article's three models (its appendix's parameter table), at its size.
ARTICLE_MODELS = {
    "gru": ModelConfig(cell="gru", num_layers=2),
    "lstm": ModelConfig(cell="lstm", num_layers=2),
    "nlstm": ModelConfig(cell="nlstm", num_layers=1),
}
