#!/usr/bin/env bash
# The test command of a fresh machine: installs what the suite needs, then runs it.
#   .venv        edgekit + dev, daemon, export, tflite, openvino, ncnn, docs extras, pnnx (--no-deps); llama-cpp-python
#                (scripts/install_llm.sh); mosquitto;
#                Debian's chromium + Playwright for the dashboard's browser tests (scripts/install_dashboard.sh);
#                the fleet: hub and s3 extras, PostgreSQL, SeaweedFS, ansible-core (scripts/install_fleet.sh)
#   .venv-export the TFLite converter (TensorFlow + onnx2tf), called by `edgekit export --to tflite`
#   lint         ruff over edgekit, tests, benchmarks and docs/hooks; mypy over the package, benchmarks/lib and the
#                docs hooks (all must be clean)
#   docs         the user guide built with `mkdocs build --strict` into a temp folder (offline; CLI, config and
#                error references generated from the code by docs/hooks/)
#   .venv-ha     Home Assistant core 2024.3.3 (scripts/install_ha.sh, built once and cached), for the discovery test
#   .venv-pose   MediaPipe 0.10.14 (its OpenCV and protobuf clash with the others), for the pose tests
#   arm64 root   Debian 12 arm64 under qemu-user, cached in /var/cache/edgekit-ci (scripts/install_arm64.sh)
#   VM image     Debian 12 x86-64 with systemd, sshd and the vivid camera for qemu-system, cached there too
#                (scripts/install_vm.sh; ~3 min to build once, tests boot a copy-on-write overlay in ~1 min)
#   image tools  mmdebstrap, mtools, dosfstools, fdisk, qemu-user-static, qemu-system-arm for `edgekit image`
#                (scripts/install_image.sh; the image's base root is built by the heavy test's first run, cached)
# Extra arguments go to the main pytest run (e.g. `bash scripts/test.sh -m "not slow"`). Without an -m of its own
# the run leaves out the `heavy` end-to-end tests (Ansible rollout, TFLite INT8 at 640), which take 10-50 min each
# on 2 cores; run them with `bash scripts/test.sh -m heavy`. The arm64 test (tests/deploy/test_arm64.py) is in the
# default run: 125 s with its venvs cached in the root (load average 1.91 4.83 8.15 after it), 621 s when its lock
# had changed and both venvs were reinstalled under qemu (load 4-8); the root itself is built above, once.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q -e ".[dev,daemon,export,tflite,openvino,ncnn,docs]"
# pnnx, the ONNX → ncnn converter of `edgekit export --to ncnn`: one static binary in its wheel. --no-deps: the wheel
# declares torch for its TorchScript helpers, which converting ONNX does not use.
.venv/bin/python -m pip install -q --no-deps "pnnx>=20261020"
# TensorRT's type stubs (10.x; PyPI has none for 8.x): tests/backends/test_tensorrt_version.py checks every TensorRT
# call of the engine builder and backend against them. mypy cannot use them (no py.typed in their `tensorrt/`, and
# their .pyi do not parse), so it sees `tensorrt` as Any. --no-deps: they name `tensorrt`, whose PyPI package is a
# stub that downloads from NVIDIA's index (unreachable off a Jetson).
.venv/bin/python -m pip install -q --no-deps "tensorrt-stubs>=10"
bash scripts/install_daemon.sh
bash scripts/install_rtsp.sh
bash scripts/install_dashboard.sh
bash scripts/install_clips.sh
bash scripts/install_fleet.sh
bash scripts/install_llm.sh
bash scripts/install_export.sh
bash scripts/install_pose.sh
bash scripts/install_ha.sh "$PY"           # Home Assistant core 2024.3.3 in .venv-ha (cached), for the discovery test
bash scripts/install_arm64.sh >/dev/null   # qemu-user + cached Debian 12 arm64 root; OpenSSH for the deploy tests
bash scripts/install_vm.sh >/dev/null      # qemu-system + cached Debian 12 x86-64 VM image (systemd, vivid)
bash scripts/install_image.sh              # edgekit image's tools (mtools, dosfstools, fdisk, qemu-system-arm)
.venv/bin/ruff check edgekit tests benchmarks docs/hooks
.venv/bin/mypy
.venv/bin/mypy docs/hooks   # the docs hooks: outside the package, checked on their own
site_dir=$(mktemp -d)
NO_MKDOCS_2_WARNING=1 .venv/bin/mkdocs build --strict --site-dir "$site_dir"
rm -rf "$site_dir"
.venv-pose/bin/python -m pytest -q -p no:cacheprovider tests/vision/test_pose.py
case " $* " in
    *" -m "*) exec .venv/bin/python -m pytest -ra "$@" ;;
    *) exec .venv/bin/python -m pytest -ra -m "not heavy" "$@" ;;
esac
