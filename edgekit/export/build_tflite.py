"""The ``tflite`` target: onnx2tf at FP32/FP16/full INT8, boxes normalised inside the model, scored by the gate.

Full INT8 goes through a ladder like the ONNX one, cheapest first, every attempt in the report; the first that
passes the gate is the artifact (and what the Edge TPU step compiles):

1. ``tflite-int8-full``: integer ops with int8 input and output (what Coral's examples use);
2. ``tflite-int8-float-io``: the same integer body with float32 input and output, so the output's one scale no
   longer rounds the 0..1 scores next to 0..1 boxes (written by the same onnx2tf run, no extra conversion);
3. ``tflite-int8-per-tensor``: one weight scale per tensor instead of per channel (another onnx2tf run; older Edge
   TPU compilers map only per-tensor weights).
"""

from __future__ import annotations

import logging
from pathlib import Path

from edgekit.export.onnx2tflite import normalize_boxes, onnx2tflite
from edgekit.export.report import Attempt
from edgekit.export.run import ExportRun

log = logging.getLogger(__name__)

# (attempt name, onnx2tflite output key, weight quantization)
INT8_LADDER = (
    ("tflite-int8-full", "int8", "per-channel"),
    ("tflite-int8-float-io", "int8-float-io", "per-channel"),
    ("tflite-int8-per-tensor", "int8", "per-tensor"),
)


def build(run: ExportRun) -> Path:
    """TFLite at ``run.precision`` (boxes normalised to 0..1 so full INT8 keeps its scores), scored by the gate."""
    src = run.source
    normed = run.out / f"{run.stem}-{run.imgsz}_tflite_src.onnx"
    box_scale = float(src.imgsz) if normalize_boxes(run.base, normed, src.imgsz) else 1.0
    if box_scale == 1.0:
        normed = run.base
        run.report.notes.append("output head not recognised: boxes left in pixels (full INT8 may lose its scores)")
    run.report.box_scale = box_scale
    run.report.converter = "onnx2tf + TensorFlow Lite converter"
    if run.precision == "int8":
        return _int8(run, normed, box_scale)
    calib = run.calibration()
    run.report.calibration = None  # only onnx2tf's sample file, which FP32/FP16 do not depend on
    run.step(f"onnx2tf {run.precision}")
    produced = onnx2tflite(normed, run.out, src.input_name, (run.precision,), calib, io_dtype=run.opts.io_dtype)
    artifact = produced[run.precision].replace(run.artifact(run.precision, "litert"))
    a = run.score(artifact, f"tflite-{run.precision}", box_scale)
    run.report.attempts = [a]
    run.apply(a)
    return artifact


def _int8(run: ExportRun, normed: Path, box_scale: float) -> Path:
    calib = run.calibration()
    final = run.artifact("int8", "litert")
    attempts: list[Attempt] = []
    files: list[Path] = []
    chosen: Attempt | None = None
    for name, key, quant_type in INT8_LADDER:
        run.step(f"onnx2tf {name}")
        cand = onnx2tflite(
            normed, run.out, run.source.input_name, (key,), calib, io_dtype=run.opts.io_dtype, quant_type=quant_type
        )[key]
        a = run.score(cand, name, box_scale)
        a.note = f"{quant_type} weights, {'float32' if key.endswith('float-io') else run.opts.io_dtype} IO"
        attempts.append(a)
        files.append(cand)
        log.info("%s: mAP50-95 %s (drop %s), passed=%s", name, a.accuracy, a.map_drop, a.passed)
        if a.passed:
            a.artifact = str(cand.replace(final))
            chosen = a
            break
    else:
        scores = [a.accuracy.map50_95 if a.accuracy is not None else -1.0 for a in attempts]
        best = scores.index(max(scores))
        failed = final.with_name(final.stem + ".FAILED.tflite")
        chosen = attempts[best]
        chosen.artifact = str(files[best].replace(failed))
        run.report.notes.append("no INT8 attempt passed the gate; the best candidate is kept as *.FAILED.tflite")
        final = failed
    for f in files:  # candidates that were not kept (their conversions stay in the onnx2tf folders)
        f.unlink(missing_ok=True)
    for a in attempts:
        if a.artifact is None or not Path(a.artifact).is_file():
            a.artifact = None
    run.report.attempts = attempts
    run.apply(chosen)
    return final
