"""Test metrics: cross entropy and accuracy (the article's appendix, "Model testing") and autocomplete accuracy by
characters typed (its "Future work" section; https://distill.pub/2019/memorization-in-rnns/).

Everything that touches logits runs jitted, batch by batch, and reduces on the device: only
per-sequence sums or top-k ids come back to the host, never ``(n, T, words)`` logits.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from memviz.data import SPACE_ID, UNKNOWN_ID, loss_mask
from memviz.model import AutocompleteModel
from memviz.results import AccuracyCurve, ConnectivityResult

UNKNOWN_WORD = "<unknown>"  # the target of out-of-vocabulary words in a result (word id UNKNOWN_ID)


# ----------------------------------------------------------------------------------------------
# Pure functions
# ----------------------------------------------------------------------------------------------


def masked_cross_entropy(logits: jax.Array, target: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Softmax cross entropy with the article's mask (its autocomplete problem): neither <eos> nor <unknown> is trained.

    ``logits (..., words)``, ``target (...) int`` → ``(loss (...) float32, mask (...) bool)``;
    ``loss`` is already zero where ``mask`` is False, so ``loss.sum() / mask.sum()`` is the article's
    training loss.
    """
    log_probs = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
    loss = -jnp.take_along_axis(log_probs, target[..., None].astype(jnp.int32), axis=-1)[..., 0]
    mask = loss_mask(target)
    return jnp.where(mask, loss, 0.0), mask


def chars_typed(source: np.ndarray | None = None, *, is_space: np.ndarray | None = None) -> np.ndarray:
    """Characters of the current word typed so far, at every position: ``(..., T) ids → (..., T) int``.

    As the article's ``ContextAccuracy`` counts it: 0 at a space (the word's leading space),
    otherwise one more than at the previous position, starting from 0 before the first position.
    Padding (id 0 is not a space) therefore continues the last word's count. Pass char ids as
    ``source``, or where the spaces are as ``is_space`` (``(..., T) bool``, e.g. from a result's text).
    """
    is_space = np.asarray(source) == SPACE_ID if is_space is None else np.asarray(is_space, bool)
    t = np.arange(is_space.shape[-1])
    last_space = np.maximum.accumulate(np.where(is_space, t, -1), axis=-1)
    return t - last_space


