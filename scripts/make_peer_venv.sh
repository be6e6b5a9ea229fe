#!/usr/bin/env bash
# Create the Ultralytics "peer" venv used ONLY as a test oracle and benchmark peer.
# Ultralytics is never a runtime dependency of edgekit; this venv is separate from .venv.
#
# Usage: scripts/make_peer_venv.sh [VENV_DIR]      (default: .venv-peer in the repo root)
# Env:   PYTHON=python3.11 (interpreter used to create the venv)
#
# Why these pins: PyPI's torchvision does not import beside a CPU torch 2.13; torch 2.14.1 +
# torchvision 0.29.1 (a CUDA build, ~6 GB) work together and run on the CPU.
# Idempotent: if the venv already imports ultralytics + torchvision, nothing is installed.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-$repo_root/.venv-peer}"
python="${PYTHON:-python3.11}"
# Keep Ultralytics from reaching the network (update checks, font downloads, telemetry).
export YOLO_OFFLINE=1

check() {
    "$venv/bin/python" - <<'PY' >/dev/null 2>&1
import torch, torchvision, ultralytics, onnxruntime, onnx, onnxslim  # noqa: F401
import torchvision.ops
torchvision.ops.nms(torch.zeros((1, 4)), torch.zeros(1), 0.5)
PY
}

if [[ -x "$venv/bin/python" ]] && check; then
    echo "peer venv OK: $venv (nothing to do)"
    exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --upgrade pip
# onnxruntime runs .onnx models in AutoBackend; onnx + onnxslim are checked at ONNX load/export. Without them
# Ultralytics tries to pip-install them at run time (AutoUpdate), which must not happen.
"$venv/bin/python" -m pip install "torch==2.14.1" "torchvision==0.29.1" ultralytics onnxruntime onnx onnxslim

if ! check; then
    echo "peer venv at $venv was created but torch/torchvision/ultralytics do not import" >&2
    exit 1
fi
"$venv/bin/python" -c 'import torch, torchvision, ultralytics; print("peer venv OK:", "torch", torch.__version__, "torchvision", torchvision.__version__, "ultralytics", ultralytics.__version__)'
