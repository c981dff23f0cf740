"""Interventions: change what a model sees and measure what it loses (a causal check on connectivity).

* **Cut context** (:func:`predict_cut`): at every position, the model sees only the last ``k`` words
  before the current word, then the current word's leading space and the letters typed so far: the
  text from the leading space of word ``i − k`` to the position, run from the zero state. ``k = None``
  is the whole sequence (the usual evaluation). The accuracy by characters typed under each ``k`` is
  the model's *effective context length*: how many words back it still gains from.
* **Repeated words** (:func:`swap_earlier_occurrences`, :func:`repeat_predictions`): where a word occurs
  a second time in a sequence, its first occurrence is replaced by another word of the same length and
  training-frequency band, not found elsewhere in the sequence. What the model loses on the second
  occurrence is what it recalled from the first.

Both keep every other character in place (same length, same positions), so the ordinary metrics of
:mod:`memviz.evaluation.metrics` and :mod:`memviz.evaluation.intervals` count the results.
"""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

from memviz import data
from memviz.data import UNKNOWN_ID, frequency_rank, word_tokens
from memviz.models.model import AutocompleteModel
from memviz.models.protocol import CharacterModel, logits_of

#: Words of context kept before the current word (None: all), the issue's choice of cuts.
CONTEXT_WORDS = (0, 1, 2, 4, 8, None)


# ----------------------------------------------------------------------------------------------
# Cut context
# ----------------------------------------------------------------------------------------------


@functools.partial(jax.jit, static_argnames=("graphdef", "k"))
def _predict_at(graphdef, state, source, positions, targets, *, k: int):
    """``source (B, W)``, ``positions, targets (B, P)`` → top-k ids ``(B, P, k)`` and log p(target) ``(B, P)`` there."""
    model = nnx.merge(graphdef, state)
    if isinstance(model, AutocompleteModel):  # the output layer only where it is read
        hidden = model.recur(model.embed(source))  # (B, W, hidden)
        logits = model.logits(jnp.take_along_axis(hidden, positions[..., None], axis=1))  # (B, P, words)
    else:  # any character model (memviz.models.protocol)
        logits = jnp.take_along_axis(logits_of(model, source), positions[..., None], axis=1)
    log_probs = jax.nn.log_softmax(logits, axis=-1)
    true = jnp.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
    return jax.lax.top_k(log_probs, k)[1].astype(jnp.int32), true


def _run_pieces(model, source, positions, targets, k: int, batch_size: int):
    """Batches of equal shape (one compilation): ``(m, W)`` inputs → ``(m, P, k)`` ids, ``(m, P)`` log-probabilities."""
    graphdef, state = nnx.split(model)
    m = len(source)
    ids = np.zeros((m, positions.shape[1], k), np.int32)
    true = np.zeros(positions.shape, np.float32)
    for start in range(0, m, batch_size):
        stop = min(start + batch_size, m)

        pad = [(0, batch_size - (stop - start)), (0, 0)]  # every batch the same shape: one compilation
        batch = (jnp.asarray(np.pad(a[start:stop], pad), jnp.int32) for a in (source, positions, targets))
        out_ids, out_true = _predict_at(graphdef, state, *batch, k=k)
        ids[start:stop], true[start:stop] = np.asarray(out_ids)[: stop - start], np.asarray(out_true)[: stop - start]
    return ids, true


