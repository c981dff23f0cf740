"""The article's autocomplete demo: a model's top words for the word being typed, as it is typed.

The article ("Recurrent Units", its autocomplete figure) runs its GRU in the browser: the reader
types, the network reads the characters, the output at the *last* character is a softmax over the
vocabulary, and its most probable words are the suggestions. Here the same, for any of the
reader's models (memviz's own, or any :class:`~memviz.models.protocol.CharacterModel`: a Transformer, flax's
``nnx.RNN``, a plain function), plus the connectivity of that last output to every input character (the gradient of
the top suggestion's logit: a text being typed has no true target yet).

Speed: one jitted call per model reads the text, takes the top-k, and walks one backward pass for
the connectivity. Texts are padded at the end to a bucket length (:data:`BUCKETS`), so typing never
recompiles: at most one compilation per (model, bucket). Padding is exact because the model is
causal: outputs at real characters never depend on the padding after them. :data:`TRACES` counts
the compilations (the tests pin it).
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import functools
from collections.abc import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from memviz import data
from memviz.analysis.connectivity import one_hot_norm
from memviz.core.results import Suggestions
from memviz.data import corpora
from memviz.models.model import NUM_CHARS, AutocompleteModel
from memviz.models.protocol import CharacterModel, check_vocabulary, logits_of, traceable_logits

#: Padded text lengths: a text of n characters runs at the first bucket ≥ n (200: the training length).
BUCKETS = (32, 64, 128, 200, 256)
#: Longer texts keep their last ``MAX_CHARS`` characters (the models were trained on ≤ 200).
MAX_CHARS = BUCKETS[-1]
#: ``(bucket, what)`` -> times traced (compiled), for tests and benchmarks.
TRACES: collections.Counter = collections.Counter()


def prepare_text(text: str) -> str:
    """What the model reads: ``text`` normalised as the corpus was (``corpora.normalize_text``: lower
    case, a–z and single spaces, a leading space), keeping a trailing space (the reader finished a
    word: the suggestions are then for the next one), cut to its last :data:`MAX_CHARS` characters."""
    normalized = corpora.normalize_text(text).text or " "
    if text[-1:].isspace() and not normalized.endswith(" "):
        normalized += " "
    return normalized[-MAX_CHARS:]


def bucket(length: int) -> int:
    """The padded length a text of ``length`` characters runs at."""
    if not 0 < length <= MAX_CHARS:
        raise ValueError(f"a text of 1 … {MAX_CHARS} characters, not {length}")
    return next(b for b in BUCKETS if b >= length)


def _padded(text: str) -> tuple[jax.Array, int]:
    ids = data.encode_chars(text)
    source = np.zeros(bucket(len(ids)), np.int32)  # PAD_ID after the text
    source[: len(ids)] = ids
    return jnp.asarray(source), len(ids)


#: ``lax.scan`` unroll factor for these short batch-one passes (a speed knob only: same results).
UNROLL = 1


def _merge(graphdef, state) -> CharacterModel:
    """The model, merged inside the jitted call; memviz's own with the :data:`UNROLL` of this traced copy only."""
    model = nnx.merge(graphdef, state)
    if isinstance(model, AutocompleteModel):
        model.config = dataclasses.replace(model.config, unroll=UNROLL)
    return model


def _last_logits(model: CharacterModel, table: jax.Array, length) -> Callable[[jax.Array], jax.Array]:
    """``(B, 28)`` one-hot inputs → ``(words,)`` logits at the last real character (``length − 1``)."""
    if isinstance(model, AutocompleteModel):  # the dense layer at that character only
        return lambda onehot: model.logits(model.recur((onehot @ table)[None])[0][length - 1])
    forward = traceable_logits(model)  # merged anew inside jax.vjp (nnx.RNN updates its random-key counter)
    return lambda onehot: forward((onehot @ table)[None])[0, length - 1]


