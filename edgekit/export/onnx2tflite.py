"""ONNX → TFLite (FP32, FP16, full INT8) with onnx2tf + TensorFlow CPU, run as a subprocess.

The converter may live in its own venv (TensorFlow is large and pins numpy): set ``EDGEKIT_EXPORT_PYTHON`` to that
venv's python, else the current interpreter is used. Two offline traps are handled here:

- onnx2tf always loads ``calibration_image_sample_data_20x128x128x3_float32.npy`` from its working directory and
  otherwise downloads it; we write it from the calibration images first.
- Full INT8 of a YOLOv8 head puts pixel boxes (0..imgsz) and 0..1 scores under one output scale and the scores
  round to zero; ``normalize_boxes`` divides the box rows by the input size inside the graph first (what
  Ultralytics does for its own TFLite export), so callers multiply boxes by ``box_scale`` = imgsz.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from edgekit.errors import EdgekitError, MissingDependencyError

log = logging.getLogger(__name__)

SAMPLE_FILE = "calibration_image_sample_data_20x128x128x3_float32.npy"
# onnx2tf's file name suffix for each precision.
# "int8" is full integer with int8/uint8 IO; "int8-float-io" the same integer body with float32 input and output
# (onnx2tf writes both from one -oiqt run).
OUTPUTS = {
    "fp32": "_float32.tflite",
    "fp16": "_float16.tflite",
    "int8": "_full_integer_quant.tflite",
    "int8-float-io": "_integer_quant.tflite",
}
QUANT_TYPES = ("per-channel", "per-tensor")


def converter_python() -> str:
    """The python that runs onnx2tf: ``$EDGEKIT_EXPORT_PYTHON``, a ``.venv-export`` next to the working
    directory or the checkout (what scripts/install_export.sh makes), else this interpreter."""
    env = os.environ.get("EDGEKIT_EXPORT_PYTHON")
    if env:
        return env
    for root in (Path.cwd(), Path(__file__).resolve().parents[2]):
        cand = root / ".venv-export" / "bin" / "python"
        if cand.is_file():
            return str(cand)
    return sys.executable


def check_converter(python: str) -> None:
    """A clear error unless ``python`` can import onnx2tf and TensorFlow."""
    code = "import onnx2tf, tensorflow, tf_keras, onnx_graphsurgeon, sng4onnx"
    r = subprocess.run([python, "-c", code], capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["import failed"])[-1]
        raise MissingDependencyError(
            f"the TFLite converter (onnx2tf + TensorFlow) in {python}",
            f"{last}; run scripts/install_export.sh and set EDGEKIT_EXPORT_PYTHON=.venv-export/bin/python",
        )


def check_installed() -> None:
    """A one-line error unless the TFLite converter imports in its python (see ``converter_python``)."""
    check_converter(converter_python())


def normalize_boxes(src: Path, out: Path, imgsz: int) -> bool:
    """Write ``src`` with the box rows of the final Concat divided by ``imgsz``; False if the head is not found.

    The YOLOv8/11 head ends ``Concat(boxes [1,4,A], Sigmoid(scores) [1,C,A], axis=1)``.
    """
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(src))
    graph = model.graph
    producer = {o: n for n in graph.node for o in n.output}
    last = producer.get(graph.output[0].name)
    if last is None or last.op_type != "Concat" or len(last.input) != 2:
        return False
    score_src = producer.get(last.input[1])
    if score_src is None or score_src.op_type != "Sigmoid":
        return False
    scale_name = "edgekit_box_norm"
    graph.initializer.append(numpy_helper.from_array(np.array(1.0 / imgsz, np.float32), scale_name))
    normed = f"{last.input[0]}_normalized"
    mul = helper.make_node("Mul", [last.input[0], scale_name], [normed], name="/edgekit/box_normalize")
    graph.node.insert(list(graph.node).index(last), mul)
    last.input[0] = normed
    onnx.save(model, str(out))
    return True


def write_sample_file(images: npt.NDArray[np.float32], workdir: Path) -> Path:
    """onnx2tf's 20×128×128×3 float32 RGB 0..1 sample file, from our own calibration tensors (NCHW)."""
    nhwc = images.transpose(0, 2, 3, 1)
    reps = int(np.ceil(20 / len(nhwc)))
    picked = np.concatenate([nhwc] * reps)[:20]
    small = np.stack([cv2.resize(im, (128, 128), interpolation=cv2.INTER_AREA) for im in picked]).astype(np.float32)
    path = workdir / SAMPLE_FILE
    np.save(path, small)
    return path


