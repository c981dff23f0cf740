"""Paths as a reader sees them printed: relative to the clone inside it, unchanged outside it; and the executed
series prints no absolute path into the clone (a full run's notebooks, when there are some)."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest

from memviz.core import paths

ROOT = Path(__file__).resolve().parent.parent
EXECUTED = Path(os.environ.get("MEMVIZ_EXECUTED_DIR", ROOT / "outputs" / "notebooks"))


def test_relative_inside_and_outside_the_clone(tmp_path):
    assert paths.relative(paths.work_dir() / "outputs" / "figures" / "a.png") == Path("outputs/figures/a.png")
    assert paths.relative(tmp_path / "a.png") == tmp_path / "a.png"


@pytest.mark.parametrize(
    "notebook", sorted(EXECUTED.glob("[0-9][0-9]_*.ipynb")) or [None], ids=lambda p: getattr(p, "stem", "none")
)
def test_executed_notebooks_print_no_absolute_clone_path(notebook):
    if notebook is None:
        pytest.skip(f"no executed notebooks in {EXECUTED}: run `bash scripts/run_all.sh` first")
    clone = str(paths.work_dir().resolve())
    for index, cell in enumerate(nbformat.read(notebook, as_version=4).cells):
        for output in cell.get("outputs", []):
            text = output.get("text", "") + str(output.get("data", {}).get("text/plain", ""))
            assert clone not in text, f"cell {index} prints an absolute path into the clone: {text[:200]!r}"


def test_saving_a_figure_under_a_file_says_so(tmp_path):
    import altair as alt
    import pandas as pd

    from memviz.core.files import WriteError
    from memviz.frontend import export

    (tmp_path / "afile").write_text("in the way")
    chart = alt.Chart(pd.DataFrame({"x": [1]})).mark_point().encode(x="x")
    with pytest.raises(WriteError, match="afile' is a file, not a folder"):
        export.save_chart(chart, tmp_path / "afile" / "chart.json")
