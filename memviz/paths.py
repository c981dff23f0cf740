"""Where memviz finds its shipped data and keeps its caches."""

from __future__ import annotations

import os
from pathlib import Path

#: The repository's ``data/`` folder (shipped corpus, article data, pretrained models).
DATA_DIR = Path(os.environ.get("MEMVIZ_DATA_DIR", Path(__file__).resolve().parent.parent / "data"))


def cache_dir() -> Path:
    """User cache for downloads and processed arrays: ``$MEMVIZ_CACHE``, else ``$XDG_CACHE_HOME/memviz``."""
    root = os.environ.get("MEMVIZ_CACHE")
    if root is None:
        root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "memviz"
    path = Path(root)
    path.mkdir(parents=True, exist_ok=True)
    return path


def figure_dir() -> Path:
    """Where notebooks export their figures: ``$MEMVIZ_OUTPUT_DIR``, else ``outputs/figures`` beside ``data/``."""
    path = Path(os.environ.get("MEMVIZ_OUTPUT_DIR", DATA_DIR.parent / "outputs" / "figures"))
    path.mkdir(parents=True, exist_ok=True)
    return path
