"""Corpora in text8's form: the normalisation rules, the text8 download, and :func:`load_corpus`.

text8 (Mahoney, 2006) is the first 10^8 characters of an English Wikipedia dump, cleaned by
``wikifil.pl``. After stripping the wiki markup, that script does, per line::

    $_=" $_ "; tr/A-Z/a-z/; s/0/ zero /g; ... s/9/ nine /g; tr/a-z/ /cs; chop;

i.e. lowercase, spell every digit as a word, turn every other character into a space, squeeze
runs of spaces. :func:`normalize_text` applies the same rules to any text, so every corpus in
memviz looks like text8: a leading space, then words of ``a``–``z`` separated by single spaces,
no trailing space. It also maps accented letters to their base letter (text8 would have
turned them into spaces) and reports what it dropped.

:func:`download_text8` fetches ``text8.zip`` once into :func:`memviz.paths.cache_dir`, safely: the
file only gets its final name after its size, its zip CRCs and its member size are verified.
:func:`load_corpus` returns the normalised text of ``"austen"`` (shipped in ``data/``) or ``"text8"``.
"""

from __future__ import annotations

import collections
import gzip
import hashlib
import http.client
import os
import unicodedata
import urllib.request
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from memviz.files import atomic_file, remove_stale_parts
from memviz.paths import DATA_DIR, cache_dir

CORPORA = ("austen", "text8")  # names accepted by load_corpus and memviz.data.load_dataset
AUSTEN_FILE = "austen.txt.gz"  # in DATA_DIR, built by scripts/build_austen_corpus.py

TEXT8_URL = "http://mattmahoney.net/dc/text8.zip"
TEXT8_URL_ENV = "MEMVIZ_TEXT8_URL"
TEXT8_ZIP_SIZE = 31_344_016  # bytes of text8.zip as served by mattmahoney.net
TEXT8_SIZE = 100_000_000  # bytes of its single member, ``text8``
TEXT8_MEMBER = "text8"
#: SHA-256 of that member: the only check that tells text8 from another text of the same size.
TEXT8_SHA256 = "6e890197040d37d85beb962ae1f041ff1d9a9ca8d20c7d99c85027eebf51dca7"

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
    dropped, transliterated = collections.Counter(), collections.Counter()
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
    single, multiple = {}, {}  # one-letter spellings (é -> e) go through numpy, longer ones (æ -> ae) str.replace
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


# -- the text8 file ---------------------------------------------------------------------------------


class DownloadError(OSError):
    """text8 could not be downloaded or failed verification; the message says how to fix it."""


def _check_sha256(digest: str, path: Path, member_sha256: str | None) -> None:
    if member_sha256 is not None and digest != member_sha256:
        raise DownloadError(
            f"{path}: member {TEXT8_MEMBER!r} has SHA-256 {digest}, text8's is {member_sha256}: another text"
        )


def _check_member_size(archive: zipfile.ZipFile, path: Path, member_size: int) -> None:
    """The archive's ``text8`` member must exist (KeyError otherwise) and hold ``member_size`` bytes."""
    size = archive.getinfo(TEXT8_MEMBER).file_size
    if size != member_size:
        raise DownloadError(f"{path}: member {TEXT8_MEMBER!r} has {size:,} bytes, expected {member_size:,}")


def text8_path() -> Path:
    """Where ``text8.zip`` lives (or has to be put by hand): ``cache_dir()/text8.zip``."""
    return cache_dir() / "text8.zip"


def _manual_hint(url: str, dest: Path) -> str:
    return (
        f"Download text8.zip ({TEXT8_ZIP_SIZE:,} bytes) by hand from {TEXT8_URL} and put it at\n"
        f"    {dest.resolve()}\n"
        f"(or its unzipped member at {(dest.parent / TEXT8_MEMBER).resolve()})\n"
        f"or point ${TEXT8_URL_ENV} at a mirror (it was {url})."
    )


def verify_text8_zip(
    path: Path, *, zip_size: int | None = TEXT8_ZIP_SIZE, member_size: int = TEXT8_SIZE,
    member_sha256: str | None = TEXT8_SHA256,
) -> None:
    """Raise :class:`DownloadError` unless ``path`` is a sound text8 zip.

    Checks the file size (when ``zip_size`` is given), that member ``text8`` exists with
    ``member_size`` bytes, its CRC (checked by ``zipfile`` as it decompresses) and its SHA-256
    (when ``member_sha256`` is given: a valid zip of another text of the same size is refused).
    """
    size = path.stat().st_size
    if zip_size is not None and size != zip_size:
        raise DownloadError(f"{path} has {size:,} bytes, expected {zip_size:,}")
    digest = hashlib.sha256()
    try:
        with zipfile.ZipFile(path) as archive:
            _check_member_size(archive, path, member_size)
            with archive.open(TEXT8_MEMBER) as member:
                while block := member.read(1 << 22):
                    digest.update(block)
    except (zipfile.BadZipFile, KeyError, EOFError, zlib.error) as error:
        raise DownloadError(f"{path} is not a valid text8 zip: {error}") from error
    _check_sha256(digest.hexdigest(), path, member_sha256)


