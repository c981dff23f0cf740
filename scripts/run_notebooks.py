"""Execute the numbered notebooks in order, headless, and keep the executed copies.

    python scripts/run_notebooks.py                 # all notebooks, shipped models
    python scripts/run_notebooks.py --smoke         # tiny configuration (what the tests run)
    python scripts/run_notebooks.py 03 05           # only notebooks whose names start with these
    python scripts/run_notebooks.py --update-gallery  # all notebooks, then refresh docs/gallery/

Executed copies go to ``outputs/notebooks/``; the notebooks export their figures to
``outputs/figures/`` (``MEMVIZ_OUTPUT_DIR``). Both are gitignored, so a run leaves ``git status``
clean. Only ``--update-gallery`` writes into the repository: it copies the README's figures from a
full run of all notebooks into the tracked ``docs/gallery/``.

A full run of all notebooks ends by checking the prose's claims about your models against the numbers
the executed notebooks recorded (``tests/test_claims.py``): a sentence that retraining made false
fails the run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbformat.sign import NotebookNotary

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
#: Figures the README shows, copied from the run's figures into docs/gallery/ (tracked) by --update-gallery.
GALLERY = [
    "connectivity_walkthrough_106.png",
    "accuracy_curves.png",
    "training_curves.png",
    "own_models_connectivity.png",
]


def notebooks(prefixes: list[str]) -> list[Path]:
    found = sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    return [nb for nb in found if not prefixes or any(nb.name.startswith(p) for p in prefixes)]


def execute(path: Path, out_dir: Path, timeout: int) -> float:
    """Run one notebook top to bottom in its own folder; write the executed copy; return seconds."""
    nb = nbformat.read(path, as_version=4)
    start = time.perf_counter()
    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}
    )
    try:
        client.execute()
    finally:
        out_dir.mkdir(parents=True, exist_ok=True)
        # trusted on this machine, as a notebook run by hand is: JupyterLab then draws its SVG charts (an
        # untrusted notebook's SVG outputs are shown as their text, "<IPython.core.display.SVG object>")
        NotebookNotary().sign(nb)
        nbformat.write(nb, out_dir / path.name)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("prefixes", nargs="*", help="run only notebooks whose names start with these")
    parser.add_argument("--smoke", action="store_true", help="tiny configuration and data slice (MEMVIZ_SMOKE=1)")
    parser.add_argument("--out", type=Path, default=ROOT / "outputs", help="where executed notebooks and figures go")
    parser.add_argument("--timeout", type=int, default=1200, help="seconds allowed per cell")
    parser.add_argument(
        "--update-gallery",
        action="store_true",
        help="after a full run of all notebooks, copy the README's figures into docs/gallery/ (tracked)",
    )
    args = parser.parse_args(argv)
    if args.update_gallery and (args.smoke or args.prefixes):
        parser.error("--update-gallery needs a full run of every notebook: drop --smoke and the notebook names")
    os.environ["MEMVIZ_OUTPUT_DIR"] = str((args.out / "figures").resolve())
    if args.smoke:
        os.environ["MEMVIZ_SMOKE"] = "1"
    total, ran = 0.0, notebooks(args.prefixes)
    for nb in ran:
        print(f"running {nb.name} ...", flush=True)
        seconds = execute(nb, args.out / "notebooks", args.timeout)
        total += seconds
        print(f"  done in {seconds:.0f} s", flush=True)
    print(
        f"all notebooks ran in {total:.0f} s; executed copies in {args.out / 'notebooks'}, figures in {args.out / 'figures'}"
    )
    if ran and not args.smoke and not args.prefixes and check_claims(args.out / "notebooks") != 0:
        print(
            "a sentence of the notebooks is no longer true for these models: see the failed claims above, and "
            "correct the prose (or the claim's check in tests/test_claims.py)",
            file=sys.stderr,
        )
        return 1
    if args.update_gallery:
        update_gallery(args.out / "figures", ROOT / "docs" / "gallery")
    return 0


def check_claims(executed: Path) -> int:
    """Check the prose's claims (tests/test_claims.py) against the notebooks just executed; pytest's exit code."""
    print("checking the notebooks' claims against what they computed ...", flush=True)
    env = os.environ | {"MEMVIZ_EXECUTED_DIR": str(executed.resolve())}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(ROOT / "tests" / "test_claims.py")]
    return subprocess.run(command, cwd=ROOT, env=env).returncode


def update_gallery(figures: Path, gallery: Path) -> None:
    """Copy the README's figures from a full run (so the README shows what the main command draws)."""
    gallery.mkdir(parents=True, exist_ok=True)
    for name in GALLERY:
        if (figures / name).exists():
            shutil.copyfile(figures / name, gallery / name)
            print(f"  gallery: {gallery / name}")


if __name__ == "__main__":
    sys.exit(main())
