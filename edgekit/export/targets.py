"""The TFLite / Edge TPU and TensorRT legs of ``pipeline.export`` (the ONNX leg lives in pipeline itself)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from edgekit.errors import EdgekitError
from edgekit.export import gate
from edgekit.export.report import Attempt, ExportReport

if TYPE_CHECKING:
    from edgekit.export.pipeline import ExportOptions, Progress
    from edgekit.export.source import SourceModel

log = logging.getLogger(__name__)


def tflite_target(
    src: SourceModel,
    base: Path,
    precision: str,
    opts: ExportOptions,
    ref: gate.Reference | None,
    report: ExportReport,
    progress: Progress | None,
    edgetpu: bool = False,
) -> Path:
    """TFLite at ``precision`` (boxes normalised to 0..1 so full INT8 keeps its scores), scored by the gate;
    for ``edgetpu`` the INT8 model is then compiled with edgetpu_compiler."""
    from edgekit.export.onnx2tflite import normalize_boxes, onnx2tflite
    from edgekit.export.pipeline import _calibration, _gated, apply_attempt

    normed = opts.out / f"{src.path.stem}_tflite_src.onnx"
    box_scale = float(src.imgsz) if normalize_boxes(base, normed, src.imgsz) else 1.0
    if box_scale == 1.0:
        normed = base
        report.notes.append("output head not recognised: boxes left in pixels (full INT8 may lose its scores)")
    report.box_scale = box_scale
    calib, cds = _calibration(src, opts, progress)
    if precision == "int8":
        report.calibration = cds
    if progress:
        progress(f"onnx2tf {precision}", 0, 1)
    produced = onnx2tflite(normed, opts.out, src.input_name, (precision,), calib, io_dtype=opts.io_dtype)
    artifact = produced[precision].rename(opts.out / f"{src.path.stem}_{precision}.tflite")
    report.converter = "onnx2tf + TensorFlow Lite converter"
    a = gate.score(_gated(ref), artifact, f"tflite-{precision}", opts.max_map_drop, box_scale, progress)
    report.attempts = [a]
    apply_attempt(report, a)
    if not edgetpu:
        return artifact
    return _edgetpu(artifact, opts, report)


def _edgetpu(tflite: Path, opts: ExportOptions, report: ExportReport) -> Path:
    from edgekit.export.tflite2edgetpu import tflite2edgetpu

    if not report.passed:
        raise EdgekitError(f"the INT8 TFLite {tflite} failed the accuracy gate; not compiling it for the Edge TPU")
    res = tflite2edgetpu(tflite, opts.out)
    report.converter += " + edgetpu_compiler"
    report.extra["edgetpu"] = {"tpu_ops": res.tpu_ops, "cpu_ops": res.cpu_ops}
    report.notes.append(f"Edge TPU: {res.tpu_ops} ops on the TPU, {res.cpu_ops} on the CPU (not run here)")
    return res.model


def tensorrt_target(
    src: SourceModel,
    base: Path,
    precision: str,
    opts: ExportOptions,
    ref: gate.Reference | None,
    report: ExportReport,
    progress: Progress | None,
) -> Path:
    """A TensorRT engine: FP16/FP32 from the FP32 ONNX, INT8 from the QDQ ONNX that passed the ONNX INT8 gate."""
    from edgekit.export.onnx2engine import import_tensorrt, onnx2engine
    from edgekit.export.pipeline import _onnx, apply_attempt

    import_tensorrt()  # fail in one line before any calibration work
    onnx_src = base
    if precision == "int8":
        onnx_src = _onnx(src, base, "int8", opts, ref, report, progress)
        if not report.passed:
            raise EdgekitError("no INT8 ONNX passed the accuracy gate; not building an INT8 engine from it")
    out = opts.out / f"{src.path.stem}_{precision}.engine"
    if progress:
        progress(f"tensorrt {precision}", 0, 1)
    onnx2engine(
        onnx_src,
        out,
        precision=precision,
        imgsz=src.imgsz,
        labels=src.labels,
        workspace_mb=opts.workspace_mb,
        dynamic_batch=opts.dynamic,
    )
    report.converter = (
        "TensorRT builder (explicit quantization from QDQ)" if precision == "int8" else "TensorRT builder"
    )
    if ref is not None:
        a: Attempt = gate.score(ref, out, f"tensorrt-{precision}", opts.max_map_drop, progress=progress)
        report.attempts.append(a)
        apply_attempt(report, a)
    return out
