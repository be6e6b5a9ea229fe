"""The ``openvino`` target: an OpenVINO IR (``.xml`` + ``.bin``) from the FP32 ONNX, scored by the gate.

- ``fp32``: FP32 weights, run in f32;
- ``fp16``: FP16 weights (half the ``.bin``), decompressed and run in f32 on the CPU;
- ``bf16``: FP32 weights run in BF16, an inference-time precision of CPUs with AMX or AVX512-BF16. The IR carries
  it (``runtime_options`` in its ``rt_info``), so the gate scores what the board runs, but only on such a CPU: where
  OpenVINO runs it in f32 instead, the report says the BF16 check was not done here.

INT8 (NNCF post-training quantization) is not built yet.
"""

from __future__ import annotations

from pathlib import Path

from edgekit.backends.openvino import RT_INFO_PATH, bf16_capable, import_openvino
from edgekit.export.run import ExportRun

INFERENCE = {"fp32": "f32", "fp16": "f32", "bf16": "bf16"}
"""The inference precision each leg's IR asks the CPU plugin for."""


def build(run: ExportRun) -> Path:
    """The IR at ``run.precision`` next to its ``.bin``, gated against the FP32 source."""
    ov = import_openvino()
    out = run.artifact(run.precision, "openvino")
    run.step(f"openvino {run.precision}")
    model = ov.convert_model(str(run.base))
    model.set_rt_info(INFERENCE[run.precision], RT_INFO_PATH)
    # save_model compresses weights to FP16 unless told not to: only the fp16 leg wants that.
    ov.save_model(model, str(out), compress_to_fp16=run.precision == "fp16")
    weights = out.with_suffix(".bin")
    runs_as = INFERENCE[run.precision]
    if runs_as == "bf16" and not bf16_capable(ov.Core()):
        runs_as = "f32"
        run.report.skipped.append(
            "BF16 inference not checked: this CPU has no AMX/AVX512-BF16, so OpenVINO ran the IR in f32 and the "
            "gate scored that; export again on the target CPU to gate BF16 itself"
        )
    run.report.converter = f"OpenVINO {ov.__version__} (convert_model + save_model)"
    run.report.extra.update({"weights": str(weights), "inference_precision": runs_as})
    run.report.notes.append(f"the IR is {out.name} with its weights in {weights.name}: copy both")
    a = run.score(out, f"openvino-{run.precision}")
    a.note = f"inference precision {runs_as}"
    run.report.attempts = [a]
    run.apply(a)
    return out
