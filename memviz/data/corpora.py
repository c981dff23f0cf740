"""The corpora memviz trains on, all in text8's form: the shipped one, the downloaded one, the reader's own.

* ``"austen"``: Jane Austen's six novels, shipped in ``data/`` (built by scripts/build_austen_corpus.py);
* ``"text8"``: the article's corpus, downloaded on first use (:mod:`memviz.data.text8`);
* any text of the reader's, through :func:`normalize_text` (:func:`memviz.data.from_text`).

text8 was cleaned by ``wikifil.pl``. After stripping the wiki markup, that script does, per line::

    $_=" $_ "; tr/A-Z/a-z/; s/0/ zero /g; ... s/9/ nine /g; tr/a-z/ /cs; chop;

i.e. lowercase, spell every digit as a word, turn every other character into a space, squeeze
runs of spaces. :func:`normalize_text` applies the same rules to any text, so every corpus in
memviz looks like text8: a leading space, then words of ``a``–``z`` separated by single spaces,
no trailing space. It also maps accented letters to their base letter (text8 would have
turned them into spaces) and reports what it dropped.

:func:`corpus_file` finds (or downloads) a corpus by name; its :meth:`CorpusFile.read` gives the
normalised text.
"""

from __future__ import annotations

import collections
import gzip
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from memviz.core.paths import data_file
from memviz.data import text8

CORPORA = ("austen", "text8")  # names accepted by corpus_file, load_corpus and memviz.data.load_dataset
AUSTEN_FILE = "austen.txt.gz"  # in DATA_DIR, built by scripts/build_austen_corpus.py

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
ALPHABET = "abcdefghijklmnopqrstuvwxyz"
# Letters that NFKD leaves whole; spelled as English transliterations usually spell them.
_TRANSLITERATIONS = {"æ": "ae", "œ": "oe", "ß": "ss", "ø": "o", "đ": "d", "ð": "d", "þ": "th", "ł": "l", "ı": "i"}

# bytes.translate table: A-Z -> a-z; a-z and 0-9 kept; every other byte -> space.
_KEEP = ALPHABET.encode() + b"0123456789"
_ASCII_TABLE = bytes(b if b in _KEEP else b + 32 if 65 <= b <= 90 else 32 for b in range(256))
_ASCII_DROPPED = [b for b in range(128) if _ASCII_TABLE[b] == 32 and not chr(b).isspace()]


@dataclass(frozen=True)
class NormalizedText:
    """The result of :func:`normalize_text`.

    ``text`` is ``""`` (no word at all) or ``" " + " ".join(words)`` with every word in ``[a-z]+``:
    it starts with a space like text8 does, and has no trailing space, so it is exactly the
    concatenation of the article's per-word pieces ``" " + word``.
    """

    text: str
    n_input_chars: int
    #: characters removed (turned into word separators): punctuation, symbols, letters that have
    #: no a-z spelling. Whitespace is not counted: it stays a separator.
    dropped: collections.Counter = field(default_factory=collections.Counter)
    #: non-ASCII characters kept as ASCII letters/digits, e.g. ``"é"`` (as ``"e"``), ``"Æ"`` (as ``"ae"``).
    transliterated: collections.Counter = field(default_factory=collections.Counter)

    @property
    def n_words(self) -> int:
        """Number of words in ``text`` (one leading space each)."""
        return self.text.count(" ")

    def summary(self, top: int = 8) -> str:
        """One line: what was kept, dropped and transliterated, most frequent first."""

        def listing(counter: collections.Counter) -> str:
            shown = ", ".join(f"{c!r}×{n:,}" for c, n in counter.most_common(top))
            return shown + (", …" if len(counter) > top else "")

        line = f"{self.n_input_chars:,} input characters -> {len(self.text):,} ({self.n_words:,} words)"
        if self.dropped:
            line += f"; dropped {sum(self.dropped.values()):,}: {listing(self.dropped)}"
        if self.transliterated:
            line += f"; transliterated {sum(self.transliterated.values()):,}: {listing(self.transliterated)}"
        return line


def _spell_non_ascii(char: str) -> str | None:
    """``"é"`` -> ``"e"``, ``"Æ"`` -> ``"ae"``, ``"²"`` -> ``"2"``; None when there is no a-z/0-9 spelling."""
    decomposed = unicodedata.normalize("NFKD", char)
    spelled = "".join(c for c in decomposed if not unicodedata.combining(c)).lower()
    spelled = "".join(_TRANSLITERATIONS.get(c, c) for c in spelled)
    return spelled if spelled and all(c in ALPHABET or c.isdigit() and c.isascii() for c in spelled) else None


