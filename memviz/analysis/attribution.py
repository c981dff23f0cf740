"""Is connectivity a faithful attribution? Five attributions of the same logit, side by side.

For an output position t̃ with true word k, each method scores every input position t ≤ t̃ (a ``(T, T)``
matrix ``[t_out, t_in]``, zero above the diagonal, as connectivity). ``b`` is the *baseline*, the padding
character's embedding (row 0 of ``model.embedding_table()``): the zero vector for memviz's own models (their row
0 is fixed at zero, :class:`~memviz.models.model.AutocompleteModel`), so the methods read as their papers write
them; for any other :class:`~memviz.models.protocol.CharacterModel` whatever that model reads padding as (a learned
row of an ``nnx.Embed``; the one-hot of ``<eos>`` for a :class:`~memviz.models.protocol.FunctionModel`).

* **connectivity** (the article): ``‖g_t · Eᵀ‖²``, the squared gradient of the true word's logit with
  respect to the one-hot input, ``g_t = ∂ logit_k(t̃) / ∂ e_t`` (:mod:`memviz.analysis.connectivity`);
* **gradient × input** (Shrikumar et al., 2016): ``g_t · (e_t − b)``, the first-order change of the logit
  when character t is replaced by the padding character (``g_t · e_t`` for memviz's models);
* **integrated gradients** (Sundararajan et al., 2017): ``(e_t − b) · ∫₀¹ g_t(b + α (e − b)) dα``, along the
  straight path from the all-padding text (the whole text at once), by the midpoint rule with ``steps``
  points; the row sums to ``logit_k(e) − logit_k(b)`` (completeness) as ``steps`` grows;
* **occlusion** (Zeiler & Fergus, 2014), two ways of taking character t out:

  - *replace*: ``logit_k(e) − logit_k(e with e_t = b)``, the exact change when character t alone is
    replaced by the padding character; every other character keeps its position;
  - *remove*: ``logit_k(e) − logit_k(e without e_t)``, the exact change when character t is deleted and
    the text closes up, read at the same output character (position t̃ − 1 of the shorter text; the
    empty text, when t = t̃ = 0, is the zero state of memviz's recurrent models, and the padding character
    alone for any other model, which has no empty text to read: there *remove* equals *replace*). The text
    stays a text the model could have seen, where a padding character inside it never is.

Connectivity is unsigned; the others are signed (the logit can go up or down). Agreement is
measured on magnitudes (:func:`row_rank_correlation`, :func:`share_in_word`). All five come from one
jitted call per text: one ``jax.jacrev`` (a backward pass batched over the T output rows) at the
text and at each point of the path, and one forward pass batched over the 2T occluded copies. memviz's own
models read only the true words' columns of their dense layer; any other model computes its whole
``(T, num_words)`` output per copy, so its rows and copies go :data:`ROWS` at a time (``jax.lax.map``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from scipy import stats as scipy_stats

from memviz.analysis.connectivity import one_hot_norm
from memviz.analysis.shares import connectivity_share_in_word
from memviz.data import PAD_ID, UNKNOWN_ID, decode_chars
from memviz.models.model import AutocompleteModel
from memviz.models.protocol import CharacterModel, traceable_logits

#: The methods, in the order of :func:`attributions`' result.
METHODS = ("connectivity", "gradient × input", "integrated gradients", "occlusion (replace)", "occlusion (remove)")

#: Output rows (or occluded copies) per batched pass for a model other than memviz's own: each holds that model's
#: whole ``(T, num_words)`` output (memviz's models run them all at once, reading only the true words' columns).
ROWS = 16


def _true_word_readout(model: AutocompleteModel, targets: jax.Array):
    """``(..., T, hidden) → (..., T)``: the logit of each position's true word, from hidden states."""
    columns = model.dense.kernel[...].T[targets]  # (T, hidden): only the true words' columns
    bias = model.dense.bias[...][targets]  # type: ignore[index]  # the model's dense layer has a bias
    return lambda hidden: jnp.sum(hidden * columns, axis=-1).astype(jnp.float32) + bias


def _true_logits(model: CharacterModel, targets: jax.Array) -> Callable[[jax.Array], jax.Array]:
    """``(T, embedding) → (T,)``: the logit of each position's true word, from an embedded text."""
    if isinstance(model, AutocompleteModel):  # the recurrence, then the true words' columns only
        readout = _true_word_readout(model, targets)
        return lambda embedded: readout(model.recur(embedded[None])[0])
    forward, positions = traceable_logits(model), jnp.arange(targets.shape[0])
    return lambda embedded: forward(embedded[None])[0][positions, targets]


