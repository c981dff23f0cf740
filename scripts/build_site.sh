#!/usr/bin/env bash
# Static site of the executed series: creates .venv if missing, runs the notebooks (as run_all.sh does; --reuse
# takes the executed copies already in outputs/), then writes outputs/site/ (open outputs/site/index.html).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
exec python scripts/build_site.py "$@"
