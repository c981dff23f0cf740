"""Writing files safely: whole or not at all, with the user's permissions.

Every file memviz writes (run configs and histories, metrics, dataset caches, the text8 download)
goes through :func:`atomic_file`: the bytes go to a temporary ``.part`` file beside the target,
which takes the target's name only when complete (``os.replace`` is atomic on one filesystem). A
failure deletes the temporary file; a process killed outright leaves it behind, and the next write
to the same target removes it (:func:`remove_stale_parts`).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


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
    alone would make it ``-rw-------``).
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(dest)
    handle, name = tempfile.mkstemp(prefix=_part_prefix(dest), suffix=".part", dir=dest.parent)
    os.close(handle)
    tmp = Path(name)
    try:
        yield tmp
        tmp.chmod(0o666 & ~current_umask())
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_file`)."""
    with atomic_file(path) as tmp:
        tmp.write_text(text)