def seen_earlier(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """``(n, T) bool``: the target word was already the target of an earlier word of the same row.

    ``source, target: (n, T)`` char ids and word ids. Every position of a word gets its word's flag;
    ``<unknown>`` and padding are never "seen". A mask for :func:`accuracy_by_chars_typed`'s ``where``.
    """
    source, target = np.asarray(source), np.asarray(target)
    seen = np.zeros(target.shape, bool)
    for row, (s, t) in enumerate(zip(source, target)):
        is_start = s == SPACE_ID
        first: dict[int, int] = {}
        flags = np.array([first.setdefault(w, k) < k for k, w in enumerate(t[is_start].tolist())] + [False])
        word = np.cumsum(is_start) - 1  # word index of each position (-1 before the first space)
        seen[row] = flags[word] & (word >= 0) & (t > UNKNOWN_ID)
    return seen


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


def word_counts(split, num_words: int) -> np.ndarray:
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
    logits = nnx.merge(graphdef, state)(source)
    return jax.lax.top_k(logits, k)[1].astype(jnp.int32)


def predict_topk(model: AutocompleteModel, split, k: int = 3, batch_size: int = 32) -> np.ndarray:
    """``(n, T, k) int32``: the model's k most probable words at every position of a split."""
    graphdef, state = nnx.split(model)
    out = np.zeros((*np.shape(split.source), k), np.int32)
    for start, stop, source, _, _ in _batches(split, batch_size):
        out[start:stop] = np.asarray(_topk(graphdef, state, jnp.asarray(source, jnp.int32), k=k))[: stop - start]
    return out


def autocomplete_accuracy(
    model: AutocompleteModel,
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
    return AccuracyCurve(model=name or model.config.display_name, accuracy=accuracy, counts=counts)


@functools.partial(jax.jit, static_argnames=("graphdef",))
def _sequence_sums(graphdef, state, source, target, lengths, unigram):
    """Per-sequence sums for one batch: model and unigram CE (masked), mask size, hits, real positions."""
    logits = nnx.merge(graphdef, state)(source)
    real = (jnp.arange(source.shape[1])[None, :] < lengths[:, None]).astype(jnp.float32)
    loss, mask = masked_cross_entropy(logits, target)
    mask = mask * real  # bool · float → float
    base_loss = jnp.where(mask > 0, -unigram[target], 0.0)
    hit = (jnp.argmax(logits, axis=-1) == target) * real
    base_hit = (jnp.argmax(unigram) == target) * real
    sums = (loss * mask, base_loss * mask, mask, hit, base_hit, real)
    return jnp.stack([s.sum(axis=1) for s in sums], axis=1)  # (batch, 6)


def evaluate(
    model: AutocompleteModel, split, train_counts: np.ndarray | None = None, *, train_split=None, batch_size: int = 32
) -> dict:
    """The article's test metrics (its appendix, "Model testing"), plus a token-weighted CE and a unigram baseline.

    * ``cross_entropy``: mean over sequences of each sequence's masked-mean CE (the article's
      ``tf.metrics.mean`` at batch size 1); sequences with no trainable target are left out.
    * ``accuracy``: argmax == target over every real position, OOV targets included (always wrong).
    * ``token_cross_entropy``: masked CE averaged over all trainable positions at once.
    * ``unigram_*``: the same three for the baseline that always predicts the training targets'
      word frequencies (``train_counts``, e.g. ``word_counts(train_split, num_words)``, or counted
      here from ``train_split``); absent when neither is given.
    """
    num_words = model.config.num_words
    if train_counts is None and train_split is not None:
        train_counts = word_counts(train_split, num_words)
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
# Per-sequence counts (for bootstrap intervals over test sequences, memviz.stats)
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
    ``memviz.stats.bootstrap_ratio(hits, counts[:, None])`` its interval over sequences.
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


def word_frequencies(split, num_words: int) -> np.ndarray:
    """``(num_words,) int64``: how many times each word occurs in a split, each occurrence counted once.

    Counted at each word's leading space (a word whose leading space fell in the previous chunk is
    not counted). :func:`word_counts` counts target *positions* instead: a word of length L is
    counted L + 1 times, which ranks long words above short ones of the same frequency.
    """
    source, target = np.asarray(split.source), np.asarray(split.target)
    real = np.arange(source.shape[1])[None, :] < np.asarray(split.lengths)[:, None]
    return np.bincount(target[real & (source == SPACE_ID)], minlength=num_words)


#: The per-sequence sums of :func:`_sequence_sums`, in its column order.
_SEQUENCE_SUMS = ("loss", "unigram_loss", "trained", "hits", "unigram_hits", "positions")


def sequence_metrics(
    model: AutocompleteModel, split, train_counts: np.ndarray | None = None, *, batch_size: int = 32
) -> dict[str, np.ndarray]:
    """Per test sequence, the sums behind :func:`evaluate`: ``(n,) float64`` arrays, for bootstrap intervals over
    sequences (:mod:`memviz.stats`).

    * ``loss``, ``trained``: masked CE summed over the sequence, and the number of trainable positions
      (``loss / trained`` is the sequence's CE; ``evaluate``'s ``cross_entropy`` is its mean where ``trained > 0``);
    * ``hits``, ``positions``: correct argmax predictions and real positions (``accuracy = Σ hits / Σ positions``);
    * ``unigram_loss``, ``unigram_hits``: the same for the unigram baseline of ``train_counts`` (zeros if not given).
    """
    counts = np.zeros(model.config.num_words) if train_counts is None else np.asarray(train_counts)
    unigram = jnp.asarray(unigram_log_probs(counts))
    graphdef, state = nnx.split(model)
    sums = np.zeros((len(split.lengths), 6))
    for start, stop, source, target, lengths in _batches(split, batch_size):
        out = _sequence_sums(graphdef, state, *(jnp.asarray(a, jnp.int32) for a in (source, target, lengths)), unigram)
        sums[start:stop] = np.asarray(out, np.float64)[: stop - start]
    return dict(zip(_SEQUENCE_SUMS, sums.T.copy()))


# How much of the connectivity stays inside the word being typed
# ----------------------------------------------------------------------------------------------


def _raw_and_text(result_or_raw, text: str | None) -> tuple[np.ndarray, str]:
    if isinstance(result_or_raw, ConnectivityResult):
        return result_or_raw.raw, result_or_raw.text
    if text is None:
        raise ValueError("pass the text along with a raw matrix")
    return np.asarray(result_or_raw), text


def _spaces(text: str) -> np.ndarray:
    """``(len(text),) bool``: where ``text`` has a space."""
    return np.frombuffer(text.encode("ascii", "replace"), np.uint8) == ord(" ")


def connectivity_share_in_word(
    result_or_raw: ConnectivityResult | np.ndarray, text: str | None = None, *, skip_unknown: bool = True
) -> np.ndarray:
    """``(T,)``: per output position, the share of its connectivity mass inside the word being typed.

    The current word runs from its leading space to the output position itself (the article's
    connectivity figure: GRU 0.59, LSTM 0.61, Nested LSTM 0.86 on the article's sample). NaN where a row is all zero
    and, with ``skip_unknown``, where a ConnectivityResult's target is ``<unknown>`` (the gradient of
    a class the model is not asked to predict). Pass a ConnectivityResult, or a raw ``(T, T)`` matrix
    and its text.
    """
    raw, text = _raw_and_text(result_or_raw, text)
    if skip_unknown and isinstance(result_or_raw, ConnectivityResult):
        raw = np.where((np.asarray(result_or_raw.targets) == UNKNOWN_WORD)[:, None], 0.0, raw)
    typed = chars_typed(is_space=_spaces(text))  # (T,) characters of the word typed so far
    t = np.arange(len(text))
    word_start = t - typed  # the leading space (or -1 … before a text that opens mid-word)
    inside = (t[None, :] >= word_start[:, None]) & (t[None, :] <= t[:, None])
    total = raw.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (raw * inside).sum(axis=1) / total, np.nan)


def share_in_word_by_chars_typed(
    results: Iterable[ConnectivityResult | tuple[np.ndarray, str]],
    *,
    max_chars: int | None = None,
    skip_unknown: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean in-word share of connectivity by characters of the word typed, over many sequences.

    Returns ``(share (L,), counts (L,))``; ``share[n]`` averages every position (of every sequence)
    where n characters of the word were typed (n = 0: the leading space). Positions with more than
    ``max_chars`` characters are left out; NaN where no position counted. All-zero rows are skipped,
    and so (``skip_unknown``) are the rows of a ConnectivityResult whose target is ``<unknown>``.
    """
    shares, typed = [], []
    for item in results:
        if isinstance(item, ConnectivityResult):
            shares.append(connectivity_share_in_word(item, skip_unknown=skip_unknown))
            text = item.text
        else:
            raw, text = np.asarray(item[0]), item[1]
            shares.append(connectivity_share_in_word(raw, text))
        typed.append(chars_typed(is_space=_spaces(text)))
    share, typed = np.concatenate(shares), np.concatenate(typed)
    keep = ~np.isnan(share)
    if max_chars is not None:
        keep &= typed <= max_chars
    length = (max_chars if max_chars is not None else int(typed[keep].max(initial=0))) + 1
    counts = np.bincount(typed[keep], minlength=length)
    sums = np.bincount(typed[keep], weights=share[keep], minlength=length)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan), counts
