"""The ``tflite`` target: onnx2tf at FP32/FP16/full INT8, boxes normalised inside the model, scored by the gate."""

from __future__ import annotations

from pathlib import Path

from edgekit.export.onnx2tflite import normalize_boxes, onnx2tflite
from edgekit.export.run import ExportRun


def build(run: ExportRun) -> Path:
    """TFLite at ``run.precision`` (boxes normalised to 0..1 so full INT8 keeps its scores), scored by the gate."""
    src = run.source
    normed = run.out / f"{run.stem}-{run.imgsz}_tflite_src.onnx"
    box_scale = float(src.imgsz) if normalize_boxes(run.base, normed, src.imgsz) else 1.0
    if box_scale == 1.0:
        normed = run.base
        run.report.notes.append("output head not recognised: boxes left in pixels (full INT8 may lose its scores)")
    run.report.box_scale = box_scale
    calib = run.calibration()
    if run.precision != "int8":
        run.report.calibration = None  # only onnx2tf's sample file, which FP32/FP16 do not depend on
    run.step(f"onnx2tf {run.precision}")
    produced = onnx2tflite(normed, run.out, src.input_name, (run.precision,), calib, io_dtype=run.opts.io_dtype)
    artifact = produced[run.precision].replace(run.artifact(run.precision, "litert"))
    run.report.converter = "onnx2tf + TensorFlow Lite converter"
    a = run.score(artifact, f"tflite-{run.precision}", box_scale)
    run.report.attempts = [a]
    run.apply(a)
    return artifact