@functools.partial(jax.jit, static_argnames=("graphdef", "k"))
def _last_output(graphdef, state, source, length, *, k: int):
    """``source (B,) int`` padded, ``length`` real characters → top-k ``(ids, probs)`` at the last
    character, all ``probs (words,)`` there, and the connectivity ``(B,)`` of that output's top word."""
    TRACES[(source.shape[0], "last")] += 1
    model = _merge(graphdef, state)
    table = model.embedding_table()
    last_logits = _last_logits(model, table, length)
    logits, vjp = jax.vjp(last_logits, jax.nn.one_hot(source, NUM_CHARS, dtype=table.dtype))
    probs = jax.nn.softmax(logits)
    top_probs, top_ids = jax.lax.top_k(probs, k)
    (grad,) = vjp(jax.nn.one_hot(top_ids[0], logits.shape[0], dtype=logits.dtype))
    return top_ids, top_probs, probs, one_hot_norm(grad)


@functools.partial(jax.jit, static_argnames=("graphdef", "k"))
def _every_output(graphdef, state, source, *, k: int):
    """``source (B,) int`` → top-k ``(ids, probs)`` ``(B, k)`` at every position."""
    TRACES[(source.shape[0], "every")] += 1
    model = _merge(graphdef, state)
    probs = jax.nn.softmax(logits_of(model, source[None])[0], axis=-1)
    top_probs, top_ids = jax.lax.top_k(probs, k)
    return top_ids, top_probs


def top_words(
    model: CharacterModel, text: str, vocab: data.Vocabulary, k: int = 3
) -> tuple[list[tuple[str, ...]], np.ndarray]:
    """The model's top-k words and their probabilities at every character of ``prepare_text(text)``.

    Returns ``(words, probs)``: one k-tuple of words per character, and ``(T, k)`` probabilities.
    """
    check_vocabulary(model, len(vocab))
    text = prepare_text(text)
    source, length = _padded(text)
    graphdef, state = nnx.split(model)
    ids, probs = _every_output(graphdef, state, source, k=k)
    ids, probs = np.asarray(ids)[:length], np.asarray(probs)[:length]
    return [tuple(vocab.decode(row)) for row in ids], probs


def suggest(
    model: CharacterModel, text: str, vocab: data.Vocabulary, *, name: str | None = None, k: int = 3
) -> Suggestions:
    """One model's top-k words for the word being typed at the end of ``text`` (see :class:`Suggestions`); ``model``:
    any :class:`~memviz.models.protocol.CharacterModel`, labelled ``name`` or else ``model.name``."""
    check_vocabulary(model, len(vocab))
    text = prepare_text(text)
    source, length = _padded(text)
    graphdef, state = nnx.split(model)
    ids, probs, output, conn = jax.device_get(_last_output(graphdef, state, source, length, k=k))
    return Suggestions(
        model=name or model.name,
        text=text,
        typed=text.rsplit(" ", 1)[-1],
        words=tuple(vocab.decode(ids)),
        probs=np.asarray(probs),
        output=np.asarray(output),
        connectivity=np.asarray(conn)[:length],
    )


def suggest_all(
    models: Mapping[str, CharacterModel], text: str, vocab: data.Vocabulary, *, k: int = 3
) -> list[Suggestions]:
    """:func:`suggest` for each ``{display name: model}``, in the mapping's order.

    The models run side by side in threads (JAX releases the GIL while a compiled function runs, so
    on a CPU with several cores they overlap)."""
    if len(models) < 2:
        return [suggest(model, text, vocab, name=name, k=k) for name, model in models.items()]
    with concurrent.futures.ThreadPoolExecutor(len(models)) as pool:
        futures = [pool.submit(suggest, model, text, vocab, name=name, k=k) for name, model in models.items()]
        return [future.result() for future in futures]


def output_strip(probs: np.ndarray, bins: int = 128) -> np.ndarray:
    """The article's compressed output layer: the softmax ``(words,)`` in ``bins`` groups of
    neighbouring word ids, the maximum of each (words beyond a whole number of bins are dropped)."""
    probs = np.asarray(probs)
    width = max(1, len(probs) // bins)
    return probs[: width * (len(probs) // width)].reshape(-1, width).max(axis=1)


def warm_up(
    models: Mapping[str, CharacterModel], vocab: data.Vocabulary, *, k: int = 3, buckets: Sequence[int] = BUCKETS
) -> None:
    """Compile every bucket for every model now, so the first keystrokes of a long text do not wait."""
    for b in buckets:
        suggest_all(models, "a" * (b - 1), vocab, k=k)  # with its leading space: b characters
