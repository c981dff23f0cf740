"""The autocomplete task of the article: text -> character inputs, word targets, chunks, splits.

Every corpus is normalised the text8 way (:mod:`memviz.data.corpora`): ``" word word ..."``. Each word
becomes a *piece*, its leading space and its letters, and every character of a piece has the
word as its target (the article's appendix, https://distill.pub/2019/memorization-in-rnns/:
"The space leading up to the word should also map to that target"):

    source   " context the"                      (uint8 ids over CHARS)
    target   context×8, the×4                     (int32 ids over the word Vocabulary)

Pieces are packed greedily into chunks of at most ``max_length`` characters without splitting a
word, and the chunks are split 90/5/5 by ``RandomState(seed).permutation``.
"""

from __future__ import annotations

import collections
import hashlib
import itertools
import json
import logging
import math
import re
import warnings
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from pathlib import Path
from typing import NamedTuple

import numpy as np

from memviz.core.files import atomic_file
from memviz.core.paths import cache_dir, data_file
from memviz.data.chars import UNKNOWN_ID, UNKNOWN_WORD, decode_chars, encode_chars
from memviz.data.corpora import CorpusFile, corpus_file, is_normalized, normalize_text

__all__ = [
    "SEED", "DEFAULT_VOCAB_SIZE", "MAX_LENGTH", "Vocabulary", "Tokens", "tokenize", "align", "word_spans", "targets_for_text",
    "WordSpan", "Chunks", "chunk_boundaries", "pad", "split_indices", "Split", "DatasetStats", "Dataset",
    "load_dataset", "from_text", "loss_mask", "article_maps",
]  # fmt: skip

log = logging.getLogger(__name__)

#: The article's seed: the vocabulary shuffle, the split, and (memviz.training.presets) initialisation and batch order.
SEED = 450849059
#: text8: the article's 2**14. austen (13,732 distinct words): 4,096 words cover 96.6 % of its word
#: tokens (2,048: 92.2 %, 8,192: 99.1 %) with a quarter of the article's output layer, the most
#: expensive part of a small model on a CPU (see data/README.md, "austen corpus").
DEFAULT_VOCAB_SIZE: dict[str, int] = {"text8": 16_384, "austen": 4_096}
MAX_LENGTH = 200
CACHE_FORMAT = 1  # bump when the arrays a build produces change

# -- words -------------------------------------------------------------------------------------------


class Tokens(NamedTuple):
    """The words of a normalised text, factorised: word ``i`` is ``distinct[codes[i]]``."""

    distinct: list[str]  # each distinct word once, in order of first occurrence
    codes: np.ndarray  # (n_words,) int32

    def counts(self) -> np.ndarray:
        """``(len(distinct),) int64`` occurrences of each distinct word."""
        return np.bincount(self.codes, minlength=len(self.distinct))

    def lengths(self) -> np.ndarray:
        """``(n_words,) int64`` letters of each word, in text order."""
        return np.fromiter(map(len, self.distinct), np.int64, len(self.distinct))[self.codes]


def tokenize(text: str) -> Tokens:
    """Split ``text`` at spaces and factorise the words (a C-level loop: ~5 s for text8's 17 M words)."""
    words = text.split()
    index: collections.defaultdict[str, int] = collections.defaultdict(itertools.count().__next__)  # next code
    codes = np.fromiter(map(index.__getitem__, words), np.int32, count=len(words))
    return Tokens(list(index), codes)


