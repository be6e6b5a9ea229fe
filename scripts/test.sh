#!/usr/bin/env bash
# The test command of a fresh machine: installs everything the suite needs into .venv, then runs pytest.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh -m "not slow"`).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev,daemon,export,tflite,pose]"
for step in scripts/install_daemon.sh scripts/install_llm.sh scripts/install_export.sh; do
    [ -f "$step" ] && bash "$step"
done
exec .venv/bin/python -m pytest -ra "$@"
