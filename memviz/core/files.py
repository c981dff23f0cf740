"""Writing files safely: whole or not at all, with the user's permissions.

Every file memviz writes (run configs and histories, metrics, dataset caches, the text8 download)
goes through :func:`atomic_file`: the bytes go to a temporary ``.part`` file beside the target,
which takes the target's name only when complete (``os.replace`` is atomic on one filesystem). A
failure deletes the temporary file; a process killed outright leaves it behind, and the next write
to the same target removes it (:func:`remove_stale_parts`).

A write that fails for a reason of the file system (a folder on the way is a file, no permission, no
space) raises :class:`WriteError`, which names the file the user asked for and what is wrong, never the
temporary file.
"""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

#: Errors of the file system under a write, whatever file they name: they are about the target.
_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EFBIG}


class WriteError(OSError):
    """A file could not be written: the message names the file asked for and what is wrong (never a temporary
    file). ``errno`` is the underlying error's, ``filename`` the file asked for."""

    def __str__(self) -> str:
        return str(self.args[0])


def _blocking_file(dest: Path) -> Path | None:
    """The first of the folders above ``dest`` that exists as something other than a folder (a file), if any."""
    for parent in reversed(dest.parents):
        if not parent.exists():
            return None
        if not parent.is_dir():
            return parent
    return None


def _reason(dest: Path, err: OSError) -> str:
    """What is wrong with writing ``dest``, in the user's terms (``err``: the error the write raised)."""
    if (blocking := _blocking_file(dest)) is not None:
        return f"'{blocking}' is a file, not a folder"
    if dest.is_dir():
        return f"'{dest}' is a folder"
    reasons = {
        errno.EACCES: f"no permission to write in the folder '{dest.parent}'",
        errno.EPERM: f"no permission to write in the folder '{dest.parent}'",
        errno.EROFS: f"the folder '{dest.parent}' is on a read-only file system",
        errno.ENOSPC: "no space left on the device",
        errno.EDQUOT: "the disk quota is exceeded",
    }
    return reasons.get(err.errno or 0) or err.strerror or type(err).__name__


def write_error(dest: str | Path, err: OSError) -> WriteError:
    """The :class:`WriteError` to raise (``from err``) when writing ``dest`` failed with ``err``:
    ``cannot write <dest>: <what is wrong>``."""
    error = WriteError(f"cannot write {dest}: {_reason(Path(dest), err)}")
    error.errno, error.filename = err.errno, str(dest)
    return error


def make_parents(path: str | Path) -> None:
    """Create the folders above ``path`` (as ``mkdir -p``), or raise :class:`WriteError` saying why they can't be,
    e.g. ``cannot write some/afile/x.json: 'some/afile' is a file, not a folder``."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise write_error(path, err) from err


def _about_temporary(err: OSError, tmp: Path) -> bool:
    """Whether ``err``, raised while writing the temporary file ``tmp``, is about that file (names it) or the disk; a
    library's own ``OSError`` subclass with no ``errno`` (e.g. a ``DownloadError`` naming the file) is not."""
    if err.errno is None:
        return False
    named = {str(err.filename), str(err.filename2)}
    return str(tmp) in named or tmp.name in str(err) or err.errno in _DISK_ERRNOS


def _part_prefix(dest: Path) -> str:
    return f".{dest.name}.{os.getpid()}."


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_stale_parts(dest: Path) -> list[Path]:
    """Delete the temporary files of writes to ``dest`` whose process is gone (killed mid-write).

    A temporary file is named ``.<name>.<pid>.<random>.part``; one whose ``pid`` is still running
    belongs to a write in progress and is left alone. Returns the files removed.
    """
    removed = []
    for part in Path(dest).parent.glob(f".{Path(dest).name}.*.part"):
        pid = part.name[len(Path(dest).name) + 2 :].split(".", 1)[0]
        if pid.isdigit() and not _pid_alive(int(pid)):
            part.unlink(missing_ok=True)
            removed.append(part)
    return removed


def current_umask() -> int:
    """The process's umask (read by setting it and putting it back)."""
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


@contextlib.contextmanager
def atomic_file(dest: str | Path) -> Iterator[Path]:
    """A temporary path beside ``dest``, renamed to ``dest`` if the block succeeds, deleted otherwise.

    So ``dest`` is either absent (or its previous version) or complete, never partial. The parent
    folders are created; the file gets the permissions the user's umask gives a new file (``mkstemp``
    alone would make it ``-rw-------``). A failure of the file system (see :func:`write_error`), here or in the
    block, is a :class:`WriteError` naming ``dest``; other errors of the block pass through unchanged.
    """
    dest = Path(dest)
    make_parents(dest)
    remove_stale_parts(dest)
    try:
        handle, name = tempfile.mkstemp(prefix=_part_prefix(dest), suffix=".part", dir=dest.parent)
    except OSError as err:
        raise write_error(dest, err) from err
    os.close(handle)
    tmp = Path(name)
    try:
        yield tmp
        tmp.chmod(0o666 & ~current_umask())
        os.replace(tmp, dest)
    except OSError as err:
        if not _about_temporary(err, tmp):
            raise
        raise write_error(dest, err) from err
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_file`)."""
    with atomic_file(path) as tmp:
        tmp.write_text(text)


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_file`)."""
    with atomic_file(path) as tmp:
        tmp.write_bytes(data)
