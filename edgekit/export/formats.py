"""One table of export targets: suffix, precisions, what each needs, and which converter builds it.

Like Ultralytics' ``export_formats()``: the CLI validates ``--to``/``--precision`` against it, recipes and
profiles map onto it, and the report names the converter used.
"""

from __future__ import annotations

from dataclasses import dataclass

from edgekit.device.profiles import DeviceProfile
from edgekit.errors import EdgekitError

Precision = str  # "fp32" | "fp16" | "int8"


@dataclass(frozen=True, slots=True)
class ExportFormat:
    """One export target."""

    name: str
    suffix: str
    precisions: tuple[str, ...]
    converter: str
    """``module:function`` that builds it (see the ``src2dst`` modules in this package)."""
    needs: str
    """Python module (or program) the converter needs, for the missing-dependency hint."""
    gpu: bool = False


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat("onnx", ".onnx", ("fp32", "fp16", "int8"), "edgekit.export.onnx2onnx", "onnx"),
        ExportFormat("tflite", ".tflite", ("fp32", "fp16", "int8"), "edgekit.export.onnx2tflite", "onnx2tf"),
        ExportFormat("edgetpu", "_edgetpu.tflite", ("int8",), "edgekit.export.tflite2edgetpu", "edgetpu_compiler"),
        ExportFormat(
            "tensorrt", ".engine", ("fp16", "int8", "fp32"), "edgekit.export.onnx2engine", "tensorrt", gpu=True
        ),
    )
}

# A profile's runtime backend -> the export target that backend runs.
BACKEND_TO_FORMAT = {"onnxruntime": "onnx", "litert": "tflite", "edgetpu": "edgetpu", "tensorrt": "tensorrt"}


def get_format(name: str) -> ExportFormat:
    """The format called ``name``; an unknown name lists the valid ones."""
    fmt = FORMATS.get(name.lower().strip())
    if fmt is None:
        raise EdgekitError(f"unknown export target {name!r}; choose one of: {', '.join(FORMATS)}")
    return fmt


def check_precision(fmt: ExportFormat, precision: str) -> str:
    """``precision`` normalised, or a clear error when the target cannot produce it."""
    p = precision.lower().strip()
    if p not in fmt.precisions:
        raise EdgekitError(
            f"target {fmt.name} does not support precision {precision!r}; choose one of: {', '.join(fmt.precisions)}"
        )
    return p


def target_for_profile(profile: DeviceProfile) -> tuple[ExportFormat, str]:
    """The export format and precision a device profile runs."""
    fmt = get_format(BACKEND_TO_FORMAT[profile.runtime.backend])
    return fmt, check_precision(fmt, profile.runtime.precision)