def download_text8(
    url: str | None = None,
    dest: Path | None = None,
    *,
    zip_size: int | None = TEXT8_ZIP_SIZE,
    member_size: int = TEXT8_SIZE,
    member_sha256: str | None = TEXT8_SHA256,
    progress: bool = True,
    timeout: float = 60.0,
) -> Path:
    """Download ``text8.zip`` to ``dest`` (default :func:`text8_path`) unless it is already there.

    ``url`` defaults to ``$MEMVIZ_TEXT8_URL``, else :data:`TEXT8_URL`. The bytes stream into a
    temporary file beside ``dest`` (``tqdm`` progress bar, terminal or Jupyter) which is renamed
    to ``dest`` only after :func:`verify_text8_zip` passes and the byte count matches the
    ``Content-Length``. On any failure the temporary file is deleted and :class:`DownloadError`
    says where to put the file by hand; the temporary file of a download that was killed outright
    is deleted by the next call. ``zip_size``/``member_size``/``member_sha256`` exist so tests can
    serve a tiny zip; ``zip_size=None`` skips the size check.
    """
    url = url or os.environ.get(TEXT8_URL_ENV) or TEXT8_URL
    dest = Path(dest) if dest is not None else text8_path()
    remove_stale_parts(dest)
    if dest.exists():
        return dest
    try:
        with atomic_file(dest) as tmp:
            _fetch(url, tmp, zip_size=zip_size, progress=progress, timeout=timeout)
            verify_text8_zip(tmp, zip_size=zip_size, member_size=member_size, member_sha256=member_sha256)
    except (OSError, ValueError, http.client.HTTPException) as error:
        # URLError (offline, refused, 404) is an OSError; IncompleteRead (the server closed early)
        # an HTTPException; ValueError a malformed URL.
        raise DownloadError(f"Could not get text8 from {url}: {error}\n{_manual_hint(url, dest)}") from error
    return dest


def _fetch(url: str, path: Path, *, zip_size: int | None, progress: bool, timeout: float) -> None:
    """Stream ``url`` into ``path``, checking the byte count against ``Content-Length`` and ``zip_size``."""
    from tqdm.auto import tqdm

    with urllib.request.urlopen(url, timeout=timeout) as response, open(path, "wb") as out:
        announced = response.headers.get("Content-Length")
        announced = None if announced is None else int(announced)
        if None not in (announced, zip_size) and announced != zip_size:
            raise DownloadError(f"the server announces {announced:,} bytes, text8.zip has {zip_size:,}")
        received = 0
        with tqdm(total=announced or zip_size, unit="B", unit_scale=True, desc="text8.zip", disable=not progress) as bar:
            while chunk := response.read(1 << 20):
                out.write(chunk)
                received += len(chunk)
                bar.update(len(chunk))
    if announced is not None and received != announced:
        raise DownloadError(f"the transfer broke off after {received:,} of {announced:,} bytes")


def read_text8(
    path: Path | None = None, *, member_size: int = TEXT8_SIZE, member_sha256: str | None = TEXT8_SHA256
) -> str:
    """The text of ``text8`` (10^8 characters, starting with a space), from the zip at ``path``.

    A file that is there but unsound (e.g. a truncated copy put by hand) raises
    :class:`DownloadError` naming it, rather than yielding a wrong corpus; zipfile checks the
    member's CRC while reading, and its SHA-256 is compared with ``member_sha256``.
    """
    path = Path(path) if path is not None else text8_path()
    if not path.exists():
        raise DownloadError(f"{path} does not exist.\n{_manual_hint(TEXT8_URL, path)}")
    try:
        with zipfile.ZipFile(path) as archive:
            _check_member_size(archive, path, member_size)
            raw = archive.read(TEXT8_MEMBER)
    except (zipfile.BadZipFile, KeyError, EOFError, zlib.error) as error:
        raise DownloadError(f"{path} is not a valid text8 zip ({error}); delete it to download it again.") from error
    _check_sha256(hashlib.sha256(raw).hexdigest(), path, member_sha256)
    return raw.decode("ascii")


# -- the corpora -------------------------------------------------------------------------------------


def check_corpus(name: str) -> None:
    if name not in CORPORA:
        raise ValueError(f"unknown corpus {name!r}; choose one of {CORPORA}, or use from_text() for your own text")


def corpus_file(name: str) -> Path:
    """The file a corpus is read from: ``DATA_DIR/austen.txt.gz``; for text8 an unzipped
    ``cache_dir()/text8`` if you put one there, else ``cache_dir()/text8.zip``, downloaded on first use."""
    check_corpus(name)
    if name == "austen":
        return DATA_DIR / AUSTEN_FILE
    unzipped = cache_dir() / TEXT8_MEMBER
    if unzipped.is_file() and unzipped.stat().st_size == TEXT8_SIZE:
        return unzipped
    return download_text8(zip_size=TEXT8_ZIP_SIZE, member_size=TEXT8_SIZE, member_sha256=TEXT8_SHA256)


def load_corpus(name: str) -> str:
    """The normalised text of a corpus (see :func:`normalize_text`): ``"austen"`` (shipped, 3.9 M
    characters) or ``"text8"`` (10^8 characters, downloaded into ``cache_dir()`` on first use)."""
    path = corpus_file(name)
    if path.suffix == ".gz":
        with gzip.open(path, "rt", encoding="ascii") as f:
            text = f.read()
    elif path.suffix == ".zip":
        text = read_text8(path, member_size=TEXT8_SIZE, member_sha256=TEXT8_SHA256)
    else:  # text8 unzipped by hand
        raw = path.read_bytes()
        _check_sha256(hashlib.sha256(raw).hexdigest(), path, TEXT8_SHA256)
        text = raw.decode("ascii")
    # text8 is normalised already (it starts with a space); anything else is normalised here.
    return text if is_normalized(text) else normalize_text(text).text
