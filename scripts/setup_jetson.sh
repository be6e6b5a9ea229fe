#!/usr/bin/env bash
# Set up the edgekit camera daemon on a Jetson with JetPack 6 (Orin Nano, Orin NX, AGX Orin: Ubuntu 22.04, Python
# 3.10). JetPack 5 (Python 3.8) and JetPack 4 on the Nano (Python 3.6) ship TensorRT bindings only for their own
# Python, which edgekit (>= 3.10) cannot use: the script refuses them in one line.
#
# - TensorRT and its Python bindings come with JetPack (apt: python3-libnvinfer), and so does OpenCV built with
#   GStreamer (needed for csi://N cameras through nvarguscamerasrc). The venv uses --system-site-packages to see
#   both, and opencv-python-headless from PyPI is removed from it so JetPack's cv2 (with GStreamer) is the one
#   imported. The TensorRT backend reaches the GPU's memory through JetPack's CUDA runtime library (libcudart, apt:
#   nvidia-cuda) with ctypes: no CUDA Python bindings are needed.
# - onnxruntime-gpu for Jetson is not on PyPI; the CPU onnxruntime works, TensorRT engines are the fast path: a
#   TensorRT profile builds its engine from the ONNX at the daemon's first start, or ahead on the board with
#   `edgekit export MODEL --to tensorrt --profile jetson-orin-nano`.
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
case "$PYV" in 3.1[0-9]) ;; *) echo "error: Python $PYV cannot run edgekit (needs >= 3.10): JetPack 4 (Jetson Nano) is runtime-only, see \`edgekit devices show jetson-nano\` (support.how); JetPack 5 has Python 3.8: flash JetPack 6 for a board edgekit runs on" >&2; exit 2;; esac

apt-get update
# nvidia-cuda: JetPack's CUDA runtime libraries (libcudart), which the TensorRT backend calls.
apt-get install -y python3-venv python3-pip python3-libnvinfer nvidia-cuda python3-opencv gstreamer1.0-tools
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
# What the daemon's first start needs, checked now, each failure one line: TensorRT >= 8.5, the CUDA runtime and a
# GPU it can use, OpenCV with GStreamer.
import sys

import cv2

from edgekit.backends.cudart import load_cudart
from edgekit.backends.tensorrt_engine import import_tensorrt
from edgekit.errors import EdgekitError

try:
    trt = import_tensorrt()
    cuda = load_cudart()
    cuda.set_device(0)
    gpu = cuda.device_name(0)
except EdgekitError as e:
    sys.exit(f"error: {e}")
if "GStreamer:                   YES" not in cv2.getBuildInformation():
    sys.exit("error: this cv2 has no GStreamer: csi:// cameras will not open (apt: python3-opencv)")
print(f"OpenCV {cv2.__version__} with GStreamer; TensorRT {trt.__version__} on {gpu} (CUDA runtime {cuda.path})")
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