def _batched(function: Callable, xs: jax.Array, fast: bool) -> jax.Array:
    """``function`` over the first axis of ``xs``: all at once (``fast``, memviz's models) or :data:`ROWS` at a time."""
    return jax.vmap(function)(xs) if fast else jax.lax.map(function, xs, batch_size=ROWS)


def _jacobian(logits: Callable[[jax.Array], jax.Array], embedded: jax.Array, fast: bool) -> jax.Array:
    """``(T_out, T_in, embedding)``: the gradient of every output row's true-word logit, one backward pass per row."""
    if fast:
        return jax.jacrev(logits)(embedded)
    values, vjp = jax.vjp(logits, embedded)
    return _batched(lambda row: vjp(row)[0], jnp.eye(values.shape[0], dtype=values.dtype), fast)


def _closed_up(embedded: jax.Array, padding: jax.Array) -> jax.Array:
    """``(T_in, T, embedding)``: the text with input ``t_in`` deleted and the rest closed up, padding at the end."""
    j = jnp.arange(embedded.shape[0])
    closed_up = jnp.where(j[None, :] < j[:, None], j[None, :], j[None, :] + 1)  # [t_in, j]: j-th char without t_in
    return jnp.concatenate([embedded, padding[None]])[closed_up]  # index T: padding after the end


def _removed_logits(model: CharacterModel, embedded: jax.Array, targets: jax.Array, padding: jax.Array) -> jax.Array:
    """``(T_in, T_out)``: the true word's logit at each output character of the text with input ``t_in`` deleted.

    Output t̃ ≥ t_in of the original text is position t̃ − 1 of the shorter one; for t̃ = 0 that is the
    empty text: the zero initial state of memviz's models, the padding character alone for any other.
    Entries with t̃ < t_in are unused.
    """
    texts = _closed_up(embedded, padding)
    if isinstance(model, AutocompleteModel):
        hidden = jax.vmap(lambda e: model.recur(e[None])[0])(texts)  # (T_in, T, hidden)
        before = jnp.concatenate([jnp.zeros_like(hidden[:, :1]), hidden[:, :-1]], axis=1)  # [t_in, t̃]: at t̃ − 1
        return _true_word_readout(model, targets)(before)
    forward, j = traceable_logits(model), jnp.arange(embedded.shape[0])
    later = jnp.roll(targets, -1)  # position j of a shorter text is output j + 1 of the original
    shifted = _batched(lambda text: forward(text[None])[0][j, later], texts, fast=False)  # [t_in, j]
    empty = forward(padding[None, None])[0, 0, targets[0]]  # t̃ = 0: the padding character alone
    return jnp.concatenate([jnp.full_like(shifted[:, :1], empty), shifted[:, :-1]], axis=1)


def _baseline(table: jax.Array, embedded: jax.Array) -> jax.Array:
    """The attributions' baseline text: the padding character's embedding (row 0) at every position of ``embedded``
    (zeros for memviz's own models, whose row 0 is fixed at zero)."""
    return jnp.broadcast_to(table[PAD_ID], embedded.shape)


def _integrated(logits: Callable, baseline: jax.Array, delta: jax.Array, steps: int, fast: bool) -> jax.Array:
    """``(T, T)``: integrated gradients from ``baseline`` to ``baseline + delta`` with ``steps`` midpoints."""

    def path_point(alpha):  # (T, T): (e − b) · g(b + α (e − b))
        return jnp.sum(_jacobian(logits, baseline + alpha * delta, fast) * delta, axis=-1)

    alphas = (jnp.arange(steps, dtype=delta.dtype) + 0.5) / steps  # midpoints of [0, 1]
    return jax.lax.map(path_point, alphas).mean(axis=0)


@functools.partial(jax.jit, static_argnames=("graphdef", "steps"))
def _attributions(graphdef, state, source, targets, *, steps: int):
    model = nnx.merge(graphdef, state)
    fast = isinstance(model, AutocompleteModel)
    table = model.embedding_table()  # (28, embedding), padding row first
    embedded = table[source]  # (T, embedding)
    baseline = _baseline(table, embedded)
    delta = embedded - baseline  # e − b: exactly e for memviz's models
    logits = _true_logits(model, targets)
    jacobian = _jacobian(logits, embedded, fast)  # (T_out, T_in, embedding) = g_t for every output row
    connectivity = one_hot_norm(jacobian @ table.T)  # through E to the 28 one-hot dims
    gradient_input = jnp.sum(jacobian * delta, axis=-1)
    integrated = _integrated(logits, baseline, delta, steps, fast)

    length = source.shape[0]
    keep = 1.0 - jnp.eye(length + 1, length, k=-1, dtype=embedded.dtype)  # row 0: nothing occluded; row i: input i−1
    occluded = _batched(logits, jnp.where(keep[..., None] > 0, embedded[None], baseline[None]), fast)  # (1+T_in, T)
    replaced = jnp.tril(occluded[0][:, None] - occluded[1:].T)  # [t_out, t_in]; exactly causal
    removed = jnp.tril(occluded[0][:, None] - _removed_logits(model, embedded, targets, table[PAD_ID]).T)
    return jnp.stack([connectivity, gradient_input, integrated, replaced, removed])