@dataclass(frozen=True, eq=True, repr=False)
class Vocabulary:
    """Output classes: ``words[0] == "<eos>"`` (padding), ``words[1] == "<unknown>"``, then the kept words."""

    words: tuple[str, ...]
    _index: dict[str, int] = field(init=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "words", tuple(self.words))
        if self.words[:2] != ("<eos>", UNKNOWN_WORD):
            raise ValueError(f"a vocabulary starts with '<eos>', '<unknown>', got {self.words[:2]}")
        object.__setattr__(self, "_index", {w: i for i, w in enumerate(self.words)})
        if len(self._index) != len(self.words):
            raise ValueError("vocabulary words must be distinct")

    @classmethod
    def from_counts(
        cls, words: Sequence[str], counts: Sequence[int] | np.ndarray, size: int, seed: int = SEED
    ) -> Vocabulary:
        """The ``size`` most frequent ``words``, shuffled by ``RandomState(seed)``, after ``<eos>, <unknown>``.

        The article's ``word_vocabulary``. The article sorted with an unstable argsort, so its order among
        equal counts at the cutoff is arbitrary; here ties are broken alphabetically, deterministically.
        """
        names, frequency = list(words), np.asarray(counts)
        alphabetical = np.empty(len(names), np.int64)
        alphabetical[sorted(range(len(names)), key=names.__getitem__)] = np.arange(len(names))
        order = np.lexsort((alphabetical, -frequency))[:size]  # count descending, then a–z
        kept = [names[i] for i in order]
        np.random.RandomState(seed).shuffle(kept)
        return cls(("<eos>", UNKNOWN_WORD, *kept))

    @classmethod
    def build(cls, words: str | Iterable[str] | Tokens, size: int, seed: int = SEED) -> Vocabulary:
        """From a normalised text, a sequence of words, or :class:`Tokens`; see :meth:`from_counts`."""
        tokens = words if isinstance(words, Tokens) else tokenize(words if isinstance(words, str) else " ".join(words))
        return cls.from_counts(tokens.distinct, tokens.counts(), size, seed)

    @classmethod
    def article(cls) -> Vocabulary:
        """The article's 16,386 classes in its exact order (``data/distill-2019/autocomplete.json``)."""
        return _article_vocabulary()

    def id(self, word: str) -> int:
        """The id of ``word``; ``UNKNOWN_ID`` when out of vocabulary."""
        return self._index.get(word, UNKNOWN_ID)

    def encode(self, words: Iterable[str]) -> np.ndarray:
        """``(n,) int32`` ids, out-of-vocabulary words -> ``UNKNOWN_ID``."""
        get = self._index.get
        return np.array([get(w, UNKNOWN_ID) for w in words], np.int32)

    def decode(self, ids: Iterable[int]) -> list[str]:
        """Words of ``ids`` (flattened). An id outside ``[0, len(self))`` raises ``IndexError``: a model
        whose output size differs from the vocabulary's is a mismatch to fix, not to paper over."""
        ids = np.asarray(ids).ravel()
        if ids.size and not (0 <= ids.min() and ids.max() < len(self.words)):
            raise IndexError(f"word ids {ids.min()}..{ids.max()} outside a vocabulary of {len(self.words)} words")
        return [self.words[i] for i in ids.tolist()]

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: object) -> bool:
        return word in self._index

    def __repr__(self) -> str:
        head = ", ".join(map(repr, self.words[:6]))
        return f"Vocabulary({len(self)} words: {head}{', ...' if len(self) > 6 else ''})"


@cache
def article_maps() -> dict[str, tuple[str, ...]]:
    """The article's ``autocomplete.json``: ``word_map`` (its 16,386 output classes, in order) and
    ``char_map`` (its 28 input symbols); the one reader of that file."""
    path = data_file("distill-2019", "autocomplete.json")
    return {key: tuple(values) for key, values in json.loads(path.read_text()).items()}


@cache
def _article_vocabulary() -> Vocabulary:
    return Vocabulary(article_maps()["word_map"])


# -- alignment ---------------------------------------------------------------------------------------


def _require_normalized(text: str) -> None:
    if not is_normalized(text):
        raise ValueError("text is not normalised (' word word', a-z only, single spaces); use normalize_text() first")


