"""Test metrics: cross entropy and accuracy (the article's appendix, "Model testing") and autocomplete accuracy by
characters typed (its "Future work" section; https://distill.pub/2019/memorization-in-rnns/).

Everything that touches logits runs jitted, batch by batch, and reduces on the device: only
per-sequence sums or top-k ids come back to the host, never ``(n, T, words)`` logits.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from memviz.core.results import AccuracyCurve
from memviz.data import UNKNOWN_ID, chars_typed, loss_mask
from memviz.models.protocol import CharacterModel, logits_of
from memviz.training.loss import masked_cross_entropy

# ----------------------------------------------------------------------------------------------
# Pure functions
# ----------------------------------------------------------------------------------------------


def accuracy_by_chars_typed(
    source: np.ndarray,
    target: np.ndarray,
    lengths: np.ndarray,
    topk_ids: np.ndarray,
    *,
    max_chars: int | None = None,
    include_padding: bool = False,
    where: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative top-1…k accuracy by characters of the word typed (the article's accuracy graph).

    Args:
      source, target: ``(n, T)`` char ids and word ids, padded with 0 after ``lengths``.
      lengths: ``(n,)`` true sequence lengths.
      topk_ids: ``(n, T, k)`` the model's predictions, most probable first.
      max_chars: the last column (default: the longest word counted); longer positions are left out.
      include_padding: also count padded positions, as the article's figure did (batches of 16,
        padded): they continue the last word's counter and count as wrong (the article's code compares
        them with target <eos>, a class the model was never trained toward).
      where: optional ``(n, T) bool``: count only these positions (e.g. words seen earlier in the
        sequence, :func:`memviz.data.seen_earlier`).

    Returns ``(accuracy (k, L), counts (L,))``: ``accuracy[j, c]`` is the share of positions with c
    characters typed whose true word is among the top j+1 predictions (NaN where ``counts`` is 0).
    OOV targets (<unknown>) are counted and always wrong.
    """
    source, target, topk_ids = np.asarray(source), np.asarray(target), np.asarray(topk_ids)
    _, length, k = topk_ids.shape
    typed = chars_typed(source)  # (n, T)
    real = np.arange(length)[None, :] < np.asarray(lengths)[:, None]
    counted = np.ones_like(real) if include_padding else real
    if where is not None:
        counted = counted & np.asarray(where, bool)
    # Rank of the true word among the predictions (k = not in the top k); OOV and padding never hit.
    hits = (topk_ids == target[..., None]) & (real & (target != UNKNOWN_ID))[..., None]
    rank = np.where(hits.any(axis=-1), hits.argmax(axis=-1), k)  # (n, T)

    if max_chars is not None:
        counted = counted & (typed <= max_chars)
    columns = (max_chars if max_chars is not None else int(typed[counted].max(initial=0))) + 1
    typed, rank = typed[counted], rank[counted]
    counts = np.bincount(typed, minlength=columns)
    by_rank = np.bincount(typed * (k + 1) + rank, minlength=columns * (k + 1)).reshape(columns, k + 1)
    correct = np.cumsum(by_rank[:, :k], axis=1).T  # (k, L): top-(j+1) is cumulative in j
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, correct / counts, np.nan), counts


def target_counts(split, num_words: int) -> np.ndarray:
    """``(num_words,) int64``: how often each word is the target, over the real positions of a split."""
    real = np.arange(split.target.shape[1])[None, :] < np.asarray(split.lengths)[:, None]
    return np.bincount(np.asarray(split.target)[real], minlength=num_words)


def unigram_log_probs(train_counts: np.ndarray) -> np.ndarray:
    """The unigram baseline: log frequency of each word as a target in training, ``(words,) float32``.

    Only trainable words (not <eos>, not <unknown>) get mass, with add-one smoothing so that a word
    unseen in training keeps a finite loss.
    """
    counts = np.asarray(train_counts, np.float64) + 1.0
    counts[~loss_mask(np.arange(len(counts)))] = 0.0
    with np.errstate(divide="ignore"):
        return np.log(counts / counts.sum()).astype(np.float32)


# ----------------------------------------------------------------------------------------------
# Batched, jitted passes over a split
# ----------------------------------------------------------------------------------------------