def attributions(model: CharacterModel, source, targets, *, steps: int = 16) -> dict[str, np.ndarray]:
    """The five attributions of one text: ``{method: (T, T) float32}``, ``[t_out, t_in]``, in :data:`METHODS` order.

    ``model``: memviz's own (through its recurrence and the true words' columns of its dense layer) or any
    :class:`~memviz.models.protocol.CharacterModel` (through ``logits_from_embedded``). ``source, targets: (T,)
    int`` char ids and true word ids (any text of any length, or a padded row of a split: the model is causal, so
    the rows before the padding are exact). ``steps``: points of the integrated-gradients path (its cost is
    ``steps + 1`` batched backward passes).

    The baseline (integrated gradients, gradient × input, occlusion by replacement) is the padding character's
    embedding, row 0 of ``model.embedding_table()``, at every position: zero for memviz's models (row 0 is fixed
    at zero there), so this is the zero baseline of the methods' papers; a model whose row 0 is learned (an
    ``nnx.Embed``) is attributed against a text of its own padding vector instead, and a
    :class:`~memviz.models.protocol.FunctionModel` against the one-hot of ``<eos>``.
    Compiled once per (model structure, T, steps).
    """
    source, targets = np.asarray(source), np.asarray(targets)
    if source.ndim != 1 or source.shape != targets.shape or source.size == 0:
        raise ValueError(
            f"source and targets must be (T,) arrays of one shape, T > 0, not {source.shape} and {targets.shape}"
        )
    if steps < 1:
        raise ValueError(f"steps must be at least 1, not {steps}")
    graphdef, state = nnx.split(model)
    stacked = _attributions(
        graphdef, state, jnp.asarray(source, jnp.int32), jnp.asarray(targets, jnp.int32), steps=steps
    )
    return dict(zip(METHODS, np.asarray(stacked)))


# ----------------------------------------------------------------------------------------------
# Agreement between methods
# ----------------------------------------------------------------------------------------------


def row_rank_correlation(a: np.ndarray, b: np.ndarray, *, min_inputs: int = 3) -> np.ndarray:
    """``(T,)`` Spearman correlation of ``|a[t, :t+1]|`` with ``|b[t, :t+1]|`` for every output row t.

    Only the causal part of each row (inputs 0 … t) is ranked. NaN for rows with fewer than
    ``min_inputs`` inputs or where either row is constant.
    """
    a, b = np.abs(np.asarray(a, np.float64)), np.abs(np.asarray(b, np.float64))
    out = np.full(len(a), np.nan)
    for t in range(min_inputs - 1, len(a)):
        x, y = a[t, : t + 1], b[t, : t + 1]
        if np.ptp(x) > 0 and np.ptp(y) > 0:
            out[t] = scipy_stats.spearmanr(x, y).statistic
    return out


def share_in_word(matrix: np.ndarray, source: np.ndarray) -> np.ndarray:
    """``(T,)`` share of each row's magnitude ``|matrix[t]|`` on the current word (its leading space … t).

    :func:`memviz.analysis.shares.connectivity_share_in_word` on absolute values, so that it applies to the signed
    methods too. ``source``: the text's ``(T,)`` char ids, no padding. NaN where a row is all zero.
    """
    source = np.asarray(source)
    if source.shape != (len(matrix),) or (source == PAD_ID).any():
        raise ValueError(f"source must be the (T,) = ({len(matrix)},) char ids of the text itself, without padding")
    return connectivity_share_in_word(np.abs(np.asarray(matrix, np.float64)), decode_chars(source))


def sequence_summary(
    matrices: dict[str, np.ndarray], source, targets, *, reference: str = "connectivity"
) -> dict[str, dict[str, float]]:
    """One text's agreement figures per method: ``{method: {"rank correlation": ..., "share in word": ...}}``.

    Means over the output rows whose target is a known word (not ``<eos>``, not ``<unknown>``): the row
    rank correlation with ``matrices[reference]`` (:func:`row_rank_correlation`) and the in-word share
    (:func:`share_in_word`). Averaging per text first lets a bootstrap resample texts.
    """
    known = np.asarray(targets) > UNKNOWN_ID
    summary = {}
    for method, matrix in matrices.items():
        rho = row_rank_correlation(matrix, matrices[reference])
        share = share_in_word(matrix, source)
        summary[method] = {
            "rank correlation": float(np.nanmean(rho[known])),
            "share in word": float(np.nanmean(share[known])),
        }
    return summary


