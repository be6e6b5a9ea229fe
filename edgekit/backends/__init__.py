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
from edgekit.backends.runtimes import RUNTIMES, Runtime, get_runtime, runtime_for_file
from edgekit.backends.threads import check_cpus, pinned
from edgekit.errors import EdgekitError

__all__ = [
    "BACKENDS",
    "RUNTIMES",
    "Backend",
    "BackendOptions",
    "Runtime",
    "TensorSpec",
    "backend_for_suffix",
    "get_runtime",
    "open_backend",
    "runtime_for_file",
]

# Backend implementation name -> ``module:Class``, derived from the runtime table.
BACKENDS: dict[str, str] = {rt.backend: rt.loader for rt in RUNTIMES.values()}


def backend_for_suffix(path: str | Path) -> str:
    """Backend implementation name for a model file, by its name (see ``runtime_for_file``)."""
    return runtime_for_file(path).backend


def open_backend(
    path: str | Path, options: BackendOptions | None = None, backend: str | None = None
) -> Backend:
    """Load ``path`` with the backend for its file type (or the one named). With ``options.affinity`` the model is
    loaded on those CPUs, so the worker threads a runtime starts at load (ONNX Runtime's pool) inherit them."""
    path = Path(path)
    if not path.is_file():
        raise EdgekitError(f"model file not found: {path}")
    name = backend or backend_for_suffix(path)
    if name not in BACKENDS:
        raise EdgekitError(f"unknown backend {name!r}; known: {', '.join(BACKENDS)}")
    module_name, cls_name = BACKENDS[name].split(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    options = options or BackendOptions()
    if options.affinity is not None:
        try:
            check_cpus(options.affinity)
        except ValueError as e:
            raise EdgekitError(f"cannot open {path}: {e}") from None
    with pinned(options.affinity):
        be: Backend = cls(path, options)
    return be
