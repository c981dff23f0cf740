"""Connectivity: how strongly each output depends on each input character (the article's §"Connectivity").

The article (https://distill.pub/2019/memorization-in-rnns/; its code: github.com/distillpub/post--memorization-in-rnns)
defines, for an output position t̃ whose true target word is k,

    g_t            = ∂ logit_k(t̃) / ∂ e_t                 gradient w.r.t. the embedded input, (T, embedding)
    G_t            = g_t · Eᵀ                             through the embedding to the one-hot input, (T, 28)
    connectivity   = Σ_v G_t,v²                           the SQUARED L2 norm over the 28 one-hot dims

with the *pre-softmax* logit of the *true* word and E the full 28-row table (zero padding row included).
It is causal: zero for t > t̃.

How it is computed here (one jitted function per model structure, text length and chunk size):

* reverse mode, one cotangent per output position, batched (``jax.vmap`` of a VJP); the forward
  pass is run inside it, at batch one, and JAX keeps its activations and hoists the weights;
* causality saves half the work: output rows go in small chunks, and the chunk whose last row is
  t̃_max walks back from t̃_max to 0 only, so the zeros above the diagonal are never computed
  (about T(T + 16)/2 row-steps instead of T²; the chunks are aligned to the text's end so that
  the rows that do not exist sit in the shortest walk). Chunks i and n−1−i are laid end to end in one
  *walk* of about T + 16 steps (the carry resets between them), so every walk has the same
  length and all compile to one ``lax.scan``; ``chunk_size / 16`` walks run side by side, which
  makes ``chunk_size`` the rows per backward matmul;
* the cotangent of the first layer's projected input maps straight to the 28 one-hot dims through
  ``J = ∂ project_inputs(onehot · E) / ∂ onehot`` (gates × 28), which is g · Eᵀ by the chain rule
  and skips a (gates × embedding) matmul at every row and step;
* memory: the activations of ``chunk_size / 16`` walks of T + 16 steps each; it grows linearly
  in T: about 1 GB on top of the model for the article's models at T = 2,000 and the default
  ``chunk_size=128`` (benchmarks/results/connectivity.md), which was also the fastest on a 2-core CPU.

Causal zeros come out exactly: a row's cotangent is exactly zero until its own step is reached
(products with zero), and the pairs never visited stay zero. The time loop uses the cell contract
of ``memviz.models.cells`` (``project_inputs``, ``step``, ``initialize_carry``) as
``AutocompleteModel.recur`` does; the tests compare with finite differences and with a loop of
``jax.grad`` calls through ``model.recur``.
"""

from __future__ import annotations

import functools
import math
import warnings

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from memviz import data
from memviz.core.results import ConnectivityResult
from memviz.data import corpora
from memviz.models.model import NUM_CHARS, AutocompleteModel
from memviz.models.protocol import CharacterModel, check_vocabulary

# ----------------------------------------------------------------------------------------------
# The jitted core
# ----------------------------------------------------------------------------------------------


def one_hot_norm(gradient: jax.Array) -> jax.Array:
    """The article's connectivity from gradients with respect to the one-hot inputs ``(..., 28)``: the squared L2 norm
    over the 28 dimensions, ``Σ_v G_v²`` (``G = g · Eᵀ`` for a gradient ``g`` with respect to the embedded input)."""
    return jnp.sum(gradient**2, axis=-1)


#: Output rows per chunk that one walk serves at a time; walks run side by side to fill ``chunk_size``.
#: Fewer rows waste less (a chunk also walks its own diagonal block) but 8 ran slower than 16 on a CPU.
_LANES = 16


