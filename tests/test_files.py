"""memviz.core.files: whole files or none, the user's permissions, no temporary files left behind."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from memviz.core import files


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    dest = tmp_path / "deep" / "config.json"
    files.write_text(dest, "old")
    with pytest.raises(RuntimeError, match="disk full"), files.atomic_file(dest) as tmp:
        tmp.write_text("half of the new")
        raise RuntimeError("disk full")
    assert dest.read_text() == "old" and sorted(p.name for p in dest.parent.iterdir()) == ["config.json"]


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o077])
def test_permissions_follow_the_umask(tmp_path, umask):
    old = os.umask(umask)
    try:
        files.write_text(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o666 & ~umask


def test_only_the_temporary_files_of_dead_processes_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".x.npz.{int(dead.stdout)}.abc.part"
    live = tmp_path / f".x.npz.{os.getpid()}.def.part"
    other = tmp_path / ".y.npz.1.ghi.part"  # another target's
    for part in (stale, live, other):
        part.write_text("partial")
    assert files.remove_stale_parts(tmp_path / "x.npz") == [stale]
    assert not stale.exists() and live.exists() and other.exists()
