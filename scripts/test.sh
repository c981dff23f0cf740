#!/usr/bin/env bash
# The test command: creates .venv if missing, then runs the whole test suite (notebooks included, in smoke mode).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
# The standalone-HTML test renders in headless Chromium (Debian's package). Install it when we can.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) || echo "note: could not install chromium; its test will be skipped"
fi
exec python -m pytest "$@"
