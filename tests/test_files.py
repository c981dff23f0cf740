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


def test_a_file_in_the_way_is_named_as_the_user_wrote_it(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "some").mkdir()
    (tmp_path / "some" / "afile").write_text("not a folder")
    for target in ("some/afile/x.json", "some/afile/deeper/x.json"):
        with pytest.raises(files.WriteError) as err:
            files.write_text(target, "{}")
        assert str(err.value) == f"cannot write {target}: 'some/afile' is a file, not a folder"
        assert isinstance(err.value, OSError) and err.value.__cause__ is not None  # the OS's error, chained
    with pytest.raises(files.WriteError, match="'some/afile' is a file, not a folder"):
        files.make_parents("some/afile/x.png")


def test_no_error_names_the_temporary_file(tmp_path, monkeypatch):
    """A read-only folder (simulated: the tests may run as root, whom no permission stops), and a folder where
    the file should go: the message names the file asked for and what is wrong, never the ``.part`` file."""
    import tempfile

    def read_only(prefix, suffix, dir):
        raise PermissionError(13, "Permission denied", os.path.join(dir, f"{prefix}abc{suffix}"))

    with monkeypatch.context() as patch:
        patch.setattr(tempfile, "mkstemp", read_only)
        with pytest.raises(files.WriteError) as err:
            files.write_text(tmp_path / "metrics.json", "{}")
    assert (
        str(err.value) == f"cannot write {tmp_path / 'metrics.json'}: no permission to write in the folder '{tmp_path}'"
    )
    (tmp_path / "adir").mkdir()  # os.replace of the temporary file onto a folder fails
    with pytest.raises(files.WriteError) as err:
        files.write_text(tmp_path / "adir", "x")
    assert ".part" not in str(err.value) and str(err.value).endswith(f"'{tmp_path / 'adir'}' is a folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir"]  # no temporary file left


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_a_read_only_folder(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    try:
        with pytest.raises(files.WriteError, match=r"cannot write .*x\.json: no permission") as err:
            files.write_text(folder / "x.json", "{}")
        assert ".part" not in str(err.value)
    finally:
        folder.chmod(0o755)


def test_other_errors_of_the_block_pass_through(tmp_path):
    with pytest.raises(ConnectionRefusedError), files.atomic_file(tmp_path / "text8.zip"):
        raise ConnectionRefusedError(111, "Connection refused")  # a download's error is not the file's
    with pytest.raises(files.WriteError, match="no space left"), files.atomic_file(tmp_path / "big.npz"):
        raise OSError(28, "No space left on device")
