"""Any JAX character model, for memviz's analyses: the protocol, and adapters for models that do not follow it.

memviz's analyses need three things of a model (as captum needs a forward function of PyTorch):

* ``embedding_table()``: ``(28, E)``, the vector each input symbol is read as (row 0: padding, ``<eos>``; row 1:
  space; rows 2–27: a–z, :data:`memviz.data.CHARS`). The article's connectivity is the gradient with respect to
  the one-hot input, which goes through this table (``G = g · Eᵀ``);
* ``logits_from_embedded(embedded)``: ``(batch, T, E) -> (batch, T, num_words)`` float32, the pre-softmax logits at
  every position, each depending on the inputs up to its own position only (a causal model);
* ``name`` (how charts label it) and ``num_words`` (output classes: ``<eos>``, ``<unknown>``, then the vocabulary's
  words, in the vocabulary's order).

memviz's own :class:`~memviz.models.model.AutocompleteModel` follows it (and has a faster connectivity path through
its recurrence). For other models:

* :class:`FunctionModel`: a plain function of its parameters and the one-hot input, ``apply(params, onehot)`` with
  ``onehot (batch, T, 28)``; its "embedding" is the identity, so the gradient is with respect to the one-hot input
  itself. A function of char ids becomes one by reading ``onehot @ table`` where it looked ids up.
* :class:`EmbedRecurrentModel`: Flax NNX parts ``embed`` (an ``nnx.Embed`` of 28 rows, or a ``(28, E)`` table),
  ``body`` (``(batch, T, E) -> (batch, T, H)``: an ``nnx.RNN`` of ``nnx.LSTMCell``/``GRUCell``/``SimpleCell``, a
  Transformer's blocks, any causal NNX module) and ``head`` (``(..., H) -> (..., num_words)``, e.g. ``nnx.Linear``).

The analyses split an NNX model into graph and state before tracing it, so a module that keeps random-number
counters (``nnx.RNN``) is differentiated without ``TraceContextError``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

import jax
import jax.numpy as jnp
from flax import nnx

from memviz.models.model import NUM_CHARS


@runtime_checkable
class CharacterModel(Protocol):
    """Char ids → embedded inputs → logits at every position (see the module docstring)."""

    @property
    def name(self) -> str:
        """How charts and tables label the model."""
        ...

    @property
    def num_words(self) -> int:
        """Output classes: ``<eos>``, ``<unknown>``, then the vocabulary's words."""
        ...

    def embedding_table(self) -> jax.Array:
        """``(28, E)``: the vector each input symbol is read as."""
        ...

    def logits_from_embedded(self, embedded: jax.Array) -> jax.Array:
        """``(batch, T, E) -> (batch, T, num_words)`` float32 logits, causal."""
        ...


class _Adapter(nnx.Module):
    """What every adapter holds: the label and the number of output classes it was given."""

    _name: str
    _num_words: int

    @property
    def name(self) -> str:
        """The label given."""
        return self._name

    @property
    def num_words(self) -> int:
        """Output classes: ``<eos>``, ``<unknown>``, then the vocabulary's words."""
        return self._num_words


class FunctionModel(_Adapter):
    """A plain function as a :class:`CharacterModel`: ``apply(params, onehot (batch, T, 28)) -> logits``.

    ``params`` is any pytree (held as an NNX variable, so the analyses trace it as state, not as constants).
    """

    def __init__(self, apply: Callable[[Any, jax.Array], jax.Array], params: Any, *, num_words: int, name: str):
        if num_words < 3:
            raise ValueError(f"num_words must include <eos>, <unknown> and at least one word, not {num_words}")
        self.apply = apply
        self.params = nnx.Variable(params)
        self._num_words, self._name = int(num_words), str(name)

    def embedding_table(self) -> jax.Array:
        """The identity ``(28, 28)``: the function reads the one-hot input itself."""
        return jnp.eye(NUM_CHARS, dtype=jnp.float32)

    def logits_from_embedded(self, embedded: jax.Array) -> jax.Array:
        """``apply(params, embedded)`` as float32 (``embedded`` is the one-hot input, or a perturbation of it)."""
        return jnp.asarray(self.apply(self.params.get_value(), embedded), jnp.float32)


