#!/usr/bin/env bash
# MediaPipe pose (the [pose] extra) in its own venv (.venv-pose) for its tests.
#
# Why separate: mediapipe 0.10.14 depends on opencv-contrib-python, a second distribution that owns `cv2` and would
# overwrite the headless OpenCV of the main venv, and on protobuf < 5, which the TFLite converter's TensorFlow does
# not accept. On a board, install edgekit[pose] on its own (scripts/setup_rpi.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv-pose/bin/python ] || "$PY" -m venv .venv-pose
.venv-pose/bin/python -m pip install -q --upgrade pip
.venv-pose/bin/python -m pip install -q -e ".[dev,daemon,pose]"
.venv-pose/bin/python -c "import mediapipe as mp, cv2; mp.solutions.pose.Pose; print('install_pose: mediapipe', mp.__version__, 'ready')"
