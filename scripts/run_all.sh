#!/usr/bin/env bash
# The main job: creates .venv if missing, then executes the numbered notebooks in order on the embedded
# corpus with the shipped models, writing executed copies to outputs/notebooks/ and figures to outputs/figures/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
exec python scripts/run_notebooks.py "$@"
