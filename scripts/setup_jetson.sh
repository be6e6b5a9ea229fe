#!/usr/bin/env bash
# Set up the edgekit camera daemon on a Jetson (JetPack 5/6: Orin Nano, Xavier NX; JetPack 4 on the Nano has
# Python 3.6 and is not supported).
#
# - TensorRT and its Python bindings come with JetPack (apt: python3-libnvinfer), and so does OpenCV built with
#   GStreamer (needed for csi://N cameras through nvarguscamerasrc). The venv uses --system-site-packages to see
#   both, and opencv-python-headless from PyPI is removed from it so JetPack's cv2 (with GStreamer) is the one
#   imported.
# - onnxruntime-gpu for Jetson is not on PyPI; the CPU onnxruntime works, TensorRT engines are the fast path
#   (`edgekit export ... --to engine` on the board).
#
# - Secrets ({MQTT_USER}, {MQTT_PASSWORD}... in the config) go to $ENV_FILE (default /etc/edgekit/edgekit.env,
#   mode 0600) from the environment (sudo -E) or a no-echo prompt; never on a command line (scripts/board_env.sh).
# - The venv sees system packages built against numpy 1.x, so numpy stays below 2 in it.
#
# Usage: sudo -E bash scripts/setup_jetson.sh /path/to/daemon.yaml     (run from the edgekit checkout)
set -euo pipefail
CONFIG=${1:?usage: setup_jetson.sh CONFIG.yaml}
cd "$(dirname "$0")/.."
REPO=$(pwd)
RUN_USER=${SUDO_USER:-$(id -un)}
VENV=${VENV:-$REPO/.venv}
ENV_FILE=${ENV_FILE:-/etc/edgekit/edgekit.env}
# shellcheck source=board_env.sh
. "$REPO/scripts/board_env.sh"

if [ "$(id -u)" != 0 ]; then echo "run with sudo (apt and the systemd unit need root)" >&2; exit 2; fi
if [ ! -f /etc/nv_tegra_release ]; then
    echo "no /etc/nv_tegra_release: this is not a Jetson with JetPack" >&2; exit 2
fi
PYV=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
case "$PYV" in 3.1[0-9]) ;; *) echo "error: Python $PYV cannot run edgekit (needs >= 3.10): JetPack 4 (Jetson Nano) is runtime-only, see \`edgekit devices show jetson-nano\` (support.how); flash JetPack 5+ for a board edgekit runs on" >&2; exit 2;; esac

apt-get update
apt-get install -y python3-venv python3-pip python3-libnvinfer python3-opencv gstreamer1.0-tools
if [ "${INSTALL_BROKER:-1}" = 1 ]; then
    apt-get install -y mosquitto mosquitto-clients
    systemctl enable --now mosquitto
fi
usermod -aG video "$RUN_USER"

sudo -u "$RUN_USER" python3 -m venv --system-site-packages "$VENV"
sudo -u "$RUN_USER" "$VENV/bin/pip" install --upgrade pip
# numpy<2: the system's picamera2 / OpenCV / TensorRT bindings are built against numpy 1.x.
sudo -u "$RUN_USER" "$VENV/bin/pip" install -e "$REPO[daemon]" "numpy>=1.24,<2"
# JetPack's cv2 has GStreamer (CSI cameras); the PyPI wheel pulled in as a dependency does not.
sudo -u "$RUN_USER" "$VENV/bin/pip" uninstall -y opencv-python-headless || true
sudo -u "$RUN_USER" "$VENV/bin/python" - <<'PY'
import cv2, tensorrt
assert "GStreamer:                   YES" in cv2.getBuildInformation(), "cv2 without GStreamer: csi:// will not open"
print("OpenCV", cv2.__version__, "with GStreamer; TensorRT", tensorrt.__version__)
PY

# Max performance clocks help latency; comment out on battery-powered setups.
nvpmodel -m 0 || true
jetson_clocks || true

write_env_file "$CONFIG" "$ENV_FILE" "$RUN_USER" "$VENV/bin/edgekit"
as_user_with_env "$RUN_USER" "$ENV_FILE" "$VENV/bin/edgekit" config check "$CONFIG"
"$VENV/bin/edgekit" service install --config "$CONFIG" --user "$RUN_USER" --env-file "$ENV_FILE"
systemctl daemon-reload
systemctl enable --now edgekit
echo "edgekit is running: journalctl -u edgekit -f ; metrics: curl -s 127.0.0.1:9108/metrics"
