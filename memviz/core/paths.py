"""Where memviz finds its shipped data and where it writes (caches, runs, figures).

The shipped data (the Austen corpus, the article's published data, the pretrained models) is found in
this order:

1. ``$MEMVIZ_DATA_DIR``, if set: a folder laid out like a clone's ``data/`` (``austen.txt.gz``,
   ``distill-2019/``, ``pretrained/``);
2. a clone's ``data/`` folder, beside the ``memviz/`` package (a clone, or an editable install);
3. the copy that ``pip install .`` puts inside the installed package, ``memviz/shipped_data/``.

memviz never writes into these folders: trained runs and figures go to :func:`work_dir` (the clone's
top level, or the current directory for an installed memviz), downloads and processed arrays to
:func:`cache_dir`.
"""

from __future__ import annotations

import os
from pathlib import Path

#: The environment variable that points memviz at its data folder.
DATA_ENV = "MEMVIZ_DATA_DIR"
#: A file every data folder holds: how a folder is recognised as one.
DATA_MARKER = "austen.txt.gz"

_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # memviz/, above core/
#: ``data/`` of a clone (the package imported from a source tree, editable or not installed).
CLONE_DATA_DIR = _PACKAGE_DIR.parent / "data"
#: The same files as package data of an installed memviz (``pyproject.toml`` maps ``data/`` here).
PACKAGE_DATA_DIR = _PACKAGE_DIR / "shipped_data"


def in_clone() -> bool:
    """``True`` when memviz is imported from a source tree (``pyproject.toml`` beside the package)."""
    return (_PACKAGE_DIR.parent / "pyproject.toml").is_file()


def find_data_dir() -> Path:
    """The shipped data folder: ``$MEMVIZ_DATA_DIR``, else a clone's ``data/``, else the installed package's copy."""
    if os.environ.get(DATA_ENV):
        return Path(os.environ[DATA_ENV]).expanduser().resolve()
    for candidate in (CLONE_DATA_DIR, PACKAGE_DATA_DIR):
        if (candidate / DATA_MARKER).is_file():
            return candidate
    return CLONE_DATA_DIR if in_clone() else PACKAGE_DATA_DIR  # missing: data_file() says what to do


#: The shipped corpus, the article's data and the pretrained models (see :func:`find_data_dir`).
DATA_DIR = find_data_dir()


def data_file(*parts: str) -> Path:
    """``DATA_DIR / parts``, or a ``FileNotFoundError`` that says where memviz looked and how to point it elsewhere."""
    path = DATA_DIR.joinpath(*parts)
    if not path.exists():
        raise FileNotFoundError(
            f"memviz's data file {path} does not exist. memviz looks in ${DATA_ENV} "
            f"({os.environ.get(DATA_ENV) or 'not set'}), then in a clone's data/ folder ({CLONE_DATA_DIR}), then in "
            f"the installed package ({PACKAGE_DATA_DIR}). Set {DATA_ENV} to a folder laid out like the repository's "
            "data/ (austen.txt.gz, distill-2019/, pretrained/), or reinstall memviz with `pip install .` from a clone."
        )
    return path


def work_dir() -> Path:
    """Where runs (``runs/``) and figures (``outputs/``) go: a clone's top level; for an installed memviz, the
    current directory (never the installed package)."""
    return _PACKAGE_DIR.parent if in_clone() else Path.cwd()


def cache_dir() -> Path:
    """User cache for downloads and processed arrays: ``$MEMVIZ_CACHE``, else ``$XDG_CACHE_HOME/memviz``."""
    root = os.environ.get("MEMVIZ_CACHE")
    path = Path(root) if root is not None else Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "memviz"
    path.mkdir(parents=True, exist_ok=True)
    return path


def figure_dir() -> Path:
    """Where notebooks export their figures: ``$MEMVIZ_OUTPUT_DIR``, else ``outputs/figures`` in :func:`work_dir`."""
    path = Path(os.environ.get("MEMVIZ_OUTPUT_DIR", work_dir() / "outputs" / "figures"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def relative(path: str | Path) -> Path:
    """``path`` as a reader wants to see it printed: relative to :func:`work_dir` (the clone) when it lies inside
    it, else unchanged (a temporary folder, ``$MEMVIZ_OUTPUT_DIR`` elsewhere)."""
    path = Path(path)
    try:
        return path.resolve().relative_to(work_dir().resolve())
    except ValueError:
        return path
