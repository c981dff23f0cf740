#!/usr/bin/env bash
# The test command: creates .venv if missing, then runs the whole test suite (notebooks included, in smoke mode).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"
cd "$ROOT"
# The browser tests (pytest -m browser: the explorer page, JupyterLab with notebooks 05 and 08, the static site) drive
# Debian's headless Chromium through Playwright (pip, from the test extra; never `playwright install`).
# Install Chromium when we can; where we cannot, those tests are skipped and say why.
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
    || echo "note: could not install chromium; the browser tests will be skipped"
fi
exec python -m pytest "$@"
