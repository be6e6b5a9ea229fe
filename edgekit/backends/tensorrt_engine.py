"""What both the TensorRT backend and the engine builder need: the lazy ``tensorrt`` import, the JSON sidecar, the
files next to an engine and whether an engine must be (re)built on this device.

An engine file is the plain serialized engine (no bytes prepended, unlike Ultralytics' ``.engine``); what a reader
needs to know (input size, precision, labels, box scale, TensorRT version, GPU) goes to ``<engine>.json``. An engine
only loads with the TensorRT version and GPU that built it, so bundles carry the ONNX and the board builds the engine
at its first start (``edgekit.backends.tensorrt_build.ensure_engine``), with a timing cache next to it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgekit.backends.cudart import load_cudart
from edgekit.backends.tensorrt_version import tensorrt_version
from edgekit.errors import EdgekitError, MissingDependencyError

log = logging.getLogger(__name__)

TENSORRT_HINT = (
    "TensorRT ships with JetPack on a Jetson; on a desktop NVIDIA GPU `pip install 'edgekit[tensorrt]'` "
    "(needs NVIDIA's package index and a CUDA driver)"
)


def import_tensorrt() -> Any:
    """The ``tensorrt`` module, or a one-line error saying how to get it (or that it is older than 8.5)."""
    try:
        import tensorrt as trt
    except ImportError as e:
        raise MissingDependencyError("TensorRT (python module 'tensorrt')", TENSORRT_HINT) from e
    if not hasattr(trt, "Builder"):  # the bindings-only wheels import but have no libnvinfer
        raise MissingDependencyError("TensorRT's runtime library (libnvinfer)", TENSORRT_HINT)
    tensorrt_version(str(trt.__version__))
    return trt


@dataclass
class EngineSidecar:
    """The JSON written next to an engine."""

    source: str
    precision: str
    imgsz: int
    labels: list[str]
    box_scale: float = 1.0
    dynamic_batch: bool = False
    max_batch: int = 1
    workspace_mb: int = 1024
    tensorrt: str = ""
    gpu: str = ""
    build_seconds: float = 0.0
    inputs: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)

    def write(self, engine: Path) -> Path:
        path = sidecar_path(engine)
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path


def sidecar_path(engine: Path) -> Path:
    """``model.engine`` → ``model.engine.json``."""
    return engine.with_name(engine.name + ".json")


def read_sidecar(engine: Path) -> EngineSidecar | None:
    """The sidecar of ``engine``, or ``None`` when there is none; a malformed one is an error."""
    path = sidecar_path(engine)
    if not path.is_file():
        return None
    try:
        return EngineSidecar(**json.loads(path.read_text()))
    except (ValueError, TypeError) as e:
        raise EdgekitError(f"invalid engine sidecar {path}: {e}") from e


def timing_cache_path(engine: Path) -> Path:
    """``model.engine`` → ``model.timing.cache``: the builder's kernel timings, reused by the next build here."""
    return engine.with_suffix(".timing.cache")


def gpu_name(device: int = 0) -> str:
    """The name of CUDA device ``device``, or "" when the CUDA runtime cannot tell (none here, no GPU, no driver)."""
    try:
        return load_cudart().device_name(device)
    except EdgekitError:
        return ""


def rebuild_reason(engine: Path, tensorrt_version: str, gpu: str = "") -> str | None:
    """Why ``engine`` must be built (again) here, or ``None`` when it was built by this TensorRT on this GPU.

    ``gpu`` "" (unknown) is not compared. An engine without its sidecar cannot say what built it: rebuilt.
    """
    if not engine.is_file():
        return "no engine yet"
    try:
        side = read_sidecar(engine)
    except EdgekitError:
        side = None
    if side is None or not side.tensorrt:
        return "the engine has no sidecar saying which TensorRT built it"
    if side.tensorrt != tensorrt_version:
        return f"the engine was built by TensorRT {side.tensorrt}, this is TensorRT {tensorrt_version}"
    if gpu and side.gpu and side.gpu != gpu:
        return f"the engine was built for {side.gpu}, this GPU is {gpu}"
    return None


def first_start_message(onnx: Path, engine: Path, precision: str, reason: str) -> str:
    """The log line of an engine build at start-up (it takes minutes; the service looks hung without it)."""
    cache = timing_cache_path(engine)
    again = "reused" if cache.is_file() else "written"
    return (f"building the TensorRT {precision.upper()} engine for this device ({reason}): {onnx} → {engine}; "
            f"this takes minutes once, later starts load it (timing cache {cache} {again})")
