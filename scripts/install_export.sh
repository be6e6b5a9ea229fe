#!/usr/bin/env bash
# The TFLite converter for `edgekit export --to tflite|edgetpu`, in its own venv (.venv-export).
#
# Why separate: onnx2tf needs TensorFlow; with mediapipe 0.10.14 (the [pose] extra) in the same venv, pip must take
# TensorFlow 2.19 + protobuf 4 + numpy < 2.2 and a second OpenCV. Alone, TF 2.21 runs on numpy 2.x.
# onnx2tf is pinned to 1.28.8: 1.29+ pins numpy==1.26.4 / onnxruntime==1.23.0 / onnx==1.19.1, and 2.x needs
# Python >= 3.12. edgekit finds .venv-export/bin/python by itself (or set EDGEKIT_EXPORT_PYTHON).
# The ONNX part of export (onnxslim, INT8, the accuracy gate) needs only the [export] extra in the main venv.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv-export/bin/python ] || "$PY" -m venv .venv-export
.venv-export/bin/python -m pip install -q --upgrade pip
.venv-export/bin/python -m pip install -q \
    "tensorflow-cpu==2.21.*" "tf_keras==2.21.*" "onnx2tf==1.28.8" "onnx_graphsurgeon>=0.5" "sng4onnx>=1.0" \
    "onnxsim>=0.4.36" "onnx>=1.16" "onnxruntime>=1.20" "ai-edge-litert>=1.2" "psutil"
.venv-export/bin/python -c "import onnx2tf, tensorflow, tf_keras, onnx_graphsurgeon, sng4onnx" 2>/dev/null \
    && echo "install_export: onnx2tf converter ready in .venv-export"
