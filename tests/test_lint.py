"""Static checks of the code base: ruff (lint and format, notebooks included), the layers' import contracts, the type
checker, docstrings on the public API, and the public API itself."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PATHS = ["memviz", "tests", "scripts", "benchmarks", "notebooks"]


def _ruff() -> list[str]:
    beside_python = Path(sys.executable).parent / "ruff"
    found = str(beside_python) if beside_python.exists() else shutil.which("ruff")
    if found is None:
        pytest.skip("ruff is not installed (pip install -e '.[test]')")
    return [found]


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["lint", "format"])
def test_ruff(command):
    done = subprocess.run([*_ruff(), *command, *PATHS], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def _tool(name: str) -> str:
    beside_python = Path(sys.executable).parent / name
    found = str(beside_python) if beside_python.exists() else shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed (pip install -e '.[test]')")
    return found


def test_the_layers_import_only_downwards():
    """The import contracts of pyproject.toml ([tool.importlinter]): each layer imports only the layers below it."""
    done = subprocess.run([_tool("lint-imports")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_the_type_checker_passes():
    """mypy on the package, configured in pyproject.toml ([tool.mypy])."""
    done = subprocess.run([_tool("mypy")], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def _undocumented(tree: ast.AST, where: str) -> list[str]:
    missing = []
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            public = not node.name.startswith("_") or node.name == "__call__"
            if public and ast.get_docstring(node) is None:
                missing.append(f"{where}:{node.lineno} {node.name}")
            if isinstance(node, ast.ClassDef):
                missing += _undocumented(node, where)
    return missing


def test_every_public_function_and_class_has_a_docstring():
    missing = []
    for path in sorted((ROOT / "memviz").rglob("*.py")):
        missing += _undocumented(ast.parse(path.read_text()), str(path.relative_to(ROOT)))
    assert not missing, "public names without a docstring:\n" + "\n".join(missing)


def test_the_public_api_names_what_it_exports():
    """``import memviz`` is instant (names load on first use), and every name of ``memviz.__all__`` resolves."""
    code = (
        "import sys, memviz; assert 'jax' not in sys.modules, 'import memviz imported jax'; "
        "missing = [n for n in memviz.__all__ if getattr(memviz, n, None) is None]; assert not missing, missing; "
        "assert 'load_model' in memviz.__doc__ and sorted(memviz.__all__) == memviz.__all__"
    )
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
