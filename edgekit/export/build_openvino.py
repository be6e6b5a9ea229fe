"""The ``openvino`` target: an OpenVINO IR (``.xml`` + ``.bin``) from the FP32 ONNX, scored by the gate.

- ``fp32``: FP32 weights, run in f32;
- ``fp16``: FP16 weights (half the ``.bin``), decompressed and run in f32 on the CPU;
- ``bf16``: FP32 weights run in BF16, an inference-time precision of CPUs with AMX or AVX512-BF16. The IR carries
  it (``runtime_options`` in its ``rt_info``), so the gate scores what the board runs, but only on such a CPU: where
  OpenVINO runs it in f32 instead, the report says the BF16 check was not done here;
- ``int8``: NNCF post-training quantization of the FP32 IR on the calibration frames (``openvino_int8``), the
  head's decode tail in float (then also each head branch's last layers, the gate's second rung); a model that
  fails both is kept as ``*.FAILED.xml``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgekit.backends.openvino import RT_INFO_PATH, bf16_capable, import_openvino
from edgekit.device.cpu import host_cpu
from edgekit.export import openvino_int8
from edgekit.export.report import Int8Weights
from edgekit.export.run import ExportRun

INFERENCE = {"fp32": "f32", "fp16": "f32", "bf16": "bf16", "int8": "f32"}
"""The inference precision each leg's IR asks the CPU plugin for (INT8 layers run in INT8 whatever it says; the
float ones left in the graph run in f32)."""


def build(run: ExportRun) -> Path:
    """The IR at ``run.precision`` next to its ``.bin``, gated against the FP32 source."""
    ov = import_openvino()
    out = run.artifact(run.precision, "openvino")
    run.step(f"openvino {run.precision}")
    if run.precision == "int8":
        return _int8(run, out)
    model = ov.convert_model(str(run.base))
    weights = _save(run, model, out)
    runs_as = INFERENCE[run.precision]
    if runs_as == "bf16" and not bf16_capable(ov.Core()):
        runs_as = "f32"
        run.report.skipped.append(
            "BF16 inference not checked: this CPU has no AMX/AVX512-BF16, so OpenVINO ran the IR in f32 and the "
            "gate scored that; export again on the target CPU to gate BF16 itself"
        )
    run.report.converter = f"OpenVINO {ov.__version__} (convert_model + save_model)"
    run.report.extra.update({"weights": str(weights), "inference_precision": runs_as})
    a = run.score(out, f"openvino-{run.precision}")
    a.note = f"inference precision {runs_as}"
    run.report.attempts = [a]
    run.apply(a)
    return out


def _save(run: ExportRun, model: Any, out: Path) -> Path:
    """Write the IR with the inference precision its leg asks for; returns its ``.bin``."""
    model.set_rt_info(INFERENCE[run.precision], RT_INFO_PATH)
    # save_model compresses weights to FP16 unless told not to: only the fp16 leg wants that.
    import_openvino().save_model(model, str(out), compress_to_fp16=run.precision == "fp16")
    weights = out.with_suffix(".bin")
    run.report.notes.append(f"the IR is {out.name} with its weights in {weights.name}: copy both")
    return weights


def _int8(run: ExportRun, out: Path) -> Path:
    """NNCF INT8 through the gate's ladder: the decode tail in float, then also each head branch's last layers.
    The first rung that passes is kept; if none does, the last one is kept as ``*.FAILED.xml``."""
    ov = import_openvino()
    calib = run.calibration()
    probe = ov.convert_model(str(run.base))
    tail = openvino_int8.decode_tail(probe)
    rungs = [("openvino-int8", tail), ("openvino-int8-head-float", tail + openvino_int8.head_ends(probe))]
    attempts = []
    for name, keep in rungs:
        run.step(f"openvino int8: NNCF calibration ({name})")
        q = openvino_int8.quantize(ov.convert_model(str(run.base)), calib, keep)
        weights = _save(run, q, out)
        a = run.score(out, name)
        a.note, a.nodes_in_float = "INT8, float nodes in f32", keep
        attempts.append(a)
        if a.passed:
            break
    r = run.report
    r.converter = (
        f"NNCF {openvino_int8.nncf_version()} post-training quantization (mixed preset: symmetric int8 weights, "
        f"asymmetric activations, full bias correction) on OpenVINO {ov.__version__}"
    )
    r.extra.update({"weights": str(weights), "inference_precision": "int8 (float nodes f32)"})
    r.int8_weights = Int8Weights(bits=8, reduce_range=False, cpu=host_cpu().name, why=openvino_int8.OVERFLOW_NOTE)
    if r.calibration is not None:
        r.calibration.method = "NNCF's own (min/max weights, activation ranges by its mixed preset)"
    r.notes = list(dict.fromkeys(r.notes))  # one "copy both" note however many rungs ran
    r.attempts = attempts
    run.apply(attempts[-1])
    return out if attempts[-1].passed else _failed(out, run)


def _failed(out: Path, run: ExportRun) -> Path:
    """Rename a failing INT8 IR (and its ``.bin``) to ``*.FAILED.xml`` so no plan picks it up."""
    failed = out.with_name(out.stem + ".FAILED.xml")
    out.replace(failed)
    out.with_suffix(".bin").replace(failed.with_suffix(".bin"))
    run.report.notes.append("the INT8 model did not pass the gate; it is kept as *.FAILED.xml")
    return failed
