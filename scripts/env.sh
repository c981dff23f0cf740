# Sourced by run_all.sh and test.sh: create the virtual environment in .venv (once) and install memviz into it.
# Set MEMVIZ_PYTHON to choose the interpreter (default: python3, 3.10 or newer).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.memviz-installed"
if [ ! -x "$VENV/bin/python" ]; then
  "${MEMVIZ_PYTHON:-python3}" -m venv "$VENV"
fi
# Reinstall when pyproject.toml changed since the last install.
if [ ! -f "$STAMP" ] || [ "$ROOT/pyproject.toml" -nt "$STAMP" ]; then
  "$VENV/bin/python" -m pip install --quiet --upgrade pip
  "$VENV/bin/python" -m pip install --quiet -e "$ROOT[notebooks,test]"
  touch "$STAMP"
fi
export PATH="$VENV/bin:$PATH"
