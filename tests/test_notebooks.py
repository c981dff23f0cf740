"""The tutorial notebooks run top to bottom in smoke mode and export the figures the README shows.

Each notebook is executed headless by ``scripts/run_notebooks.py``'s ``execute`` (nbclient, kernel
``python3``, working directory ``notebooks/``) with ``MEMVIZ_SMOKE=1`` (tiny models trained in
seconds and cached in the user cache, data slices) and ``MEMVIZ_OUTPUT_DIR`` pointing at a
temporary folder. A cell that raises fails the test.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))

#: Figures each notebook must export (the README gallery uses the first names).
FIGURES = {
    "01_autocomplete_data.ipynb": [],
    "02_recurrent_units.ipynb": ["vanishing_gradient.png", "memory_dial.png"],
    "03_training.ipynb": ["training_curves.png"],
    "04_autocomplete_accuracy.ipynb": ["accuracy_curves.png", "accuracy_baselines.png"],
    "05_connectivity_explorer.ipynb": ["connectivity_walkthrough_106.png", "explorer.html", "explorer_austen.html"],
    "06_memorization_vs_understanding.ipynb": ["seen_earlier.png", "share_in_word.png", "reach_back.png"],
    "07_what_connectivity_measures.ipynb": ["context_length.png", "repeat_recall.png", "reach_vs_loss.png",
                                            "attribution_agreement.png", "randomisation_check.png", "matched_accuracy.png"],
}


def _runner():
    spec = importlib.util.spec_from_file_location("run_notebooks", ROOT / "scripts" / "run_notebooks.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("outputs")


def test_the_series_is_complete():
    assert [p.name for p in NOTEBOOKS] == list(FIGURES)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.kernelspec.name == "python3"
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.outputs == [] and c.execution_count is None for c in code), "strip outputs before committing"
    # Shape of every notebook (STYLE.md): a title, numbered sections, a recap and what to try next.
    assert nb.cells[0].source.startswith(f"# {path.name[:2]} · ")
    headings = [line for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines() if line.startswith("## ")]
    assert headings[0].startswith("## 1. ") and {"## Recap", "## What to try next"} <= set(headings)
    # Short cells; nothing read from outside the repository.
    assert max(len(c.source.splitlines()) for c in code) <= 20
    assert not any("shared/" in c.source for c in nb.cells)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_in_smoke_mode(path, outputs, monkeypatch):
    monkeypatch.setenv("MEMVIZ_SMOKE", "1")
    monkeypatch.setenv("MEMVIZ_OUTPUT_DIR", str(outputs / "figures"))
    _runner().execute(path, outputs / "notebooks", timeout=600)  # raises CellExecutionError on any error

    executed = nbformat.read(outputs / "notebooks" / path.name, as_version=4)
    code = [c for c in executed.cells if c.cell_type == "code"]
    assert all(c.execution_count is not None for c in code)
    kinds = {key for c in code for out in c.outputs for key in out.get("data", {})}
    assert "image/svg+xml" in kinds  # static charts: a saved notebook is never blank
    for name in FIGURES[path.name]:
        figure = outputs / "figures" / name
        assert figure.exists() and figure.stat().st_size > 5_000, f"{name} was not exported"
        if name.endswith(".png"):
            assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_control_characters(path):
    """A backslash lost to a non-raw Python string (``\\tanh`` -> TAB + "anh", ``\\frac`` -> form feed) fails here."""
    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        bad = sorted({repr(ch) for ch in cell.source if ord(ch) < 32 and ch != "\n"})
        assert not bad, f"cell {index} contains control characters {bad}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_bracket_after_aligned_or_line_break(path):
    """MathJax reads ``[`` right after ``\\begin{aligned}`` or ``\\\\`` as an optional argument: write ``{}[``."""
    import re

    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown":
            assert not re.search(r"(\\begin\{aligned\}|\\\\)\s*\[", cell.source), f"cell {index}"
