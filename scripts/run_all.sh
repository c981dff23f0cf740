#!/usr/bin/env bash
# The main job: creates .venv if missing, then executes the numbered notebooks in order on the embedded
# corpus with the shipped models, writing executed copies to outputs/notebooks/ and figures to outputs/figures/
# (both gitignored: the clone stays clean). Arguments go to scripts/run_notebooks.py, e.g.
#   bash scripts/run_all.sh --update-gallery   # also refresh the README's figures in docs/gallery/ (tracked)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
exec python scripts/run_notebooks.py "$@"