class EmbedRecurrentModel(_Adapter):
    """NNX parts as a :class:`CharacterModel`: ``head(body(embedded))`` with ``embedded = table[char ids]``.

    ``embed``: an ``nnx.Embed`` with 28 rows or a ``(28, E)`` array (row 0 is what padding reads as: an
    ``nnx.Embed`` learns it like any other row). ``body``: a causal module ``(batch, T, E) -> (batch, T, H)``.
    ``head``: ``(..., H) -> (..., num_words)``; ``num_words`` defaults to its ``out_features``.
    """

    def __init__(self, embed: nnx.Module | jax.Array, body: nnx.Module, head: nnx.Module, *, name: str,
                 num_words: int | None = None):  # fmt: skip
        table = embed.embedding[...] if isinstance(embed, nnx.Embed) else jnp.asarray(embed)
        if table.ndim != 2 or table.shape[0] != NUM_CHARS:
            raise ValueError(f"the embedding must have {NUM_CHARS} rows (<eos>, space, a-z), not shape {table.shape}")
        self.embed = embed if isinstance(embed, nnx.Module) else nnx.Param(table)
        self.body, self.head = body, head
        words = num_words if num_words is not None else getattr(head, "out_features", None)
        if words is None:
            raise ValueError("pass num_words: the head has no out_features")
        self._num_words, self._name = int(words), str(name)

    def embedding_table(self) -> jax.Array:
        """``(28, E)``: the embedding's rows."""
        if isinstance(self.embed, nnx.Embed):
            return self.embed.embedding[...]
        assert isinstance(self.embed, nnx.Param)  # a table given as an array
        return self.embed[...]

    def logits_from_embedded(self, embedded: jax.Array) -> jax.Array:
        """``head(body(embedded))`` as float32."""
        return jnp.asarray(self.head(self.body(embedded)), jnp.float32)


def logits_of(model: CharacterModel, source: jax.Array) -> jax.Array:
    """``(batch, T) int`` char ids → logits ``(batch, T, num_words)``: the protocol's forward from ids."""
    return model.logits_from_embedded(model.embedding_table()[source])


def check_vocabulary(model: CharacterModel, num_words: int) -> None:
    """A ``ValueError`` unless a vocabulary of ``num_words`` classes fits ``model``'s output: a larger one would
    index logits the model does not have (JAX clamps the index, silently giving another word's logit)."""
    if num_words != model.num_words:
        raise ValueError(
            f"the vocabulary has {num_words:,} classes but {model.name} outputs {model.num_words:,}: use the "
            "vocabulary it was trained with (e.g. run.dataset().vocab, or load_dataset(..., "
            f"vocab_size={model.num_words - 2}))"
        )


def traceable_logits(model: CharacterModel) -> Callable[[jax.Array], jax.Array]:
    """``model.logits_from_embedded`` as a pure function of the embedded input, for any JAX transform.

    The model is split into graph and state once, and merged into a fresh copy at every call, inside whatever
    transform calls it (``jax.vjp``, ``jax.jacrev``, ``jax.jvp``, ``jax.vmap``, ``jax.lax.map``): a module that
    updates a variable as it runs (``nnx.RNN`` counts its random keys) then updates its own copy, where calling the
    module itself under a transform raises ``TraceContextError``.
    """
    if not isinstance(model, nnx.Module):  # a plain object following the protocol: nothing to split
        return model.logits_from_embedded
    graphdef, state = nnx.split(model)
    return lambda embedded: nnx.merge(graphdef, state, copy=True).logits_from_embedded(embedded)
