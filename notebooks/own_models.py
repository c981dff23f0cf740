"""Two models of a reader's own, plugged into memviz (notebook 09): a small causal Transformer and minGRU.

Neither is part of memviz: this is the code a reader writes in their own notebook, with memviz's documented
adapter (:class:`memviz.models.protocol.EmbedRecurrentModel`) and registry (:func:`memviz.register_model`). Each
model is an embedding of the 28 input symbols, a causal body and a dense layer over the words.

* :class:`CausalTransformer`: pre-LayerNorm blocks of causal multi-head self-attention and an MLP, learned
  positions. It reads the whole prefix at every position at once: no recurrence, no state.
* :class:`MinGRU`: Feng et al. 2024, "Were RNNs All We Needed?" (arXiv:2410.01201): the GRU with its gates computed
  from the input alone, ``z_t = σ(W_z x_t)``, ``h̃_t = W_h x_t``, ``h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ h̃_t``. The
  gates are computed for all positions at once and the recurrence is one ``lax.scan`` of a multiply-add. Because
  the gates do not read the state, the influence of input s on the state at t is exactly a product of gates
  (:func:`mingru_connectivity`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from memviz import register_model
from memviz.models.model import NUM_CHARS, ModelConfig
from memviz.models.protocol import EmbedRecurrentModel

#: Positions a Transformer has embeddings for: the corpora's sequences hold at most 200 characters.
MAX_POSITIONS = 512


class Block(nnx.Module):
    """One pre-LayerNorm Transformer block: ``x + attention(LN(x))``, then ``x + MLP(LN(x))``, causal."""

    def __init__(self, width: int, heads: int, *, rngs: nnx.Rngs):
        self.norm1, self.norm2 = nnx.LayerNorm(width, rngs=rngs), nnx.LayerNorm(width, rngs=rngs)
        self.attention = nnx.MultiHeadAttention(heads, width, decode=False, rngs=rngs)
        self.up, self.down = nnx.Linear(width, 4 * width, rngs=rngs), nnx.Linear(4 * width, width, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        """``(batch, T, width) -> (batch, T, width)``; position t attends to positions up to t only."""
        mask = nnx.make_causal_mask(jnp.ones(x.shape[:2]))
        x = x + self.attention(self.norm1(x), mask=mask)
        return x + self.down(jax.nn.gelu(self.up(self.norm2(x))))


class CausalTransformer(nnx.Module):
    """The body of a causal Transformer: learned positions added to the embedded characters, then ``layers``
    blocks and a final LayerNorm. ``(batch, T, width) -> (batch, T, width)``."""

    def __init__(self, width: int, layers: int, heads: int, *, rngs: nnx.Rngs):
        self.position = nnx.Param(0.02 * jax.random.normal(rngs.params(), (MAX_POSITIONS, width)))
        self.blocks = nnx.List([Block(width, heads, rngs=rngs) for _ in range(layers)])
        self.norm = nnx.LayerNorm(width, rngs=rngs)

    def __call__(self, embedded: jax.Array) -> jax.Array:
        """The body's output at every position."""
        if embedded.shape[1] > MAX_POSITIONS:
            raise ValueError(f"the Transformer has positions for {MAX_POSITIONS} characters, not {embedded.shape[1]}")
        x = embedded + self.position[: embedded.shape[1]]
        for block in self.blocks:
            x = block(x)
        return self.norm(x)