def _batches(split, batch_size: int):
    """Yield ``(start, stop, source, target, lengths)`` for rows ``start:stop``, padded to ``batch_size``
    rows (of length 0) so that each pass compiles once."""
    n = len(split.lengths)
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)

        def rows(a, start=start, stop=stop):
            return np.pad(np.asarray(a[start:stop]), [(0, batch_size - (stop - start))] + [(0, 0)] * (np.ndim(a) - 1))

        yield start, stop, rows(split.source), rows(split.target), rows(split.lengths)


@functools.partial(jax.jit, static_argnames=("graphdef", "k"))
def _topk(graphdef, state, source, *, k: int):
    logits = logits_of(nnx.merge(graphdef, state), source)
    return jax.lax.top_k(logits, k)[1].astype(jnp.int32)


def predict_topk(model: CharacterModel, split, k: int = 3, batch_size: int = 32) -> np.ndarray:
    """``(n, T, k) int32``: the model's k most probable words at every position of a split."""
    graphdef, state = nnx.split(model)
    out = np.zeros((*np.shape(split.source), k), np.int32)
    for start, stop, source, _, _ in _batches(split, batch_size):
        out[start:stop] = np.asarray(_topk(graphdef, state, jnp.asarray(source, jnp.int32), k=k))[: stop - start]
    return out


def autocomplete_accuracy(
    model: CharacterModel,
    split,
    name: str | None = None,
    k: int = 3,
    *,
    batch_size: int = 32,
    max_chars: int | None = None,
    include_padding: bool = False,
    where: np.ndarray | None = None,
) -> AccuracyCurve:
    """The article's accuracy graph for one model on one split; ``where``: as in
    :func:`accuracy_by_chars_typed`, an optional ``(n, T) bool`` mask of the positions to count."""
    topk = predict_topk(model, split, k=k, batch_size=batch_size)
    accuracy, counts = accuracy_by_chars_typed(
        split.source,
        split.target,
        split.lengths,
        topk,
        max_chars=max_chars,
        include_padding=include_padding,
        where=where,
    )
    return AccuracyCurve(model=name or model.name, accuracy=accuracy, counts=counts)


@functools.partial(jax.jit, static_argnames=("graphdef",))
def _sequence_sums(graphdef, state, source, target, lengths, unigram):
    """Per-sequence sums for one batch: model and unigram CE (masked), mask size, hits, real positions."""
    logits = logits_of(nnx.merge(graphdef, state), source)
    real = (jnp.arange(source.shape[1])[None, :] < lengths[:, None]).astype(jnp.float32)
    loss, mask = masked_cross_entropy(logits, target)
    mask = mask * real  # bool · float → float
    base_loss = jnp.where(mask > 0, -unigram[target], 0.0)
    hit = (jnp.argmax(logits, axis=-1) == target) * real
    base_hit = (jnp.argmax(unigram) == target) * real
    sums = (loss * mask, base_loss * mask, mask, hit, base_hit, real)
    return jnp.stack([s.sum(axis=1) for s in sums], axis=1)  # (batch, 6)


def evaluate(
    model: CharacterModel, split, train_counts: np.ndarray | None = None, *, train_split=None, batch_size: int = 32
) -> dict:
    """The article's test metrics (its appendix, "Model testing"), plus a token-weighted CE and a unigram baseline.

    * ``cross_entropy``: mean over sequences of each sequence's masked-mean CE (the article's
      ``tf.metrics.mean`` at batch size 1); sequences with no trainable target are left out.
    * ``accuracy``: argmax == target over every real position, OOV targets included (always wrong).
    * ``token_cross_entropy``: masked CE averaged over all trainable positions at once.
    * ``unigram_*``: the same three for the baseline that always predicts the training targets'
      word frequencies (``train_counts``, e.g. ``target_counts(train_split, num_words)``, or counted
      here from ``train_split``); absent when neither is given.
    """
    num_words = model.num_words
    if train_counts is None and train_split is not None:
        train_counts = target_counts(train_split, num_words)
    per = sequence_metrics(model, split, train_counts, batch_size=batch_size)
    loss, base_loss, mask, hit, base_hit, real = (per[k] for k in _SEQUENCE_SUMS)
    has = mask > 0
    metrics = {
        "cross_entropy": float(np.mean(loss[has] / mask[has])),
        "accuracy": float(hit.sum() / real.sum()),
        "token_cross_entropy": float(loss.sum() / mask.sum()),
    }
    if train_counts is not None:
        metrics |= {
            "unigram_cross_entropy": float(np.mean(base_loss[has] / mask[has])),
            "unigram_accuracy": float(base_hit.sum() / real.sum()),
            "unigram_token_cross_entropy": float(base_loss.sum() / mask.sum()),
        }
    return metrics