def cut_inputs(split: data.Split, context_words: int) -> tuple[np.ndarray, list[tuple[int, int, int, int]]]:
    """The cut texts of :func:`predict_cut`: ``(inputs (m, W) uint8, tokens)``, one row per word token.

    Row j holds the text from the leading space of the ``context_words``-th word before token j (or
    the row's start) to the end of token j, zero-padded; ``tokens[j] = (row, start, stop, offset)``:
    the token's place in ``split`` and where its leading space sits in the cut text.
    """
    tokens, pieces = [], []
    starts_of_row: dict[int, list[int]] = {}
    for row, start, stop, _ in word_tokens(split):
        starts = starts_of_row.setdefault(row, [])
        starts.append(start)
        first = starts[max(0, len(starts) - 1 - context_words)]
        pieces.append(split.source[row, first:stop])
        tokens.append((row, start, stop, start - first))
    width = -(-max(map(len, pieces)) // 32) * 32  # a multiple of 32: fewer distinct shapes to compile
    inputs = np.zeros((len(pieces), width), np.uint8)
    for j, piece in enumerate(pieces):
        inputs[j, : len(piece)] = piece
    return inputs, tokens


def predict_cut(
    model: CharacterModel, split: data.Split, context_words: int | None, k: int = 3, *, batch_size: int = 128
) -> tuple[np.ndarray, np.ndarray]:
    """Top-k ids ``(n, T, k) int32`` and the true word's log-probability ``(n, T) float32`` at every
    position of ``split`` when the model sees only the last ``context_words`` words before the current
    word (None: the whole sequence). Padded positions get id 0 and log-probability 0."""
    if context_words is not None and context_words < 0:
        raise ValueError(f"context_words must be None (all) or at least 0, not {context_words}")
    out_ids = np.zeros((*np.shape(split.source), k), np.int32)
    out_true = np.zeros(np.shape(split.source), np.float32)
    if context_words is None:  # one pass over each whole row: every position reads its own step
        width = split.source.shape[1]
        positions = np.broadcast_to(np.arange(width), split.source.shape)
        ids, true = _run_pieces(model, np.asarray(split.source), positions, np.asarray(split.target), k, batch_size)
        real = np.arange(width)[None, :] < np.asarray(split.lengths)[:, None]
        out_ids[real], out_true[real] = ids[real], true[real]
        return out_ids, out_true
    inputs, tokens = cut_inputs(split, context_words)
    longest = max(stop - start for _, start, stop, _ in tokens)
    positions = np.zeros((len(tokens), longest), np.int64)
    targets = np.zeros((len(tokens), longest), np.int64)
    for j, (row, start, stop, offset) in enumerate(tokens):
        n = stop - start
        positions[j] = np.minimum(offset + np.arange(longest), inputs.shape[1] - 1)
        targets[j, :n] = split.target[row, start:stop]
    ids, true = _run_pieces(model, inputs, positions, targets, k, batch_size)
    for j, (row, start, stop, _) in enumerate(tokens):
        out_ids[row, start:stop], out_true[row, start:stop] = ids[j, : stop - start], true[j, : stop - start]
    return out_ids, out_true


# ----------------------------------------------------------------------------------------------
# Repeated words
# ----------------------------------------------------------------------------------------------


#: Bands of training-frequency rank (0: the most frequent word) within which a substitute is drawn.
FREQUENCY_BANDS = (0, 100, 500, 2_000)


@dataclasses.dataclass(frozen=True)
class Swaps:
    """Copies of sequences whose earlier occurrence of a repeated word was replaced.

    ``rows (m,)``: the sequence of the original split each copy comes from (several copies can come
    from one sequence, one per repeated word); ``original`` and ``swapped``: ``m``-row splits, equal
    except at the earlier occurrence; ``repeat (m, T) bool``: the positions of the second occurrence
    (its leading space and letters), where the loss is measured; ``words``, ``substitutes``: word ids;
    ``sequences``: the number of sequences of the split the copies come from (for a bootstrap over them).
    """

    rows: np.ndarray
    original: data.Split
    swapped: data.Split
    repeat: np.ndarray
    words: np.ndarray
    substitutes: np.ndarray
    sequences: int = 0

    def __len__(self) -> int:
        return len(self.rows)


def frequency_bands(train_counts: np.ndarray, bands: tuple[int, ...] = FREQUENCY_BANDS) -> np.ndarray:
    """``(words,) int``: the band of each word id by its training-frequency rank (``bands`` are the ranks where bands start)."""
    return np.searchsorted(np.asarray(bands), frequency_rank(train_counts), side="right") - 1


def swap_earlier_occurrences(
    split: data.Split,
    vocab: data.Vocabulary,
    train_counts: np.ndarray,
    *,
    skip_most_frequent: int = 100,
    bands: tuple[int, ...] = FREQUENCY_BANDS,
    seed: int = 0,
) -> Swaps:
    """One copy per (sequence, word occurring at least twice in it): its first occurrence replaced.

    The substitute has the same number of letters and the same frequency band (``train_counts``, one
    per word token, e.g. :func:`memviz.data.word_counts`), and occurs nowhere in the sequence;
    it is drawn at random (``seed``). Words among the ``skip_most_frequent`` most frequent of training
    and ``<unknown>`` are left out (they repeat everywhere and are predicted without memory); a word
    with no possible substitute is skipped.
    """
    band = frequency_bands(train_counts, bands)
    frequent = set(np.flatnonzero(frequency_rank(train_counts) < skip_most_frequent).tolist())
    lengths = np.array([len(w) for w in vocab.words])
    rng = np.random.default_rng(seed)
    by_row: dict[int, list[tuple[int, int, int]]] = {}
    for row, start, stop, word in word_tokens(split):
        by_row.setdefault(row, []).append((start, stop, word))
    rows: list[int] = []
    words: list[int] = []
    substitutes: list[int] = []
    sources: list[np.ndarray] = []
    targets: list[np.ndarray] = []
    repeats: list[np.ndarray] = []
    for row, tokens in by_row.items():
        for (first_start, first_stop), (start, stop), word, substitute in _row_swaps(
            tokens, frequent, lengths, band, rng
        ):
            source, target = split.source[row].copy(), split.target[row].copy()
            source[first_start + 1 : first_stop] = data.encode_chars(vocab.words[substitute])
            target[first_start:first_stop] = substitute
            repeat = np.zeros(split.source.shape[1], bool)
            repeat[start:stop] = True
            rows.append(row)
            sources.append(source)
            targets.append(target)
            repeats.append(repeat)
            words.append(word)
            substitutes.append(substitute)
    row_ids = np.array(rows, np.int64)
    original = split[row_ids]
    empty = np.zeros((0, split.source.shape[1]))
    swapped = data.Split(
        np.array(sources or empty, np.uint8), np.array(targets or empty, np.int32), original.lengths.copy()
    )
    return Swaps(
        row_ids,
        original,
        swapped,
        np.array(repeats or empty, bool),
        np.array(words, np.int64),
        np.array(substitutes, np.int64),
        sequences=len(split),
    )


def _row_swaps(tokens, frequent: set[int], lengths: np.ndarray, band: np.ndarray, rng: np.random.Generator):
    """One row's swaps, in text order: ``((first start, first stop), (repeat start, repeat stop), word, substitute)``
    for each word's first repeat (see :func:`swap_earlier_occurrences`); ``tokens``: the row's ``(start, stop, word)``."""
    present = {w for _, _, w in tokens}
    firsts: dict[int, tuple[int, int] | None] = {}
    for start, stop, word in tokens:
        if word <= UNKNOWN_ID or word in frequent:
            continue
        if word not in firsts:
            firsts[word] = (start, stop)
            continue
        first = firsts[word]
        if first is None:  # its repeat is already taken, or it has no substitute
            continue
        firsts[word] = None
        same = np.flatnonzero((lengths == lengths[word]) & (band == band[word])).tolist()
        candidates = [c for c in same if c > UNKNOWN_ID and c not in present]
        if candidates:
            yield first, (start, stop), word, int(rng.choice(candidates))


def repeat_predictions(model: CharacterModel, swaps: Swaps, k: int = 3, *, batch_size: int = 128):
    """Top-k ids ``(m, T, k)`` and true-word log-probabilities ``(m, T)``, on the original and on the swapped copies.

    Returns ``(original_ids, swapped_ids, original_log_p, swapped_log_p)``; compare them where ``swaps.repeat``.
    """
    ids_a, lp_a = predict_cut(model, swaps.original, None, k, batch_size=batch_size)
    ids_b, lp_b = predict_cut(model, swaps.swapped, None, k, batch_size=batch_size)
    return ids_a, ids_b, lp_a, lp_b


def per_sequence(values: np.ndarray, rows: np.ndarray, n: int) -> np.ndarray:
    """Sum the first axis of ``values (m, ...)`` into ``(n, ...)`` by ``rows``: copies back to the sequence they came from."""
    out = np.zeros((n, *np.shape(values)[1:]), np.float64)
    np.add.at(out, rows, values)
    return out