def normalize_text(text: str) -> NormalizedText:
    """Normalise ``text`` by text8's rules (see the module docstring), reporting what was dropped.

    Non-ASCII characters are first decomposed (NFKD) and stripped of accents, so ``"Café"``
    becomes ``" cafe"``; those with no such spelling (``"£"``, ``"Ω"``, ``"北"``) become spaces
    and are counted in ``dropped``. Digits are spelled one by one: ``"1811"`` -> ``" one eight one one"``.
    A few C-level or numpy passes over the text: seconds for 100 M characters, not minutes.
    """
    if not isinstance(text, str):
        raise TypeError(
            f"the text must be a str, not {type(text).__name__}"
            + (": decode it first, e.g. text.decode('utf-8')" if isinstance(text, bytes | bytearray) else "")
        )
    dropped: collections.Counter[str] = collections.Counter()
    transliterated: collections.Counter[str] = collections.Counter()
    raw = _to_ascii(text, dropped, transliterated) if not text.isascii() else text.encode("ascii")
    counts = np.bincount(np.frombuffer(raw, np.uint8), minlength=128)
    dropped.update({chr(b): int(counts[b]) for b in _ASCII_DROPPED if counts[b]})
    raw = raw.translate(_ASCII_TABLE)
    for digit, word in enumerate(DIGIT_WORDS):
        if counts[48 + digit]:
            raw = raw.replace(str(digit).encode(), f" {word} ".encode())
    words = raw.split()
    normalized = (b" " + b" ".join(words)).decode("ascii") if words else ""
    return NormalizedText(normalized, len(text), dropped, transliterated)


def _to_ascii(text: str, dropped: collections.Counter, transliterated: collections.Counter) -> bytes:
    """``text`` as ASCII bytes, each non-ASCII character spelled by :func:`_spell_non_ascii` or made a space."""
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), np.uint32)
    points, counts = np.unique(codes[codes > 127], return_counts=True)
    single: dict[int, str] = {}
    multiple: dict[int, str] = {}  # one-letter spellings (é -> e) go through numpy, longer ones (æ -> ae) str.replace
    for point, count in zip(points.tolist(), counts.tolist()):
        char = chr(point)
        spelled = _spell_non_ascii(char)
        if spelled is not None:
            transliterated[char] = count
        elif not char.isspace():
            dropped[char] = count
        spelled = spelled or " "
        (single if len(spelled) == 1 else multiple)[point] = spelled
    for point, spelled in multiple.items():
        text = text.replace(chr(point), spelled)
    if multiple:
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), np.uint32)
    codes = codes.copy()
    keys = np.array(sorted(single), np.uint32)
    values = np.array([ord(single[k]) for k in sorted(single)], np.uint32)
    non_ascii = codes > 127
    codes[non_ascii] = values[np.searchsorted(keys, codes[non_ascii])]
    return codes.astype(np.uint8).tobytes()


def is_normalized(text: str) -> bool:
    """True when ``text`` is in normalised form (``""`` or ``" word word ..."``); C-level checks, ~0.2 s per 100 MB."""
    if text == "":
        return True
    if not text.isascii() or text[0] != " " or text[-1] == " " or "  " in text:
        return False
    return not text.encode("ascii").translate(None, b" " + ALPHABET.encode())  # nothing left but a-z and space


# -- the corpora by name -----------------------------------------------------------------------------


def check_corpus(name: str) -> None:
    """Raise ValueError unless ``name`` is one of ``CORPORA``."""
    if name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r}; choose one of {CORPORA}, or use from_text() for your own text")


@dataclass(frozen=True)
class CorpusFile:
    """A corpus and the file it is read from (its content fingerprints a dataset cache)."""

    name: str
    path: Path

    def read(self) -> str:
        """The normalised text (see :func:`normalize_text`)."""
        if self.name == "text8":
            text = text8.read_text8_file(self.path)
        else:
            with gzip.open(self.path, "rt", encoding="ascii") as f:
                text = f.read()
        # text8 is normalised already (it starts with a space); anything else is normalised here.
        return text if is_normalized(text) else normalize_text(text).text


def corpus_file(name: str) -> CorpusFile:
    """Corpus ``name``'s file: ``DATA_DIR/austen.txt.gz``, or text8's (:func:`memviz.data.text8.text8_file`:
    downloaded on first use)."""
    check_corpus(name)
    return CorpusFile(name, data_file(AUSTEN_FILE) if name == "austen" else text8.text8_file())


def load_corpus(name: str) -> str:
    """The normalised text of a corpus: ``"austen"`` (shipped, 3.9 M characters) or ``"text8"``
    (10^8 characters, downloaded into ``cache_dir()`` on first use)."""
    return corpus_file(name).read()
