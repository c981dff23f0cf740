"""A reader's own models, in a folder outside the clone: the script tests/outside/own_models_script.py runs there
(a fresh interpreter, its working directory a temporary folder, memviz as installed) and every analysis takes
flax's nnx.RNN, a causal Transformer and a plain function, with their connectivity equal to jax.grad's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent / "outside" / "own_models_script.py"


@pytest.mark.parametrize(
    ("key", "name"), [("flax-gru", "flax GRU"), ("transformer", "Transformer"), ("function", "bag of characters")]
)
def test_own_models_outside_the_clone(tmp_path, key, name):
    folder = tmp_path / "my_notebooks"
    folder.mkdir()
    shutil.copy(SCRIPT, folder / "mine.py")
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "MEMVIZ_SMOKE", "MEMVIZ_RUNS_DIR")}
    env["MEMVIZ_CACHE"] = str(tmp_path / "cache")
    done = subprocess.run(
        [sys.executable, "mine.py", key], cwd=folder, env=env, capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "all analyses ran" in done.stdout
    assert f"{name}: connectivity" in done.stdout
    assert not (folder / "runs").exists() and not (folder / "outputs").exists()  # nothing written beside the script
