"""The ``ncnn`` target: an ncnn graph (``.ncnn.param`` + ``.ncnn.bin``) from the FP32 ONNX by pnnx, scored by the gate.

- ``fp32``: FP32 weights, run in FP32 (ncnn's FP16 storage and arithmetic switched off);
- ``fp16``: FP16 weights (half the ``.bin``), run with ncnn's FP16 storage, and FP16 arithmetic where the CPU has it
  (ARMv8.2-A: a Pi 5's Cortex-A76, Orin's A78AE; not a Pi 4's A72, not x86, where it computes in FP32).

The gate runs the artifact in the ncnn backend, so it scores what the board runs (save the FP16 arithmetic, which
only an ARMv8.2 CPU does: the report says so when exported elsewhere).
"""

from __future__ import annotations

import platform
from pathlib import Path

from edgekit.export import onnx2ncnn
from edgekit.export.run import ExportRun

FP16_ARITHMETIC = ("aarch64", "arm64")
"""Machines whose ncnn build may compute in FP16 (when the CPU has ARMv8.2 half-precision arithmetic)."""


def build(run: ExportRun) -> Path:
    """The ncnn graph at ``run.precision`` next to its weights, gated against the FP32 source."""
    out = run.artifact(run.precision, "ncnn")
    run.step(f"ncnn {run.precision}")
    fp16 = run.precision == "fp16"
    onnx2ncnn.onnx2ncnn(run.base, out, run.imgsz, fp16=fp16)
    weights = out.with_suffix(".bin")
    run.report.converter = f"pnnx {onnx2ncnn.version()} (ONNX → ncnn)"
    run.report.extra.update({"weights": str(weights)})
    run.report.notes.append(f"the ncnn graph is {out.name} with its weights in {weights.name}: copy both")
    if fp16 and platform.machine().lower() not in FP16_ARITHMETIC:
        run.report.notes.append(
            "FP16 arithmetic not checked: ncnn computes in FP16 only on ARMv8.2 CPUs (Pi 5, Orin); here it stored "
            "FP16 and computed in FP32, and the gate scored that; export again on the board to gate it"
        )
    a = run.score(out, f"ncnn-{run.precision}")
    run.report.attempts = [a]
    run.apply(a)
    return out
