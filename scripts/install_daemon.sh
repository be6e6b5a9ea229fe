#!/usr/bin/env bash
# What the daemon's tests need beyond the Python extras: a Mosquitto broker binary (the tests start their own on
# a free loopback port; the system service is not used) and the daemon extra (paho-mqtt, lapx for the tracker,
# prometheus-client), plus supervision with ByteTrack: not used by the daemon, only the reference that
# tests/tracking/test_bytetrack.py and test_zones.py compare edgekit's tracker and zones with.
#
# Usage: scripts/install_daemon.sh [PYTHON]   (default: .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-.venv/bin/python}
if ! command -v mosquitto >/dev/null 2>&1 && [ ! -x /usr/sbin/mosquitto ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq mosquitto >/dev/null
fi
# Debian's package enables a system broker on port 1883; the tests never use it, so leave it as the admin set it.
"$PY" -m pip install -q "paho-mqtt>=2.1" "lapx>=0.5.10" "prometheus-client>=0.20" "supervision>=0.26,<0.31"
"$PY" - <<'PY'
import supervision as sv
assert hasattr(sv, "ByteTrack"), f"supervision {sv.__version__} has no ByteTrack: pin supervision<0.31"
PY
