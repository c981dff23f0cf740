"""The text8 file: download it once, verify it, read it.

text8 (Mahoney, 2006) is the first 10^8 characters of an English Wikipedia dump, cleaned by
``wikifil.pl`` (the rules :func:`memviz.data.corpora.normalize_text` applies to any text). The article
trained on it. :func:`download_text8` fetches ``text8.zip`` once into :func:`memviz.core.paths.cache_dir`,
safely: the file only gets its final name after its size, its zip CRC, its member's size and its
member's SHA-256 are verified. :func:`text8_file` is where :mod:`memviz.data.corpora` reads it from.
"""

from __future__ import annotations

import hashlib
import http.client
import os
import urllib.request
import zipfile
import zlib
from pathlib import Path

from memviz.core.files import atomic_file, remove_stale_parts
from memviz.core.paths import cache_dir

TEXT8_URL = "http://mattmahoney.net/dc/text8.zip"
TEXT8_URL_ENV = "MEMVIZ_TEXT8_URL"
TEXT8_ZIP_SIZE = 31_344_016  # bytes of text8.zip as served by mattmahoney.net
TEXT8_SIZE = 100_000_000  # bytes of its single member, ``text8``
TEXT8_MEMBER = "text8"
#: SHA-256 of that member: the only check that tells text8 from another text of the same size.
TEXT8_SHA256 = "6e890197040d37d85beb962ae1f041ff1d9a9ca8d20c7d99c85027eebf51dca7"


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
    path: Path,
    *,
    zip_size: int | None = TEXT8_ZIP_SIZE,
    member_size: int = TEXT8_SIZE,
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
    temporary file beside ``dest`` (a ``tqdm`` progress bar: in a terminal, or in Jupyter as text that stays in the saved notebook) which is renamed
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
    from memviz.core.progress import progress_bar

    with urllib.request.urlopen(url, timeout=timeout) as response, open(path, "wb") as out:
        announced = response.headers.get("Content-Length")
        announced = None if announced is None else int(announced)
        if None not in (announced, zip_size) and announced != zip_size:
            raise DownloadError(f"the server announces {announced:,} bytes, text8.zip has {zip_size:,}")
        received = 0
        with progress_bar(
            total=announced or zip_size, unit="B", unit_scale=True, desc="text8.zip", disable=not progress
        ) as bar:
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


def text8_file() -> Path:
    """The file text8 is read from: an unzipped ``cache_dir()/text8`` if you put one there, else
    ``cache_dir()/text8.zip``, downloaded on first use."""
    unzipped = cache_dir() / TEXT8_MEMBER
    if unzipped.is_file() and unzipped.stat().st_size == TEXT8_SIZE:
        return unzipped
    return download_text8(zip_size=TEXT8_ZIP_SIZE, member_size=TEXT8_SIZE, member_sha256=TEXT8_SHA256)


def read_text8_file(path: Path) -> str:
    """The text of :func:`text8_file`'s file (zip or unzipped), verified by its size and SHA-256."""
    if path.suffix == ".zip":
        return read_text8(path, member_size=TEXT8_SIZE, member_sha256=TEXT8_SHA256)
    raw = path.read_bytes()
    _check_sha256(hashlib.sha256(raw).hexdigest(), path, TEXT8_SHA256)
    return raw.decode("ascii")