class MinGRU(nnx.Module):
    """One minGRU layer: ``(batch, T, in) -> (batch, T, hidden)``, from a zero state."""

    def __init__(self, in_features: int, hidden_features: int, *, rngs: nnx.Rngs):
        self.gate = nnx.Linear(in_features, hidden_features, rngs=rngs)  # z_t = σ(W_z x_t + b_z)
        self.candidate = nnx.Linear(in_features, hidden_features, rngs=rngs)  # h̃_t = W_h x_t + b_h

    def gates(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        """``(z, h̃)`` at every position, each ``(batch, T, hidden)``: computed from the inputs alone."""
        return jax.nn.sigmoid(self.gate(x)), self.candidate(x)

    def __call__(self, x: jax.Array) -> jax.Array:
        """``h_t = (1 − z_t) ⊙ h_{t−1} + z_t ⊙ h̃_t`` at every position: one scan of a multiply-add."""
        z, candidate = self.gates(x)
        keep, write = jnp.swapaxes(1 - z, 0, 1), jnp.swapaxes(z * candidate, 0, 1)

        def step(h, inputs):
            a, b = inputs
            h = a * h + b
            return h, h

        _, hs = jax.lax.scan(step, jnp.zeros_like(write[0]), (keep, write))
        return jnp.swapaxes(hs, 0, 1)


def build_transformer(config: ModelConfig, rngs: nnx.Rngs) -> EmbedRecurrentModel:
    """A causal Transformer of ``config.num_layers`` blocks, ``config.hidden_features`` wide, 4 heads."""
    width = config.hidden_features
    return EmbedRecurrentModel(
        nnx.Embed(NUM_CHARS, width, rngs=rngs),
        CausalTransformer(width, config.num_layers, heads=4, rngs=rngs),
        nnx.Linear(width, config.num_words, rngs=rngs),
        name="Transformer",
    )


def build_mingru(config: ModelConfig, rngs: nnx.Rngs) -> EmbedRecurrentModel:
    """One minGRU layer of ``config.hidden_features`` units over an embedding of ``config.embedding_features``."""
    return EmbedRecurrentModel(
        nnx.Embed(NUM_CHARS, config.embedding_features, rngs=rngs),
        MinGRU(config.embedding_features, config.hidden_features, rngs=rngs),
        nnx.Linear(config.hidden_features, config.num_words, rngs=rngs),
        name="minGRU",
    )


def register() -> None:
    """Register both builders with memviz's trainer, as ``transformer`` and ``mingru``."""
    register_model(
        "transformer",
        build_transformer,
        display="Transformer",
        defaults={"num_layers": 2, "hidden_features": 128, "embedding_features": 128},
    )
    register_model("mingru", build_mingru, display="minGRU")


def _kept(z: jax.Array) -> jax.Array:
    """``[t, s] = ∏_{k=s+1..t} (1 − z_k)`` for s ≤ t, else 0: ``(T, T, H)``, row by row (a product, not a
    difference of log-sums, so a gate saturated at 1 gives an exact 0, not NaN)."""
    positions = jnp.arange(z.shape[0])

    def row(previous, inputs):
        t, z_t = inputs
        current = jnp.where((positions == t)[:, None], 1.0, previous * (1 - z_t))
        return current, current

    _, rows = jax.lax.scan(row, jnp.zeros_like(jnp.broadcast_to(z[:1], z.shape)), (positions, z))
    return rows


def mingru_connectivity(model: EmbedRecurrentModel, source, targets) -> np.ndarray:
    """The connectivity of a minGRU model from its gates, with no autodiff through the recurrence: ``(T, T)``.

    For s ≤ t the state at t depends on input s only through h_s (later gates read only their own inputs), so
    ``∂h_t/∂h_s = diag(∏_{k=s+1..t} (1 − z_k))``, and ``∂h_s/∂x_s = diag(h̃_s − h_{s−1}) ∂z_s/∂x_s + diag(z_s) W_h``.
    With the dense layer's row w_y of the true word y at t, the gradient of the logit with respect to the
    embedded input s is ``(u ⊙ (h̃_s − h_{s−1}) ⊙ z_s(1 − z_s)) W_zᵀ + (u ⊙ z_s) W_hᵀ`` with ``u = w_y ⊙ ∏(1 − z_k)``;
    through the embedding table to the one-hot input, squared and summed: the article's connectivity.
    """
    layer, table = model.body, model.embedding_table()
    x = table[jnp.asarray(source)]  # (T, E)
    z, candidate = (a[0] for a in layer.gates(x[None]))  # (T, H)
    h = layer(x[None])[0]
    previous = jnp.concatenate([jnp.zeros_like(h[:1]), h[:-1]])
    carried = _kept(z)  # (T_out, T_in, H): ∏_{k=s+1..t} (1 − z_k), 1 at s = t, 0 for s > t
    u = model.head.kernel[...].T[jnp.asarray(targets)][:, None, :] * carried  # (T_out, T_in, H)
    through_gate = (u * (candidate - previous) * z * (1 - z)) @ layer.gate.kernel[...].T
    through_candidate = (u * z) @ layer.candidate.kernel[...].T
    onehot_gradient = (through_gate + through_candidate) @ table.T  # (T_out, T_in, 28)
    return np.asarray(jnp.sum(onehot_gradient**2, axis=-1), np.float32)
