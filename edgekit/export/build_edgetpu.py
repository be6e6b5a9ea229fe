"""The ``edgetpu`` target: the gated full-INT8 TFLite, then Coral's ``edgetpu_compiler``."""

from __future__ import annotations

from pathlib import Path

from edgekit.errors import EdgekitError, MissingDependencyError
from edgekit.export import build_tflite
from edgekit.export.run import ExportRun
from edgekit.export.tflite2edgetpu import tflite2edgetpu


def build(run: ExportRun) -> Path:
    """Compile the INT8 TFLite that passed the gate; without the compiler here, say what to install (or, for a
    profile's stand-in, keep the gated TFLite that the emulated profile runs)."""
    tflite = build_tflite.build(run)
    if not run.report.passed:
        raise EdgekitError(f"the INT8 TFLite {tflite} failed the accuracy gate; not compiling it for the Edge TPU")
    try:
        res = tflite2edgetpu(tflite, run.out)
    except MissingDependencyError as e:
        if not run.opts.stand_in:
            raise
        run.report.skipped.append(str(e))
        return tflite
    run.report.converter += " + edgetpu_compiler"
    run.report.extra["edgetpu"] = {
        "tpu_ops": res.tpu_ops,
        "cpu_ops": res.cpu_ops,
        "cpu_op_names": list(res.cpu_op_names),
    }
    on_cpu = f": {'; '.join(res.cpu_op_names)}" if res.cpu_op_names else ""
    run.report.notes.append(
        f"Edge TPU: {res.tpu_ops} ops on the TPU, {res.cpu_ops} on the CPU{on_cpu} (the compiled model is not run "
        "here: no Edge TPU)"
    )
    return res.model
