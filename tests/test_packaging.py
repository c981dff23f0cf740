"""A plain ``pip install .`` (not editable) finds the shipped data from any folder and writes nothing into the package.

The wheel test builds and installs memviz offline into a temporary target folder with the setuptools of
the running environment (``--no-build-isolation --no-index``), then imports it from another working
directory with only that folder on the path.
"""

from __future__ import annotations

import fnmatch
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from memviz.core import paths

ROOT = Path(__file__).resolve().parent.parent
#: setuptools reads the SPDX string form of ``project.license`` from this version on (pyproject's build requirement).
MIN_SETUPTOOLS = 77


def test_data_dir_lookup_order(monkeypatch, tmp_path):
    clone, package = tmp_path / "clone" / "data", tmp_path / "site" / "memviz" / "shipped_data"
    monkeypatch.setattr(paths, "CLONE_DATA_DIR", clone)
    monkeypatch.setattr(paths, "PACKAGE_DATA_DIR", package)
    monkeypatch.delenv(paths.DATA_ENV, raising=False)
    for folder in (clone, package):
        folder.mkdir(parents=True)
        (folder / paths.DATA_MARKER).write_bytes(b"")
    assert paths.find_data_dir() == clone  # a clone's data/ first
    (clone / paths.DATA_MARKER).unlink()
    assert paths.find_data_dir() == package  # then the installed package's copy
    monkeypatch.setenv(paths.DATA_ENV, str(tmp_path / "mine"))
    assert paths.find_data_dir() == (tmp_path / "mine").resolve()  # the environment variable wins


def test_a_missing_data_file_says_how_to_point_at_the_data(monkeypatch, tmp_path):
    monkeypatch.setattr(paths, "DATA_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match=paths.DATA_ENV) as caught:
        paths.data_file("distill-2019", "autocomplete.json")
    assert str(tmp_path / "distill-2019" / "autocomplete.json") in str(caught.value)


def test_package_data_covers_every_shipped_file():
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert config["package-dir"]["memviz.shipped_data"] == "data"
    patterns = config["package-data"]["memviz.shipped_data"]
    shipped = [p.relative_to(ROOT / "data").as_posix() for p in (ROOT / "data").rglob("*") if p.is_file()]
    missed = [f for f in shipped if not any(_matches(f, pattern) for pattern in patterns)]
    assert shipped and not missed, f"not in the wheel: {missed}"


def _matches(path: str, pattern: str) -> bool:
    """setuptools' package-data globs: ``*`` stays within a folder, ``**/`` spans folders."""
    if "**/" in pattern:
        head, tail = pattern.split("**/", 1)
        return path.startswith(head) and fnmatch.fnmatch(path[len(head) :].rsplit("/", 1)[-1], tail)
    return path.count("/") == pattern.count("/") and fnmatch.fnmatch(path, pattern)


def _setuptools_major() -> int:
    out = subprocess.run(
        [sys.executable, "-c", "import setuptools; print(setuptools.__version__)"],
        capture_output=True,
        text=True,
        check=False,
    )
    return int(out.stdout.split(".")[0]) if out.returncode == 0 else 0


_CHECK = """
import json, os, sys, warnings
import memviz
from memviz import data
from memviz.core import paths
from memviz.data import reference
from memviz.training import pretrained
run = pretrained.load("gru")
print(json.dumps({
    "package": memviz.__file__, "data_dir": str(paths.DATA_DIR), "work_dir": str(paths.work_dir()),
    "runs_dir": str(pretrained.default_runs_dir()), "figure_dir": str(paths.figure_dir()),
    "test_sequences": len(data.load_dataset("austen").test), "article_rows": len(reference.training_curves()),
    "article_vocabulary": len(data.Vocabulary.article()), "model_dir": str(run.directory), "step": run.step,
}))
"""


@pytest.mark.slow
def test_an_installed_wheel_finds_its_data_from_another_folder(tmp_path):
    if _setuptools_major() < MIN_SETUPTOOLS:
        pytest.skip(
            f"building the wheel offline needs setuptools >= {MIN_SETUPTOOLS} in this environment "
            "(pip install --no-build-isolation uses it); `pip install 'setuptools>=77'` to run this test"
        )
    source, target, elsewhere = tmp_path / "source", tmp_path / "site", tmp_path / "elsewhere"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for folder in ("memviz", "data"):
        shutil.copytree(ROOT / folder, source / folder, ignore=shutil.ignore_patterns("__pycache__"))
    build = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "--target",
            str(target),
            str(source),
        ],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert build.returncode == 0, build.stderr[-3000:]
    installed = sorted(p for p in target.rglob("*") if p.is_file() and "__pycache__" not in p.parts)

    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMVIZ_")} | {
        "PYTHONPATH": str(target),
        "MEMVIZ_CACHE": str(tmp_path / "cache"),
    }
    check = subprocess.run(
        [sys.executable, "-c", _CHECK], cwd=elsewhere, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert check.returncode == 0, check.stderr[-3000:]
    found = json.loads(check.stdout.strip().splitlines()[-1])

    package = target / "memviz"
    assert Path(found["package"]).parent == package  # the installed copy, not the clone
    assert Path(found["data_dir"]) == package / "shipped_data"
    assert Path(found["model_dir"]) == package / "shipped_data" / "pretrained" / "gru" and found["step"] > 0
    assert found["test_sequences"] > 0 and found["article_rows"] == 8568 and found["article_vocabulary"] == 16_386
    # Runs and figures go to the working directory, never into the installed package.
    assert Path(found["work_dir"]) == elsewhere and Path(found["runs_dir"]) == elsewhere / "runs"
    assert Path(found["figure_dir"]) == elsewhere / "outputs" / "figures"
    after = sorted(p for p in target.rglob("*") if p.is_file() and "__pycache__" not in p.parts)
    assert after == installed, "something was written into the installed package"
