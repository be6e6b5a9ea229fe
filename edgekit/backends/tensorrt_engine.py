"""What both the TensorRT backend and the engine builder need: the lazy ``tensorrt`` import and the JSON sidecar.

An engine file is the plain serialized engine (no bytes prepended, unlike Ultralytics' ``.engine``); what a reader
needs to know (input size, precision, labels, box scale, TensorRT version, GPU) goes to ``<engine>.json``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from edgekit.errors import EdgekitError, MissingDependencyError

log = logging.getLogger(__name__)

TENSORRT_HINT = (
    "TensorRT ships with JetPack on a Jetson; on a desktop NVIDIA GPU `pip install 'edgekit[tensorrt]'` "
    "(needs NVIDIA's package index and a CUDA driver)"
)


def import_tensorrt() -> Any:
    """The ``tensorrt`` module, or a one-line error saying how to get it."""
    try:
        import tensorrt as trt
    except ImportError as e:
        raise MissingDependencyError("TensorRT (python module 'tensorrt')", TENSORRT_HINT) from e
    if not hasattr(trt, "Builder"):  # the bindings-only wheels import but have no libnvinfer
        raise MissingDependencyError("TensorRT's runtime library (libnvinfer)", TENSORRT_HINT)
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
