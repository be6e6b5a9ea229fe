"""What a loaded detector really runs (model file, input size, precision, backend, providers, substitutions)."""

from __future__ import annotations

from edgekit.contract.stats import RuntimeInfo
from edgekit.vision.detector import Detector


def runtime_info(det: Detector) -> RuntimeInfo:
    """What a loaded detector really runs: its plan (model file, precision, backend, substitutions) and input."""
    plan = det.plan
    providers = list(getattr(det.backend, "providers", None) or (plan.options.providers if plan else None) or ())
    return RuntimeInfo(
        model=str(plan.model_path) if plan else "", input_size=det.input_hw,
        precision=plan.precision if plan else "", backend=plan.backend if plan else getattr(det.backend, "name", ""),
        providers=providers, substitutions=list(plan.substitutions) if plan else [],
        tuned=plan.tuned if plan else "",
    )


def describe_runtime(cam_id: str, r: RuntimeInfo) -> str:
    """The start-up line that says what a camera runs.

    >>> describe_runtime("gate", RuntimeInfo(model="m.onnx", input_size=(640, 640), precision="fp32",
    ...                                      backend="onnxruntime", providers=["CPUExecutionProvider"]))
    'camera gate runs m.onnx at 640x640 fp32 on onnxruntime [CPUExecutionProvider]; no substitution'
    """
    size = "x".join(map(str, r.input_size)) if r.input_size else "?"
    subs = "; substitutions: " + " | ".join(r.substitutions) if r.substitutions else "; no substitution"
    tuned = f"; {r.tuned}" if r.tuned else ""
    return (f"camera {cam_id} runs {r.model} at {size} {r.precision} on {r.backend} "
            f"[{', '.join(r.providers)}]{subs}{tuned}")
