"""One table of export targets: which runtime runs the result, precisions, what the build needs, which module
builds it, and whether it needs the board's GPU.

Like Ultralytics' ``export_formats()``: the CLI validates ``--to``/``--precision`` against it, profiles map onto it
through the runtime table (``edgekit.backends.runtimes``), ``export()`` checks ``needs`` before any slow work and
dispatches to ``builder``'s ``build(run)``, and the report names ``converter``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgekit.backends.runtimes import RUNTIMES, get_runtime
from edgekit.device.profiles import DeviceProfile
from edgekit.errors import EdgekitError

if TYPE_CHECKING:
    from edgekit.export.run import ExportRun


@dataclass(frozen=True, slots=True)
class ExportFormat:
    """One export target."""

    name: str
    runtime: str
    """The ``RUNTIMES`` entry that runs the artifact (gives its file suffix)."""
    precisions: tuple[str, ...]
    builder: str
    """Module whose ``build(run: ExportRun) -> Path`` makes the artifact."""
    converter: str
    """What converts it, as the report names it."""
    needs: str
    """``module:function`` that raises a one-line ``MissingDependencyError`` when the converter is absent."""
    gpu: bool = False
    """Built on the board itself (engines are tied to its GPU and TensorRT version)."""
    int8_by_converter: bool = False
    """The converter quantizes INT8 itself (onnx2tf on its own 20-frame calibration sample) instead of edgekit's
    ONNX Runtime quantizer. Then the weight width is the converter's, not chosen per target CPU, and small
    calibration sets are not topped up with shipped frames (``calib_topup``): with shipped frames in onnx2tf's
    sample the full-integer rung at 320 failed the gate where the user's own 11 frames pass (CI, 2026-11-26)."""

    @property
    def suffix(self) -> str:
        return get_runtime(self.runtime).suffix

    def check_needs(self) -> None:
        """Fail in one line, before any slow work, when this target's converter is not installed here."""
        _load(self.needs)()

    def build(self, run: ExportRun) -> Path:
        """Build this target's artifact for ``run`` (see the ``build_*`` modules)."""
        fn: Callable[[ExportRun], Path] = _load(f"{self.builder}:build")
        return fn(run)


def _load(ref: str) -> Any:
    module, name = ref.split(":")
    return getattr(importlib.import_module(module), name)


FORMATS: dict[str, ExportFormat] = {
    f.name: f
    for f in (
        ExportFormat(
            "onnx",
            "onnxruntime",
            ("fp32", "fp16", "int8"),
            "edgekit.export.build_onnx",
            "onnxslim + onnxruntime",
            "edgekit.export.onnx2onnx:check_installed",
        ),
        ExportFormat(
            "tflite",
            "litert",
            ("fp32", "fp16", "int8"),
            "edgekit.export.build_tflite",
            "onnx2tf + TensorFlow Lite converter",
            "edgekit.export.onnx2tflite:check_installed",
            int8_by_converter=True,
        ),
        ExportFormat(
            "edgetpu",
            "edgetpu",
            ("int8",),
            "edgekit.export.build_edgetpu",
            "onnx2tf + TensorFlow Lite converter + edgetpu_compiler",
            "edgekit.export.onnx2tflite:check_installed",  # the compiler is checked at its own step, after the gate
            int8_by_converter=True,
        ),
        ExportFormat(
            "tensorrt",
            "tensorrt",
            ("fp16", "int8", "fp32"),
            "edgekit.export.build_tensorrt",
            "TensorRT builder",
            "edgekit.backends.tensorrt_engine:import_tensorrt",
            gpu=True,
        ),
        ExportFormat(
            "openvino",
            "openvino",
            ("fp32", "fp16", "bf16", "int8"),
            "edgekit.export.build_openvino",
            "OpenVINO (convert_model + save_model; INT8: NNCF)",
            "edgekit.export.openvino_int8:check_installed",
        ),
        ExportFormat(
            "ncnn",
            "ncnn",
            ("fp32", "fp16"),
            "edgekit.export.build_ncnn",
            "pnnx (ONNX → ncnn)",
            "edgekit.export.onnx2ncnn:check_installed",
        ),
    )
}


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


def format_for_runtime(runtime: str) -> ExportFormat:
    """The export target that builds models for ``runtime``."""
    return get_format(RUNTIMES[runtime].target)


def target_for_profile(profile: DeviceProfile) -> tuple[ExportFormat, str]:
    """The export format and precision a device profile runs."""
    fmt = format_for_runtime(profile.runtime.backend)
    return fmt, check_precision(fmt, profile.runtime.precision)