def _logit_change(model: CharacterModel, source: jax.Array, targets: jax.Array) -> np.ndarray:
    """``(T,) float64``: ``logit_k(e) − logit_k(b)`` per output row, from the all-padding text ``b`` to the text."""
    logits = _true_logits(model, targets)
    table = model.embedding_table()
    embedded = table[source]
    return np.asarray(logits(embedded) - logits(_baseline(table, embedded)), np.float64)


def completeness_gap(model: CharacterModel, source, targets, integrated: np.ndarray) -> np.ndarray:
    """``(T,)``: ``|Σ_t IG[t̃, t] − (logit_k(e) − logit_k(b))| / |logit_k(e) − logit_k(b)|`` per output row.

    Integrated gradients' completeness: with enough path steps every row sums to the change of its logit
    from the all-padding text ``b`` (the baseline of :func:`attributions`: zeros for memviz's models, any
    :class:`~memviz.models.protocol.CharacterModel`'s own padding row otherwise); the gap says how far a finite
    ``steps`` is from that.
    """
    change = _logit_change(model, jnp.asarray(source, jnp.int32), jnp.asarray(targets, jnp.int32))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.abs(np.asarray(integrated, np.float64).sum(axis=1) - change) / np.abs(change)


@functools.partial(jax.jit, static_argnames=("graphdef",))
def _path_derivative(graphdef, state, source, targets, alphas):
    """``(A, T)``: ``d/dα logit_k(b + α (e − b))`` at each α for every output row, one forward-mode pass per α
    (64 at a time for memviz's models, :data:`ROWS` for any other, whose passes hold all ``num_words`` logits)."""
    model = nnx.merge(graphdef, state)
    table = model.embedding_table()
    embedded = table[source]
    baseline = _baseline(table, embedded)
    delta = embedded - baseline
    logits = _true_logits(model, targets)
    batch = 64 if isinstance(model, AutocompleteModel) else ROWS
    return jax.lax.map(lambda a: jax.jvp(logits, (baseline + a * delta,), (delta,))[1], alphas, batch_size=batch)


def completeness_by_steps(
    model: CharacterModel, source, targets, steps: tuple[int, ...] = (8, 64, 1024)
) -> tuple[dict[int, np.ndarray], np.ndarray]:
    """How complete integrated gradients is with each number of path points, and why: ``(gaps, peakiness)``.

    ``gaps``: ``{steps: (T,)}``, :func:`completeness_gap` of integrated gradients with that many midpoints.
    Cheap: a row of integrated gradients sums to ``Σ_t (e_t − b) · g_t(b + α (e − b))`` averaged over the path's
    midpoints, and that sum is ``d/dα logit_k(b + α (e − b))``, one forward-mode derivative of the whole text per
    α (not one backward pass per output row). So this gives exactly the gap :func:`attributions` would have with
    ``steps`` points, for many more points than it can afford. ``b``: the baseline of :func:`attributions` (zeros
    for memviz's models); ``model``: any :class:`~memviz.models.protocol.CharacterModel`.

    ``peakiness``: ``(T,)``, the largest ``|d/dα logit_k|`` over its mean, on the largest number of points:
    1 for a logit that changes evenly along the path, large where it changes in a few sharp steps, which
    few points miss.
    """
    source, targets = jnp.asarray(source, jnp.int32), jnp.asarray(targets, jnp.int32)
    graphdef, state = nnx.split(model)
    change = _logit_change(model, source, targets)
    gaps = {}
    for n in sorted(steps):
        alphas = (jnp.arange(n, dtype=jnp.float32) + 0.5) / n
        derivative = np.asarray(_path_derivative(graphdef, state, source, targets, alphas), np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            gaps[n] = np.abs(derivative.mean(axis=0) - change) / np.abs(change)
            peakiness = np.abs(derivative).max(axis=0) / np.abs(derivative).mean(axis=0)
    return {n: gaps[n] for n in steps}, peakiness


def text_summaries(model: CharacterModel, split, rows: list[int], length: int, *, steps: int) -> list[tuple]:
    """For each row of ``split`` in ``rows`` (its first ``length`` characters): ``(summary, connectivity, gap)``, the
    :func:`sequence_summary` of its :func:`attributions`, its connectivity matrix and the median completeness gap of
    integrated gradients with ``steps`` path points; ``model``: any :class:`~memviz.models.protocol.CharacterModel`."""
    out = []
    for i in rows:
        source, targets = split.source[i, :length], split.target[i, :length]
        matrices = attributions(model, source, targets, steps=steps)
        gap = completeness_gap(model, source, targets, matrices["integrated gradients"])
        out.append((sequence_summary(matrices, source, targets), matrices["connectivity"], float(np.nanmedian(gap))))
    return out
