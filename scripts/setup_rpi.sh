#!/usr/bin/env bash
# Set up the edgekit camera daemon on Raspberry Pi OS (Bookworm, 64-bit), Pi 4 or Pi 5; on another Debian 12
# (x86-64 or arm64, no picamera2 in its apt sources) it says so in one line and sets up USB/RTSP cameras only.
#
# - picamera2 and libcamera come from apt (they are built against the system's libcamera; the PyPI wheels are not),
#   so the venv is made with --system-site-packages to see them.
# - Mosquitto is optional (a broker elsewhere works too): INSTALL_BROKER=0 skips it.
# - The daemon runs as the invoking user (in the video group) from a systemd unit written by
#   `edgekit service install`.
#
# - Secrets ({MQTT_USER}, {MQTT_PASSWORD}... in the config) go to $ENV_FILE (default /etc/edgekit/edgekit.env,
#   mode 0600) from the environment (sudo -E) or a no-echo prompt; never on a command line (scripts/board_env.sh).
# - The venv sees system packages built against numpy 1.x, so numpy stays below 2 in it.
#
# Usage: sudo -E bash scripts/setup_rpi.sh /path/to/daemon.yaml     (run from the edgekit checkout)
set -euo pipefail
CONFIG=${1:?usage: setup_rpi.sh CONFIG.yaml}
cd "$(dirname "$0")/.."
REPO=$(pwd)
RUN_USER=${SUDO_USER:-$(id -un)}
VENV=${VENV:-$REPO/.venv}
ENV_FILE=${ENV_FILE:-/etc/edgekit/edgekit.env}
# shellcheck source=board_env.sh
. "$REPO/scripts/board_env.sh"
# shellcheck source=pi_camera.sh
. "$REPO/scripts/pi_camera.sh"

if [ "$(id -u)" != 0 ]; then echo "run with sudo (apt and the systemd unit need root)" >&2; exit 2; fi
if ! grep -qi "raspberry pi" /proc/device-tree/model 2>/dev/null; then
    echo "warning: this does not look like a Raspberry Pi; continuing" >&2
fi
PYV=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
case "$PYV" in 3.1[0-9]) ;; *) echo "error: Python $PYV cannot run edgekit (needs >= 3.10): flash Raspberry Pi OS Bookworm 64-bit (Python 3.11)" >&2; exit 2;; esac
case "$(uname -m)" in
    armv6l|armv7l|armhf) echo "64-bit Raspberry Pi OS is needed (onnxruntime has no 32-bit ARM wheels)" >&2; exit 2;;
esac

# No recommends: python3-pip would pull build-essential and ~150 packages; every wheel the daemon needs is binary.
apt-get update
apt-get install -y --no-install-recommends python3-venv python3-pip libgl1 libglib2.0-0
install_picamera2
if [ "${INSTALL_BROKER:-1}" = 1 ]; then
    apt-get install -y mosquitto mosquitto-clients
    systemctl enable --now mosquitto
fi
usermod -aG video "$RUN_USER"

# --system-site-packages: picamera2/libcamera from apt; everything else from PyPI inside the venv.
sudo -u "$RUN_USER" python3 -m venv --system-site-packages "$VENV"
sudo -u "$RUN_USER" "$VENV/bin/pip" install --upgrade pip
# numpy<2: the system's picamera2 / OpenCV / TensorRT bindings are built against numpy 1.x.
sudo -u "$RUN_USER" "$VENV/bin/pip" install -e "$REPO[daemon]" "numpy>=1.24,<2"
# Pose (MediaPipe 0.10.14 has aarch64 wheels for Python 3.9-3.12): INSTALL_POSE=1
if [ "${INSTALL_POSE:-0}" = 1 ]; then sudo -u "$RUN_USER" "$VENV/bin/pip" install -e "$REPO[pose]"; fi

write_env_file "$CONFIG" "$ENV_FILE" "$RUN_USER" "$VENV/bin/edgekit"
as_user_with_env "$RUN_USER" "$ENV_FILE" "$VENV/bin/edgekit" config check "$CONFIG"
"$VENV/bin/edgekit" service install --config "$CONFIG" --user "$RUN_USER" --env-file "$ENV_FILE"
systemctl daemon-reload
systemctl enable --now edgekit
echo "edgekit is running: journalctl -u edgekit -f ; metrics: curl -s 127.0.0.1:9108/metrics"
