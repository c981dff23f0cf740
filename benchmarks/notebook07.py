"""Wall time of notebook 07 in full mode (shipped models), the figure its 5-minute goal is checked against.

    python benchmarks/notebook07.py [--out DIR]   # prints seconds (whole, and per section), the load, the machine

Runs the notebook headless exactly as ``scripts/run_notebooks.py 07`` does (executed copy and figures in
``--out``, default a temporary folder). Record the output in benchmarks/results/notebook07.md with a note on other load.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import sys
import tempfile
from datetime import datetime
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent


def section_seconds(path: Path) -> dict[str, float]:
    """Seconds per ``## `` section of an executed notebook, from the cell timing nbclient records."""
    sections, title = {}, "set-up"
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "markdown" and cell.source.startswith("## "):
            title = cell.source.splitlines()[0][3:]
        timing = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            start, end = (
                datetime.fromisoformat(timing[k].replace("Z", "+00:00"))
                for k in ("iopub.execute_input", "shell.execute_reply")
            )
            sections[title] = sections.get(title, 0.0) + (end - start).total_seconds()
    return sections


def main() -> int:
    spec = importlib.util.spec_from_file_location("run_notebooks", ROOT / "scripts" / "run_notebooks.py")
    runner = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(runner)
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path, default=None, help="keep the executed notebook and figures here")
    args = parser.parse_args()
    os.environ.pop("MEMVIZ_SMOKE", None)
    with tempfile.TemporaryDirectory() as temporary:
        out = args.out or Path(temporary)
        os.environ["MEMVIZ_OUTPUT_DIR"] = str(Path(out) / "figures")
        before = os.getloadavg()
        seconds = runner.execute(
            ROOT / "notebooks" / "07_what_connectivity_measures.ipynb", Path(out) / "notebooks", timeout=1800
        )
        after = os.getloadavg()
        sections = section_seconds(Path(out) / "notebooks" / "07_what_connectivity_measures.ipynb")
    print(f"notebook 07, full mode: {seconds:.0f} s")
    for title, spent in sections.items():
        print(f"  {spent:6.1f} s  {title}")
    print(
        f"load average (1, 5, 15 min) before {before[0]:.1f} {before[1]:.1f} {before[2]:.1f}, after {after[0]:.1f} {after[1]:.1f} {after[2]:.1f}"
    )
    print(
        f"machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, Python {sys.version.split()[0]}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
