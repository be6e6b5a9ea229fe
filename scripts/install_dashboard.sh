#!/usr/bin/env bash
# What the dashboard's browser tests need: Debian's Chromium (Playwright's own browser download does not work
# offline; the tests launch /usr/bin/chromium through executable_path) and Playwright for Python. The dashboard's
# runtime (starlette, uvicorn, onnx for the explain view) comes with the daemon extra.
#
# Usage: scripts/install_dashboard.sh [PYTHON]   (default: .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-.venv/bin/python}
if ! command -v chromium >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
fi
# Never `playwright install`: the browser is Debian's.
"$PY" -m pip install -q "playwright>=1.49" "httpx>=0.27" "starlette>=0.40" "uvicorn>=0.30"
