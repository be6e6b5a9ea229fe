#!/usr/bin/env bash
# Event clips: PyAV (its wheels bundle FFmpeg with libx264, which encodes the clips) and, for the tests, Debian's
# `ffmpeg` package for `ffprobe`, which checks that a clip is H.264 in MP4 with the expected duration.
#
# Usage: scripts/install_clips.sh [PYTHON]   (default: .venv/bin/python)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${1:-.venv/bin/python}
if ! command -v ffprobe >/dev/null 2>&1; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq ffmpeg >/dev/null
fi
"$PY" -m pip install -q "av>=14"
"$PY" - <<'PY'
import av
av.codec.Codec("libx264", "w")  # raises when this PyAV build has no H.264 encoder
PY