def align(text: str, vocab: Vocabulary, *, tokens: Tokens | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Source and target of a whole normalised text (the article's ``make_source_target_alignment``).

    Returns ``source (len(text),) uint8`` char ids and ``target (len(text),) int32`` word ids: every
    character of ``" " + word`` maps to ``vocab.id(word)`` (``UNKNOWN_ID`` when out of vocabulary).
    Pass ``tokens=tokenize(text)`` if you have it. Vectorised: one dict lookup per *distinct* word.
    """
    _require_normalized(text)
    tokens = tokens if tokens is not None else tokenize(text)
    word_ids = vocab.encode(tokens.distinct)[tokens.codes]
    return encode_chars(text), np.repeat(word_ids, tokens.lengths() + 1)


class WordSpan(NamedTuple):
    """One piece of a text, ``" " + word``: ``text[start:stop]``, and the word without its space."""

    start: int  # index of the word's leading space (of its first letter if it has none)
    stop: int  # one past its last letter
    word: str


def word_spans(text: str) -> list[WordSpan]:
    """The pieces of ``text`` (spaces and a–z): ``word_spans(" to be")`` -> ``[(0, 3, 'to'), (3, 6, 'be')]``."""
    return [WordSpan(m.start(), m.end(), m.group().lstrip()) for m in re.finditer(r" ?[a-z]+", text)]


def targets_for_text(text: str, vocab: Vocabulary) -> list[str]:
    """Per character of ``text``, the target word as a string (OOV -> ``"<unknown>"``).

    A space that no word follows yet (``"parts of "`` while typing) has no known target: ``"<unknown>"``.
    """
    targets = [UNKNOWN_WORD] * len(text)
    for start, stop, word in word_spans(text):
        targets[start:stop] = [vocab.words[vocab.id(word)]] * (stop - start)
    return targets


def loss_mask(target):
    """Where a word id ``target`` is trained on: neither ``<eos>`` (padding) nor ``<unknown>`` (the
    article's "Autocomplete problem": those targets get no loss). NumPy or JAX arrays, any shape."""
    return target > UNKNOWN_ID


# -- chunks and splits -------------------------------------------------------------------------------


class Chunks(NamedTuple):
    """Chunk boundaries, as word indices and as char offsets into the normalised text."""

    word_start: np.ndarray  # (n_chunks,) int64: first word of each chunk
    word_stop: np.ndarray  # (n_chunks,) int64: one past its last word
    char_start: np.ndarray  # (n_chunks,) int64: offset of its first word's leading space
    char_stop: np.ndarray  # (n_chunks,) int64
    skipped: np.ndarray  # (n_skipped,) int64: words longer than max_length - 1, in no chunk

    @property
    def lengths(self) -> np.ndarray:
        """``(n_chunks,) int64``: characters in each chunk."""
        return self.char_stop - self.char_start


def chunk_boundaries(word_lengths: Sequence[int] | np.ndarray, max_length: int = MAX_LENGTH) -> Chunks:
    """Greedy chunks of whole pieces (``" " + word``, ``len(word) + 1`` chars), each ≤ ``max_length``.

    The article's rule: append the next word while ``length_current + len(word) + 1 <= max_length``,
    else start a new chunk with it. A word of ``max_length`` letters or more fits in no chunk; the
    article's code would have emitted an over-long chunk; here it is skipped and listed in
    ``skipped`` (austen has none at ``max_length=200``). One vectorised ``searchsorted`` gives the
    greedy stop from every possible start; a Python step per *chunk* then follows them.
    """
    pieces = np.asarray(word_lengths, np.int64) + 1
    offsets = np.concatenate([[0], np.cumsum(pieces)])  # offsets[k]: where piece k starts
    stops = np.searchsorted(offsets, offsets + max_length, side="right") - 1  # greedy stop from each start
    starts, skipped, i, n = [], [], 0, len(pieces)
    while i < n:  # a Python step per chunk (~500 k for text8), not per word
        j = int(stops[i])
        if j == i:
            skipped.append(i)
            i += 1
        else:
            starts.append(i)
            i = j
    word_start = np.array(starts, np.int64)
    word_stop = stops[word_start]
    return Chunks(word_start, word_stop, offsets[word_start], offsets[word_stop], np.array(skipped, np.int64))


def split_indices(
    n: int, seed: int = SEED, train_ratio: float = 0.9, valid_ratio: float = 0.05
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Chunk indices of train, valid, test: ``RandomState(seed).permutation(n)`` cut at
    ``floor(train_ratio·n)`` and ``floor(valid_ratio·n)``; test gets the rest (the article's ``split_dataset``).
    For text8's 507,663 chunks: 456,896 / 25,383 / 25,384."""
    order = np.random.RandomState(seed).permutation(n)
    n_train, n_valid = math.floor(n * train_ratio), math.floor(n * valid_ratio)
    return order[:n_train], order[n_train : n_train + n_valid], order[n_train + n_valid :]


@dataclass(frozen=True, eq=False)
class Split:
    """Padded sequences of one split; padding (id 0) at the end of each row."""

    source: np.ndarray  # (n, max_length) uint8 char ids
    target: np.ndarray  # (n, max_length) int32 word ids
    lengths: np.ndarray  # (n,) int32 characters before the padding

    def __len__(self) -> int:
        return len(self.lengths)

    def __getitem__(self, index: slice | np.ndarray) -> Split:
        """A sub-split (a slice or an index array), e.g. ``dataset.test[:100]``."""
        index = [index] if isinstance(index, (int, np.integer)) else index  # keep rows 2-D
        return Split(self.source[index], self.target[index], self.lengths[index])

    def __repr__(self) -> str:
        return f"Split(n={len(self):,}, max_length={self.source.shape[1]})"

    def loss_mask(self) -> np.ndarray:
        """``(n, max_length) bool``: the positions trained on (see :func:`loss_mask`)."""
        return loss_mask(self.target)

    def text(self, i: int) -> str:
        """Row ``i`` as text (it starts with a space)."""
        return decode_chars(self.source[i, : self.lengths[i]])

    def batches(self, batch_size: int, *, seed: int | None = None, drop_remainder: bool = False) -> Iterator[Split]:
        """Mini-batches in order, or shuffled by ``RandomState(seed)`` when ``seed`` is given."""
        order = np.arange(len(self)) if seed is None else np.random.RandomState(seed).permutation(len(self))
        stop = len(self) - len(self) % batch_size if drop_remainder else len(self)
        for start in range(0, stop, batch_size):
            yield self[order[start : start + batch_size]]


def pad(chunks: Chunks, source: np.ndarray, target: np.ndarray, max_length: int = MAX_LENGTH) -> Split:
    """Cut the aligned ``source``/``target`` of a whole text into ``chunks``, one 0-padded row each, in text order."""
    lengths = chunks.lengths.astype(np.int32)
    if lengths.sum() != len(source):  # skipped words: keep only the characters inside chunks
        bounds = np.column_stack([chunks.char_start, chunks.char_stop]).ravel()
        segments = np.diff(np.concatenate([[0], bounds, [len(source)]]))  # gap, chunk, gap, ..., chunk, gap
        inside = np.repeat(np.arange(len(segments)) % 2 == 1, segments)
        source, target = source[inside], target[inside]
    filled = np.arange(max_length) < lengths[:, None]  # (n_chunks, max_length); row-major = text order
    padded_source = np.zeros(filled.shape, np.uint8)
    padded_source[filled] = source
    padded_target = np.zeros(filled.shape, np.int32)
    padded_target[filled] = target
    return Split(padded_source, padded_target, lengths)


@dataclass(frozen=True)
class DatasetStats:
    """Figures of a built dataset."""

    n_chars: int  # characters of the normalised corpus
    n_words: int  # word tokens
    n_distinct_words: int
    vocab_size: int  # output classes, <eos> and <unknown> included
    oov_rate: float  # share of word tokens whose target is <unknown>
    n_chunks: int
    mean_chunk_length: float
    skipped_words: int  # words of max_length letters or more, left out (see chunk_boundaries)
    dropped: dict[str, int] = field(default_factory=dict)  # characters normalisation removed (from_text)

    @property
    def coverage(self) -> float:
        """Share of word tokens in the vocabulary."""
        return 1.0 - self.oov_rate


@dataclass(frozen=True, eq=False)
class Dataset:
    """A corpus turned into the article's autocomplete task."""

    corpus: str
    vocab: Vocabulary
    train: Split
    valid: Split
    test: Split
    max_length: int
    seed: int
    stats: DatasetStats

    def __repr__(self) -> str:
        sizes = " / ".join(f"{len(s):,}" for s in (self.train, self.valid, self.test))
        return (
            f"Dataset({self.corpus!r}: {self.stats.n_words:,} words, vocab {len(self.vocab):,} "
            f"(OOV {self.stats.oov_rate:.1%}), chunks ≤ {self.max_length} chars, train/valid/test {sizes})"
        )


def _build(
    text: str, corpus: str, vocab_size: int, max_length: int, seed: int, vocab: Vocabulary | None, dropped=None
) -> Dataset:
    """Tokenise, build the vocabulary (unless given), align, chunk, pad and split a normalised text."""
    tokens = tokenize(text)
    counts = tokens.counts()
    vocab = vocab if vocab is not None else Vocabulary.from_counts(tokens.distinct, counts, vocab_size, seed)
    source, target = align(text, vocab, tokens=tokens)
    chunks = chunk_boundaries(tokens.lengths(), max_length)
    if not len(chunks.word_start):
        raise ValueError(f"every word is longer than max_length - 1 = {max_length - 1} letters: no chunk")
    whole = pad(chunks, source, target, max_length)
    splits = [whole[index] for index in split_indices(len(whole), seed)]
    stats = DatasetStats(
        n_chars=len(text),
        n_words=len(tokens.codes),
        n_distinct_words=len(tokens.distinct),
        vocab_size=len(vocab),
        oov_rate=float(counts[vocab.encode(tokens.distinct) == UNKNOWN_ID].sum() / counts.sum()),
        n_chunks=len(whole),
        mean_chunk_length=float(whole.lengths.mean()),
        skipped_words=len(chunks.skipped),
        dropped=dropped or {},
    )
    train, valid, test = splits
    return Dataset(corpus, vocab, train, valid, test, max_length=max_length, seed=seed, stats=stats)


# -- corpora, caching, entry points ------------------------------------------------------------------


def _fingerprint(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 22):
            digest.update(block)
    return digest.hexdigest()


def _cache_path(corpus: CorpusFile, vocab_size: int, max_length: int, seed: int, article_vocab: bool) -> Path:
    key = dict(corpus=corpus.name, fingerprint=_fingerprint(corpus.path), vocab_size=vocab_size,
               max_length=max_length, seed=seed, article_vocab=article_vocab, format=CACHE_FORMAT)  # fmt: skip
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    vocab = "article" if article_vocab else vocab_size
    return cache_dir() / "datasets" / f"{corpus.name}-v{vocab}-L{max_length}-s{seed}-{digest}.npz"


def _save(dataset: Dataset, path: Path) -> None:
    """Write ``dataset`` to ``path`` atomically: a temporary file in the same folder, then a rename."""
    arrays = {f"{name}_{part}": getattr(getattr(dataset, name), part)
              for name in ("train", "valid", "test") for part in ("source", "target", "lengths")}  # fmt: skip
    meta = dict(corpus=dataset.corpus, max_length=dataset.max_length, seed=dataset.seed, stats=asdict(dataset.stats))
    with atomic_file(path) as tmp, open(tmp, "wb") as f:
        np.savez(f, words=np.array("\n".join(dataset.vocab.words)), meta=np.array(json.dumps(meta)), **arrays)


def _load(path: Path) -> Dataset:
    with np.load(path, allow_pickle=False) as f:
        meta = json.loads(f["meta"].item())
        parts = ("source", "target", "lengths")
        splits = [Split(*(f[f"{name}_{part}"] for part in parts)) for name in ("train", "valid", "test")]
        vocab = Vocabulary(tuple(f["words"].item().split("\n")))
    stats = DatasetStats(**meta.pop("stats"))
    train, valid, test = splits
    return Dataset(
        meta["corpus"], vocab, train, valid, test, max_length=meta["max_length"], seed=meta["seed"], stats=stats
    )


def load_dataset(
    corpus: str = "austen",
    vocab_size: int | None = None,
    max_length: int = MAX_LENGTH,
    seed: int = SEED,
    *,
    article_vocab: bool = False,
    cache: bool = True,
) -> Dataset:
    """A corpus as the article's autocomplete task, cached in ``cache_dir()/datasets`` as ``.npz``.

    ``vocab_size`` defaults to :data:`DEFAULT_VOCAB_SIZE` of the corpus. ``article_vocab=True``
    uses the article's exact 16,386 classes (:meth:`Vocabulary.article`) instead of building one.
    The cache key holds every argument and the SHA-256 of the corpus file, so a changed corpus is
    never served stale. text8's first build takes about 20 s (see benchmarks/results/preprocess.md).
    """
    if article_vocab and vocab_size not in (None, 16_384):
        raise ValueError(f"article_vocab=True fixes the vocabulary at 16,384 words, got vocab_size={vocab_size}")
    source = corpus_file(corpus)  # checks the name; downloads text8 on first use
    vocab_size = DEFAULT_VOCAB_SIZE[corpus] if vocab_size is None else vocab_size
    vocab_size = 16_384 if article_vocab else vocab_size
    path = _cache_path(source, vocab_size, max_length, seed, article_vocab) if cache else None
    if path is not None and path.exists():
        try:
            return _load(path)
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as error:
            warnings.warn(f"unreadable cache {path} ({error!r}); rebuilding it", stacklevel=2)
    log.info("building the %s dataset (vocabulary %s, max_length %d)", corpus, vocab_size, max_length)
    vocab = Vocabulary.article() if article_vocab else None
    dataset = _build(source.read(), corpus, vocab_size, max_length, seed, vocab)
    if path is not None:
        try:
            _save(dataset, path)
        except OSError as error:  # a read-only or full disk costs a rebuild next time, nothing more
            warnings.warn(f"could not write the cache {path}: {error}", stacklevel=2)
    return dataset


def from_text(
    text: str,
    vocab_size: int | None = None,
    max_length: int = MAX_LENGTH,
    seed: int = SEED,
    vocab: Vocabulary | None = None,
    *,
    name: str = "text",
) -> Dataset:
    """Any text as the autocomplete task: normalised by :func:`normalize_text`, then as :func:`load_dataset`.

    ``vocab_size`` defaults to ``DEFAULT_VOCAB_SIZE["austen"]`` (all words if the text has fewer);
    pass ``vocab`` (e.g. a trained model's) to use it instead. What normalisation dropped is in
    ``stats.dropped``; letters that could not be spelled in a–z (Greek, CJK, ...) also raise a
    ``UserWarning``. A text without any a–z letter raises ``ValueError``.
    """
    normalized = normalize_text(text)
    if not normalized.text:
        raise ValueError(
            f"no letters to analyse: no word is left after normalisation ({normalized.summary()}); "
            "the task needs a-z letters"
        )
    if any(c.isalpha() for c in normalized.dropped):
        warnings.warn(f"letters without an a-z spelling were dropped: {normalized.summary()}", stacklevel=2)
    vocab_size = DEFAULT_VOCAB_SIZE["austen"] if vocab_size is None else vocab_size
    return _build(normalized.text, name, vocab_size, max_length, seed, vocab, dict(normalized.dropped.most_common()))
