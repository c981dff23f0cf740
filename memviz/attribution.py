"""Is connectivity a faithful attribution? Four attributions of the same logit, side by side.

For an output position t̃ with true word k, each method scores every input position t ≤ t̃ (a ``(T, T)``
matrix ``[t_out, t_in]``, zero above the diagonal, as connectivity):

* **connectivity** (the article): ``‖g_t · Eᵀ‖²``, the squared gradient of the true word's logit with
  respect to the one-hot input, ``g_t = ∂ logit_k(t̃) / ∂ e_t`` (:mod:`memviz.connectivity`);
* **gradient × input** (Shrikumar et al., 2016): ``g_t · e_t``, the first-order change of the logit when
  character t is replaced by the zero embedding;
* **integrated gradients** (Sundararajan et al., 2017): ``e_t · ∫₀¹ g_t(α e) dα``, along the straight path
  from the padding row's zero embedding (the whole text at once), by the midpoint rule with ``steps``
  points; the row sums to ``logit_k(e) − logit_k(0)`` (completeness) as ``steps`` grows;
* **occlusion** (Zeiler & Fergus, 2014): ``logit_k(e) − logit_k(e with e_t = 0)``, the exact change when
  character t alone is replaced by the padding character (zero embedding).

Connectivity is unsigned; the other three are signed (the logit can go up or down). Agreement is
measured on magnitudes (:func:`row_rank_correlation`, :func:`share_in_word`). All four come from one
jitted call per text: one ``jax.jacrev`` (a backward pass batched over the T output rows) at the
text and at each point of the path, and one forward pass batched over the T occluded copies.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from scipy import stats as scipy_stats

from memviz.data import UNKNOWN_ID
from memviz.metrics import chars_typed
from memviz.model import AutocompleteModel

#: The methods, in the order of :func:`attributions`' result.
METHODS = ("connectivity", "gradient × input", "integrated gradients", "occlusion")


def _true_logits(model: AutocompleteModel, targets: jax.Array):
    """``(T, embedding) → (T,)``: the logit of each position's true word, from an embedded text."""
    columns = model.dense.kernel[...].T[targets]  # (T, hidden): only the true words' columns
    bias = model.dense.bias[...][targets]

    def logits(embedded):
        hidden = model.recur(embedded[None])[0]  # (T, hidden)
        return jnp.sum(hidden * columns, axis=-1).astype(jnp.float32) + bias

    return logits


@functools.partial(jax.jit, static_argnames=("graphdef", "steps"))
def _attributions(graphdef, state, source, targets, *, steps: int):
    model: AutocompleteModel = nnx.merge(graphdef, state)
    table = model.embedding_table()  # (28, embedding), zero padding row first
    embedded = table[source]  # (T, embedding)
    logits = _true_logits(model, targets)
    jacobian = jax.jacrev(logits)(embedded)  # (T_out, T_in, embedding) = g_t for every output row
    connectivity = jnp.sum((jacobian @ table.T) ** 2, axis=-1)  # through E to the 28 one-hot dims
    gradient_input = jnp.sum(jacobian * embedded, axis=-1)

    def path_point(alpha):  # (T, T): e · g(α e)
        return jnp.sum(jax.jacrev(logits)(alpha * embedded) * embedded, axis=-1)

    alphas = (jnp.arange(steps, dtype=embedded.dtype) + 0.5) / steps  # midpoints of [0, 1]
    integrated = jax.lax.map(path_point, alphas).mean(axis=0)

    length = source.shape[0]
    keep = 1.0 - jnp.eye(length + 1, length, k=-1, dtype=embedded.dtype)  # row 0: nothing occluded; row i: input i−1
    occluded = jax.vmap(logits)(embedded[None] * keep[..., None])  # (1 + T_in, T_out)
    occlusion = jnp.tril(occluded[0][:, None] - occluded[1:].T)  # [t_out, t_in]; exactly causal
    return jnp.stack([connectivity, gradient_input, integrated, occlusion])


def attributions(model: AutocompleteModel, source, targets, *, steps: int = 16) -> dict[str, np.ndarray]:
    """The four attributions of one text: ``{method: (T, T) float32}``, ``[t_out, t_in]``, in :data:`METHODS` order.

    ``source, targets: (T,) int`` char ids and true word ids (any text of any length, or a padded row
    of a split: the model is causal, so the rows before the padding are exact). ``steps``: points of
    the integrated-gradients path (its cost is ``steps + 1`` batched backward passes).
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

    NaN where a row is all zero. The same definition as :func:`memviz.metrics.connectivity_share_in_word`,
    on absolute values so that it applies to the signed methods too.
    """
    magnitude = np.abs(np.asarray(matrix, np.float64))
    t = np.arange(len(magnitude))
    word_start = t - chars_typed(np.asarray(source))
    inside = (t[None, :] >= word_start[:, None]) & (t[None, :] <= t[:, None])
    total = magnitude.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (magnitude * inside).sum(axis=1) / total, np.nan)


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


def completeness_gap(model: AutocompleteModel, source, targets, integrated: np.ndarray) -> np.ndarray:
    """``(T,)``: ``|Σ_t IG[t̃, t] − (logit_k(e) − logit_k(0))| / |logit_k(e) − logit_k(0)|`` per output row.

    Integrated gradients' completeness: with enough path steps every row sums to the change of its logit
    from the all-padding text; the gap says how far a finite ``steps`` is from that.
    """
    source, targets = jnp.asarray(source, jnp.int32), jnp.asarray(targets, jnp.int32)
    logits = _true_logits(model, targets)
    embedded = model.embedding_table()[source]
    change = np.asarray(logits(embedded) - logits(jnp.zeros_like(embedded)), np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.abs(np.asarray(integrated, np.float64).sum(axis=1) - change) / np.abs(change)