def onnx2tflite(
    src: Path,
    out_dir: Path,
    input_name: str,
    precisions: tuple[str, ...],
    calib: npt.NDArray[np.float32],
    *,
    io_dtype: str = "int8",
    quant_type: str = "per-channel",
    timeout_s: int = 3600,
) -> dict[str, Path]:
    """Convert ``src`` into ``out_dir``; returns ``{precision: path}`` for each requested precision (an
    ``OUTPUTS`` key).

    ``calib`` (N×3×H×W float32 0..1, letterboxed) feeds the INT8 representative dataset; ``io_dtype`` is the INT8
    model's input/output type (``int8`` or ``uint8``); ``quant_type`` ``per-channel`` or ``per-tensor`` weights.
    """
    if quant_type not in QUANT_TYPES:
        raise EdgekitError(f"unknown quantization type {quant_type!r}; choose one of: {', '.join(QUANT_TYPES)}")
    python = converter_python()
    check_converter(python)
    out_dir.mkdir(parents=True, exist_ok=True)
    work = out_dir / ("onnx2tf" if quant_type == "per-channel" else f"onnx2tf-{quant_type}")
    work.mkdir(exist_ok=True)
    from edgekit.export.report import sha256_of

    digest = f"{sha256_of(src)} {io_dtype} {quant_type}"
    marker = work / "source.sha256"
    wanted = [work / f"{src.stem}{OUTPUTS[p]}" for p in precisions]
    if marker.is_file() and marker.read_text() == digest and all(w.is_file() for w in wanted):
        log.info("onnx2tf outputs for %s are up to date in %s", src.name, work)
        return _collect(src, out_dir, work, precisions)
    marker.unlink(missing_ok=True)
    write_sample_file(calib, work)
    cmd = [python, "-m", "onnx2tf", "-i", str(src.resolve()), "-o", str(work.resolve()), "-coion", "-v", "warn"]
    if any(p.startswith("int8") for p in precisions):
        npy = work / "calib_nhwc.npy"
        np.save(npy, np.ascontiguousarray(calib.transpose(0, 2, 3, 1)))
        cmd += [
            "-oiqt",
            "-qt",
            quant_type,
            "-iqd",
            io_dtype,
            "-oqd",
            io_dtype,
            "-cind",
            input_name,
            str(npy.resolve()),
            "[[[[0.0,0.0,0.0]]]]",
            "[[[[1.0,1.0,1.0]]]]",
        ]
    env = dict(os.environ)
    # onnx2tf calls the onnxsim and sng4onnx programs: put the converter venv's bin first on PATH.
    env["PATH"] = f"{Path(python).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("CUDA_VISIBLE_DEVICES", "-1")
    log_path = out_dir / f"{work.name}.log"
    t0 = time.perf_counter()
    with log_path.open("w") as logf:
        try:
            r = subprocess.run(cmd, cwd=work, env=env, stdout=logf, stderr=subprocess.STDOUT, timeout=timeout_s)
        except subprocess.TimeoutExpired as e:
            raise EdgekitError(f"onnx2tf took longer than {timeout_s} s; see {log_path}") from e
    if r.returncode != 0:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-1:] or ["(no output)"]
        raise EdgekitError(f"onnx2tf failed (exit {r.returncode}): {tail[0][:200]}; full log: {log_path}")
    log.info("onnx2tf finished in %.0f s", time.perf_counter() - t0)
    marker.write_text(digest)
    return _collect(src, out_dir, work, precisions)


def _collect(src: Path, out_dir: Path, work: Path, precisions: tuple[str, ...]) -> dict[str, Path]:
    log_path = out_dir / f"{work.name}.log"
    produced: dict[str, Path] = {}
    for p in precisions:
        found = work / f"{src.stem}{OUTPUTS[p]}"
        if not found.is_file():
            raise EdgekitError(f"onnx2tf did not write {found.name} for {p}; see {log_path}")
        dst = out_dir / f"{src.stem}_{p}{'' if work.name == 'onnx2tf' else work.name[7:]}.tflite"
        shutil.copyfile(found, dst)
        produced[p] = dst
    return produced