def _schedule(length: int, chunk_size: int) -> tuple[int, int, np.ndarray, np.ndarray, np.ndarray]:
    """The backward walks: ``(lanes, parallel, taus, row0, starts)``, the arrays ``(walks, steps)``.

    Output rows go in ``n`` chunks of ``lanes`` rows, aligned to the *end* of the text: when
    ``n · lanes`` exceeds T, the rows that do not exist fall before row 0, in the first chunk, whose walk
    is the shortest (aligned to the start, they would ride along the longest walk). Chunk i needs the
    time steps 0 … its last row only (causality), so chunks i and n−1−i are laid end to end in one
    walk: every walk then has about T + lanes steps, and all walks compile to one scan. ``parallel``
    walks run side by side (``parallel · lanes ≈ chunk_size`` rows per backward step). Per step: the
    time step ``tau``, the first row of the chunk it serves (``row0``, negative for a chunk that starts
    before the text; padding steps serve the row ``length``, past the text) and whether a chunk starts
    there (``starts``: the carry resets to its initial value).
    """
    parallel = max(1, chunk_size // _LANES)
    walks = parallel * math.ceil(length / (2 * parallel * min(chunk_size, _LANES)))
    n = 2 * walks
    lanes = math.ceil(length / n)
    firsts = [length - (n - i) * lanes for i in range(n)]  # first row of each chunk (may be < 0)
    ends = [max(0, first + lanes) for first in firsts]  # steps each chunk walks: 0 … its last row
    steps = max(ends[i] + ends[n - 1 - i] for i in range(walks))
    taus = np.zeros((walks, steps), np.int32)
    row0 = np.full((walks, steps), length, np.int32)  # padding steps serve no row
    starts = np.ones((walks, steps), bool)
    for w in range(walks):
        k = 0
        for i in (w, n - 1 - w):
            taus[w, k : k + ends[i]] = np.arange(ends[i])
            row0[w, k : k + ends[i]] = firsts[i]
            starts[w, k + 1 : k + ends[i]] = False
            k += ends[i]
    return lanes, parallel, taus, row0, starts


def _stack_step(layers: nnx.List, carries: tuple, x_projected: jax.Array):
    """One time step of the whole stack: ``(carries, layer-0 projected input) -> (carries, top output)``."""
    new_carries, y = [], None
    for index, layer in enumerate(layers):
        if index > 0:
            x_projected = layer.project_inputs(y)
        carry, y = layer.step(carries[index], x_projected)
        new_carries.append(carry)
    return tuple(new_carries), y


@functools.partial(jax.jit, static_argnames=("graphdef", "chunk_size", "k"))
def _connectivity_and_topk(graphdef, state, source, targets, *, chunk_size: int, k: int):
    """``source, targets: (T,) int`` → ``(connectivity (T, T), top ids (T, k), top probs (T, k))``."""
    model: AutocompleteModel = nnx.merge(graphdef, state)
    length = source.shape[0]
    first = model.layers[0]
    table = model.embedding_table()  # (28, embedding), zero row first
    embedded = table[source]  # (T, embedding)

    top_ids = top_probs = None
    if k > 0:  # top-k predictions: one (T, words) softmax, as the article's figure shows them
        probs = jax.nn.softmax(model.logits(model.recur(embedded[None])[0]), axis=-1)
        top_probs, top_ids = jax.lax.top_k(probs, k)

    projected = first.project_inputs(embedded)  # (T, gates): layer 0's input half, for every step
    # ∂ projected input / ∂ one-hot input, (gates, 28): the chain rule through E, exact (the map is affine).
    jacobian = jax.jacfwd(lambda onehot: first.project_inputs(onehot @ table))(jnp.zeros(NUM_CHARS, table.dtype))
    # d logit / d top output at each position: the dense kernel's column of the true word (the bias drops out).
    columns = model.dense.kernel[...].T[targets]  # (T, hidden) — only the target words' columns
    initial = tuple(layer.initialize_carry((layer.in_features,)) for layer in model.layers)
    lanes, parallel, taus, row0, starts = _schedule(length, chunk_size)

    def walk(schedule):
        """One walk (two chunks of output rows, one after the other) → ``(lanes, steps)`` connectivity values."""

        def true_logits(perturbation):
            """``(steps, 28)`` perturbation of the one-hot inputs → each lane's true-word logits, summed."""

            def step(carries, inputs):
                tau, first_row, start, du = inputs
                carries = jax.tree.map(lambda a, b: jnp.where(start, a, b), initial, carries)
                carries, y = _stack_step(model.layers, carries, projected[tau] + jacobian @ du)
                # Lane (tau − first_row) is output row tau: its true word's logit, at its own step.
                return carries, jax.nn.one_hot(tau - first_row, lanes) * (columns[tau] @ y)

            _, logits = jax.lax.scan(step, initial, (*schedule, perturbation))
            return logits.sum(axis=0)  # (lanes,)

        _, vjp = jax.vjp(true_logits, jnp.zeros((schedule[0].shape[0], NUM_CHARS), table.dtype))
        (grads,) = jax.vmap(vjp)(jnp.eye(lanes, dtype=table.dtype))  # (lanes, steps, 28) = g_t · Eᵀ per lane
        return one_hot_norm(grads)

    schedule = (jnp.asarray(taus), jnp.asarray(row0), jnp.asarray(starts))
    values = jax.lax.map(walk, schedule, batch_size=parallel)  # (walks, lanes, steps)

    rows = row0[:, None, :] + np.arange(lanes)[None, :, None]  # (walks, lanes, steps)
    rows = np.where(rows < 0, length, rows)  # rows before the text: past it, so the scatter drops them
    cols = np.broadcast_to(taus[:, None, :], rows.shape)
    matrix = jnp.zeros((length, length), values.dtype).at[rows, cols].set(values, mode="drop")
    return matrix, top_ids, top_probs


@nnx.jit(static_argnames=("chunk_size", "k"))
def _any_model_connectivity_and_topk(model, source, targets, *, chunk_size: int, k: int):
    """The same outputs as :func:`_connectivity_and_topk` for any :class:`~memviz.models.protocol.CharacterModel`,
    as the definition reads: one forward pass, then one VJP per output row, ``chunk_size`` rows at a time.

    NNX's own ``jit`` and ``vjp``: a module that draws random keys as it runs (``nnx.RNN`` does, for its carry)
    cannot be traced by plain ``jax.vjp`` (``TraceContextError``).
    """
    table = model.embedding_table()  # (28, E)

    def true_logits(m, onehot):  # (T, 28) one-hot inputs -> each position's true-word logit (T,), and all logits
        logits = m.logits_from_embedded((onehot @ table)[None])[0]  # (T, words)
        return jnp.take_along_axis(logits, targets[:, None], axis=-1)[:, 0], logits

    onehot = jax.nn.one_hot(source, NUM_CHARS, dtype=table.dtype)
    values, vjp, logits = nnx.vjp(true_logits, model, onehot, has_aux=True, graph_updates=False)  # type: ignore[misc]
    rows = jnp.eye(source.shape[0], dtype=values.dtype)  # one cotangent per output row
    grads = jax.lax.map(lambda row: vjp(row)[1], rows, batch_size=chunk_size)  # (T_out, T_in, 28) = g_t · Eᵀ
    top_ids = top_probs = None
    if k > 0:
        top_probs, top_ids = jax.lax.top_k(jax.nn.softmax(logits, axis=-1), k)
    return one_hot_norm(grads), top_ids, top_probs


def _sequence(source, targets) -> tuple[np.ndarray, np.ndarray]:
    source, targets = np.asarray(source), np.asarray(targets)
    if source.ndim != 1 or source.shape != targets.shape or source.size == 0:
        raise ValueError(
            f"source and targets must be (T,) arrays of one shape, T > 0, not {source.shape} and {targets.shape}"
        )
    return source, targets


def _check_model(model, targets: np.ndarray) -> None:
    """A clear error for what is not a character model, and for target ids beyond its output (JAX would clamp them
    and give another word's logit without a word)."""
    if not isinstance(model, CharacterModel):
        raise TypeError(
            f"{type(model).__name__} is not a character model memviz can analyse: it needs name, num_words, "
            "embedding_table() and logits_from_embedded(embedded) (memviz.models.protocol.CharacterModel); wrap a plain "
            "function in memviz.models.protocol.FunctionModel, Flax NNX parts in EmbedRecurrentModel"
        )
    if targets.size and (targets.max() >= model.num_words or targets.min() < 0):
        raise ValueError(
            f"target word ids run to {int(targets.max()):,} but {model.name} outputs {model.num_words:,} classes: "
            "the targets come from another vocabulary than the model's"
        )


def _run(model: CharacterModel, source, targets, *, squared: bool, chunk_size: int, k: int):
    source, targets = _sequence(source, targets)
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, not {chunk_size}")
    _check_model(model, targets)
    ids, target_ids = jnp.asarray(source, jnp.int32), jnp.asarray(targets, jnp.int32)
    if isinstance(model, AutocompleteModel):  # the recurrent fast path
        graphdef, state = nnx.split(model)
        matrix, top_ids, top_probs = _connectivity_and_topk(
            graphdef, state, ids, target_ids, chunk_size=chunk_size, k=k
        )
    else:  # any other model, as the definition reads
        matrix, top_ids, top_probs = _any_model_connectivity_and_topk(
            model, ids, target_ids, chunk_size=chunk_size, k=k
        )
    matrix = np.array(matrix)  # a writable copy
    if not np.isfinite(matrix).all():
        raise ValueError(
            f"{model.name}'s connectivity is not finite ({int((~np.isfinite(matrix)).sum()):,} of {matrix.size:,} "
            "values): its outputs are not finite for this text, so there is nothing to read (a diverged model?)"
        )
    if not squared:  # the formula's plain L2 norm
        matrix = np.sqrt(matrix)
    return matrix, *(None if a is None else np.asarray(a) for a in (top_ids, top_probs))


# ----------------------------------------------------------------------------------------------
# Public API
# ----------------------------------------------------------------------------------------------


def connectivity_matrix(
    model: CharacterModel, source, targets, *, squared: bool = True, chunk_size: int = 128
) -> np.ndarray:
    """Connectivity of one text: ``(T, T)`` float32, ``[t_out, t_in]``, exactly zero for ``t_in > t_out``.

    Args:
      model: any cell, any checkpoint; or any :class:`~memviz.models.protocol.CharacterModel` (a Transformer, a
        plain function, flax's ``nnx.RNN``), computed as the definition reads, one VJP per row in chunks.
      source: ``(T,) int`` char ids (no padding needed; the text may be of any length).
      targets: ``(T,) int`` the true target word id at every position (1 = <unknown> for OOV words:
        the gradient is then of the <unknown> logit).
      squared: the article's squared L2 norm (True) or the plain norm of its formula (False).
      chunk_size: output positions per batched backward step (bigger: faster matmuls, more memory,
        which grows as ``chunk_size · T``; see the module docstring). The result does not depend on it.

    Compiled once per (model structure, T, chunk_size).
    """
    return _run(model, source, targets, squared=squared, chunk_size=chunk_size, k=0)[0]


def connectivity_by_definition(model: CharacterModel, source, targets, *, squared: bool = True) -> np.ndarray:
    """The same ``(T, T)`` matrix as :func:`connectivity_matrix`, computed as the definition reads.

    For each output position t̃ in turn: ``jax.grad`` of the true word's pre-softmax logit at t̃ with
    respect to the embedded inputs gives ``g_t`` ``(T, embedding)``; through the embedding table,
    ``g_t · Eᵀ`` ``(T, 28)``; squared and summed over the 28 one-hot dimensions. T backward passes
    over the whole text, one per row: slow, and easy to check by eye. The tests use it as the oracle
    of the fast path, and ``benchmarks/connectivity.py`` as its baseline.
    """
    source, targets = _sequence(source, targets)
    _check_model(model, targets)
    table = model.embedding_table()  # (28, embedding), zero row first for memviz's models
    embedded = table[jnp.asarray(source, jnp.int32)][None]  # (1, T, embedding)
    targets = jnp.asarray(targets, jnp.int32)

    @nnx.jit
    def row(model, t_out):
        def true_logit(m, e):  # the pre-softmax logit of the true word at t_out
            return m.logits_from_embedded(e)[0, t_out, targets[t_out]]

        _, vjp = nnx.vjp(true_logit, model, embedded, graph_updates=False)  # NNX's: as jax.grad, for any module
        g = vjp(jnp.ones((), jnp.float32))[1][0]  # (T, embedding)
        return one_hot_norm(g @ table.T)  # (T,): Σ_v (g_t · Eᵀ)_v²

    matrix = np.stack([np.asarray(row(model, t_out)) for t_out in range(len(source))])
    return matrix if squared else np.sqrt(matrix)


def connectivity_result(
    model: CharacterModel,
    source,
    targets,
    vocab,
    *,
    name: str | None = None,
    k: int = 3,
    squared: bool = True,
    chunk_size: int = 128,
    length: int | None = None,
) -> ConnectivityResult:
    """Connectivity plus the top-k predicted words of one ``(T,)`` id sequence, as a ConnectivityResult.

    ``length``: keep only the first ``length`` characters (a padded row of a split), computed on the whole row and
    then cropped, exactly so: the model is causal.
    """
    source, targets = np.asarray(source), np.asarray(targets)
    raw, top_ids, top_probs = _run(model, source, targets, squared=squared, chunk_size=chunk_size, k=k)
    n = len(source) if length is None else length
    return ConnectivityResult(
        model=name or model.name,
        text=data.decode_chars(source[:n]),
        targets=tuple(vocab.decode(targets[:n])),
        raw=raw[:n, :n].copy() if n < len(source) else raw,  # a writable copy, not a view of the padded matrix
        top_words=tuple(tuple(vocab.decode(row)) for row in top_ids[:n]),
        top_probs=top_probs[:n],
        squared=squared,
    )


def compute_connectivity(
    model: CharacterModel,
    text: str,
    vocab,
    *,
    name: str | None = None,
    k: int = 3,
    squared: bool = True,
    chunk_size: int = 128,
) -> ConnectivityResult:
    """Connectivity of any text under ``model``, e.g. the article's sample sentence.

    The text is normalised (``memviz.data.corpora.normalize_text``: lower case, a–z and spaces) and aligned
    (``memviz.data.align``: every word gets a leading space, and each of its characters and that space
    target the word). Words outside ``vocab`` still work: their target is ``"<unknown>"`` (id 1), so
    their rows show the gradient of the <unknown> logit, which the article never trained (its fixed
    sample refuses OOV words); they are recognisable by ``result.targets[t] == "<unknown>"``.
    """
    source, targets = aligned_text(model, text, vocab, stacklevel=3)
    return connectivity_result(model, source, targets, vocab, name=name, k=k, squared=squared, chunk_size=chunk_size)


def aligned_text(model: CharacterModel, text: str, vocab, *, stacklevel: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """``(source, targets)`` ids of ``text`` as ``model`` reads it: normalised (lower case, a–z and spaces; a warning
    says so when more than case and spacing changed), aligned (:func:`memviz.data.align`); a ``ValueError`` for a text
    without letters or a vocabulary that does not fit the model."""
    normalized = corpora.normalize_text(text)
    if not normalized.text:
        raise ValueError(f"no letters to analyse in {text!r}: the models read the letters a-z ({normalized.summary()})")
    if normalized.text.strip() != " ".join(text.lower().split()):  # more than case and spacing changed
        shown = normalized.text if len(normalized.text) <= 80 else normalized.text[:77] + "..."
        warnings.warn(
            f"the text was normalised as the models read it, to {shown!r} ({normalized.summary()})",
            stacklevel=stacklevel,
        )
    check_vocabulary(model, len(vocab))
    return data.align(normalized.text, vocab)


def sequence_connectivity(model: CharacterModel, split, index: int, vocab, **options) -> ConnectivityResult:
    """Connectivity of row ``index`` of a ``memviz.data.Split`` (trimmed to its length); ``options`` (``name``, ``k``,
    ``squared``, ``chunk_size``) as :func:`connectivity_result`.

    Computed on the padded full-width row, then cropped: every row of a split compiles to the same
    function (one compilation per model, not one per length), and the crop is exact because the
    model is causal (outputs before the padding never depend on it).
    """
    n = int(split.lengths[index])
    return connectivity_result(model, split.source[index], split.target[index], vocab, length=n, **options)


def gradient_by_distance(model: AutocompleteModel, source) -> np.ndarray:
    """``(T,)``: ‖∂ h_T / ∂ x_{T−d}‖ for d = 0 … T−1, one ``(T,) int`` sequence through ``model.recur``.

    The Frobenius norm of the Jacobian of the top layer's output at the last step with respect to
    the embedded input ``d`` steps earlier: the quantity the article's vanishing-gradient figure draws. memviz's
    own recurrent models only (a ``TypeError`` for another model: ``h_T`` is the state of a recurrence).
    """
    if not isinstance(model, AutocompleteModel):
        raise TypeError(
            f"gradient_by_distance differentiates the hidden state of memviz's own recurrence (an AutocompleteModel), "
            f"which {type(model).__name__} does not expose; connectivity_matrix takes any model"
        )
    embedded = model.embed(jnp.asarray(source, jnp.int32)[None])[0]  # (T, embedding)
    jacobian = jax.jacrev(lambda e: model.recur(e[None])[0, -1])(embedded)  # (hidden, T, embedding)
    return np.asarray(jnp.sqrt(jnp.sum(jacobian**2, axis=(0, 2))))[::-1]
