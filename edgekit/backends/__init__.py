"""Inference backends behind one protocol, chosen by model file type and imported lazily.

Examples:
    >>> from edgekit.backends import open_backend
    >>> be = open_backend("models/yolov8s-fall.onnx")  # doctest: +SKIP
    >>> [o.shape for o in be.outputs]  # doctest: +SKIP
    [(1, 6, 8400)]
"""

from __future__ import annotations

import importlib
from pathlib import Path

from edgekit.backends.base import Backend, BackendOptions, TensorSpec
from edgekit.errors import EdgekitError

__all__ = ["BACKENDS", "Backend", "BackendOptions", "TensorSpec", "backend_for_suffix", "open_backend"]

# name -> (module:class, file suffixes). Classes take (path: Path, options: BackendOptions).
BACKENDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "onnxruntime": ("edgekit.backends.onnxruntime:OnnxRuntimeBackend", (".onnx",)),
    "litert": ("edgekit.backends.litert:LiteRTBackend", (".tflite",)),
    "tensorrt": ("edgekit.backends.tensorrt:TensorRTBackend", (".engine", ".plan")),
}


def backend_for_suffix(path: str | Path) -> str:
    """Backend name for a model file, by its suffix."""
    suffix = Path(path).suffix.lower()
    for name, (_, suffixes) in BACKENDS.items():
        if suffix in suffixes:
            return name
    known = ", ".join(s for _, ss in BACKENDS.values() for s in ss)
    raise EdgekitError(f"unsupported model file type {suffix or '(none)'!r} for {path}; known: {known}")


def open_backend(
    path: str | Path, options: BackendOptions | None = None, backend: str | None = None
) -> Backend:
    """Load ``path`` with the backend for its file type (or the one named)."""
    path = Path(path)
    if not path.is_file():
        raise EdgekitError(f"model file not found: {path}")
    name = backend or backend_for_suffix(path)
    if name not in BACKENDS:
        raise EdgekitError(f"unknown backend {name!r}; known: {', '.join(BACKENDS)}")
    target = BACKENDS[name][0]
    module_name, cls_name = target.split(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    be: Backend = cls(path, options or BackendOptions())
    return be
