"""The ``onnx`` target: FP32 (the simplified base), FP16 with float32 IO, or INT8 QDQ through the gate's ladder."""

from __future__ import annotations

from pathlib import Path

from edgekit.export import gate
from edgekit.export.onnx2onnx import onnx2onnx
from edgekit.export.run import ExportRun


def build(run: ExportRun) -> Path:
    """The ONNX artifact at ``run.precision``, scored by the gate when there is a validation set."""
    if run.precision == "fp32":
        if run.reference is not None:
            run.apply(run.score(run.base, "fp32"))
        return run.base
    if run.precision == "fp16":
        out = run.artifact("fp16", "onnxruntime")
        o = run.opts
        onnx2onnx(run.source.path, out, precision="fp16", opset=o.opset, dynamic=o.dynamic, simplify=o.simplify)
        run.apply(run.score(out, "fp16"))
        return out
    return int8(run)


def int8(run: ExportRun) -> Path:
    """INT8 QDQ ONNX: each attempt of the gate's ladder in the report; the passing model, else ``*.FAILED.onnx``."""
    calib = run.calibration()
    out = run.artifact("int8", "onnxruntime")
    o = run.opts
    reduce_range = o.reduce_range is not False  # unset (an ExportRun made outside export()): 7-bit, safe anywhere
    attempts = gate.gate_int8_onnx(
        run.gated(),
        run.base,
        out,
        run.source.input_name,
        calib,
        method=o.calib_method,
        reduce_range=reduce_range,
        max_map_drop=o.max_map_drop,
        progress=run.progress,
    )
    chosen = next((a for a in attempts if a.passed), None)
    final = chosen or attempts[-1]
    seven = final.note == gate.WEIGHTS_7BIT
    w = run.report.int8_weights
    if chosen is not None and seven and not reduce_range and w is not None:  # the gate's 7-bit fallback passed
        drops = [a.map_drop for a in attempts if a.note == gate.WEIGHTS_8BIT and a.map_drop is not None]
        w.bits, w.reduce_range = 7, True
        w.why = (
            f"7-bit weights: no 8-bit attempt passed the gate (smallest drop {min(drops, default=None)} points) and a "
            f"7-bit one did. 8-bit was tried first because {w.why.removeprefix('full 8-bit weights: ')}"
        )
    bits = "7-bit (reduce_range)" if seven else "8-bit"
    ranges = ", moving-average min/max ranges" if "-movavg" in final.name else ""
    run.report.converter = (
        f"onnxruntime.quantization (QDQ, per-channel, uint8 activations / {bits} int8 weights{ranges})"
    )
    run.report.attempts = attempts
    run.apply(final)
    if chosen is None:
        run.report.notes.append("no INT8 attempt passed the gate; the best candidate is kept as *.FAILED.onnx")
        return out.with_name(out.stem + ".FAILED.onnx")
    return out