# ----------------------------------------------------------------------------------------------
# Per-sequence counts (for bootstrap intervals over test sequences, memviz.evaluation.stats)
# ----------------------------------------------------------------------------------------------


def hits_by_chars_typed(
    source: np.ndarray,
    target: np.ndarray,
    lengths: np.ndarray,
    topk_ids: np.ndarray,
    *,
    max_chars: int,
    include_padding: bool = False,
    where: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-sequence version of :func:`accuracy_by_chars_typed` (same arguments and counting rules).

    Returns ``(hits (n, k, L), counts (n, L))`` with ``L = max_chars + 1``: ``hits[i, j, c]`` is the
    number of positions of sequence i with c characters typed whose true word is among the top j+1.
    ``hits.sum(0) / counts.sum(0)`` is :func:`accuracy_by_chars_typed`'s accuracy, and
    ``memviz.evaluation.stats.bootstrap_ratio(hits, counts[:, None])`` its interval over sequences.
    """
    source, target, topk_ids = np.asarray(source), np.asarray(target), np.asarray(topk_ids)
    n, length, k = topk_ids.shape
    typed = chars_typed(source)
    real = np.arange(length)[None, :] < np.asarray(lengths)[:, None]
    counted = (np.ones_like(real) if include_padding else real) & (typed <= max_chars)
    if where is not None:
        counted = counted & np.asarray(where, bool)
    hits = (topk_ids == target[..., None]) & (real & (target != UNKNOWN_ID))[..., None]
    rank = np.where(hits.any(axis=-1), hits.argmax(axis=-1), k)  # (n, T); k: not in the top k
    columns = max_chars + 1
    row = np.broadcast_to(np.arange(n)[:, None], typed.shape)
    cell = (row * columns + typed)[counted]
    counts = np.bincount(cell, minlength=n * columns).reshape(n, columns)
    by_rank = np.bincount(cell * (k + 1) + rank[counted], minlength=n * columns * (k + 1)).reshape(n, columns, k + 1)
    return np.cumsum(by_rank[..., :k], axis=-1).transpose(0, 2, 1), counts


#: The per-sequence sums of :func:`_sequence_sums`, in its column order.
_SEQUENCE_SUMS = ("loss", "unigram_loss", "trained", "hits", "unigram_hits", "positions")


def sequence_metrics(
    model: CharacterModel, split, train_counts: np.ndarray | None = None, *, batch_size: int = 32
) -> dict[str, np.ndarray]:
    """Per test sequence, the sums behind :func:`evaluate`: ``(n,) float64`` arrays, for bootstrap intervals over
    sequences (:mod:`memviz.evaluation.stats`).

    * ``loss``, ``trained``: masked CE summed over the sequence, and the number of trainable positions
      (``loss / trained`` is the sequence's CE; ``evaluate``'s ``cross_entropy`` is its mean where ``trained > 0``);
    * ``hits``, ``positions``: correct argmax predictions and real positions (``accuracy = Σ hits / Σ positions``);
    * ``unigram_loss``, ``unigram_hits``: the same for the unigram baseline of ``train_counts`` (zeros if not given).
    """
    counts = np.zeros(model.num_words) if train_counts is None else np.asarray(train_counts)
    unigram = jnp.asarray(unigram_log_probs(counts))
    graphdef, state = nnx.split(model)
    sums = np.zeros((len(split.lengths), 6))
    for start, stop, source, target, lengths in _batches(split, batch_size):
        out = _sequence_sums(graphdef, state, *(jnp.asarray(a, jnp.int32) for a in (source, target, lengths)), unigram)
        sums[start:stop] = np.asarray(out, np.float64)[: stop - start]
    return dict(zip(_SEQUENCE_SUMS, sums.T.copy()))
