"""The ``tensorrt`` target: an engine from the FP32 ONNX (FP16/FP32) or from the QDQ ONNX that passed the INT8 gate."""

from __future__ import annotations

from pathlib import Path

from edgekit.backends.tensorrt_build import onnx2engine
from edgekit.backends.tensorrt_engine import import_tensorrt
from edgekit.errors import EdgekitError, MissingDependencyError
from edgekit.export import build_onnx
from edgekit.export.run import ExportRun


def _stand_in(run: ExportRun) -> Path:
    """The gated ONNX at the engine's precision: what the engine is built from, and what an emulated profile runs."""
    return build_onnx.build(run)


def build(run: ExportRun) -> Path:
    """A TensorRT engine with its JSON sidecar, scored by the gate when there is a validation set."""
    try:
        import_tensorrt()  # fail in one line before any calibration work
    except MissingDependencyError as e:
        if not run.opts.stand_in:
            raise
        run.report.skipped.append(f"{e} (build the engine on the board: the same command there)")
        run.report.converter = "onnxslim + onnxruntime (stand-in for the TensorRT engine)"
        return _stand_in(run)
    onnx_src = run.base
    if run.precision == "int8":
        onnx_src = build_onnx.int8(run)
        if not run.report.passed:
            raise EdgekitError("no INT8 ONNX passed the accuracy gate; not building an INT8 engine from it")
    out = run.artifact(run.precision, "tensorrt")
    run.step(f"tensorrt {run.precision}")
    onnx2engine(
        onnx_src,
        out,
        precision=run.precision,
        imgsz=run.imgsz,
        labels=run.source.labels,
        workspace_mb=run.opts.workspace_mb,
        dynamic_batch=run.opts.dynamic,
    )
    run.report.converter = (
        "TensorRT builder (explicit quantization from QDQ)" if run.precision == "int8" else "TensorRT builder"
    )
    if run.reference is not None:
        a = run.score(out, f"tensorrt-{run.precision}")
        run.report.attempts.append(a)
        run.apply(a)
    return out
