"""Screen an Ultralytics ``.pt`` before Ultralytics unpickles it: only model classes, no other code.

A ``.pt`` is a pickle, and a pickle can call any function while it loads. Ultralytics loads checkpoints with
``torch.load(weights_only=False)`` (its checkpoints hold whole ``nn.Module`` objects, which the weights-only loader
refuses by default), so it cannot be asked for ``weights_only=True``. Instead the file is loaded here first with
torch's weights-only unpickler, allowing only the globals a model checkpoint needs: ``nn.Module`` classes from
``torch.nn`` and ``ultralytics``, and numpy's scalar types. A file that asks for anything else (``os.system``,
``builtins.exec``, a class of another package) is refused before any of it runs. Ultralytics then loads the same
bytes (a private copy: the file cannot change in between).

What remains: the weights-only unpickler may call an allowed class with arguments the file chooses. The layer
classes only build layers; Ultralytics' model classes parse a model description (with ``ast.literal_eval`` in
current releases). So a ``.pt`` should still come from a source you trust; the warning says so.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from edgekit.errors import EdgekitError

# packages whose nn.Module subclasses a checkpoint may name: the model and its layers. Not the rest of ultralytics:
# its `YOLO`/`Model` classes are nn.Modules too, and calling one loads (or downloads) another file.
MODULE_PACKAGES = ("torch.nn.", "ultralytics.nn.")
# plain value types Ultralytics stores beside the model (training metrics as numpy scalars)
VALUE_TYPES = frozenset({
    "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar", "numpy.dtype",
    "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct", "numpy.ndarray",
})


def _allowed(name: str, torch: Any) -> Any | None:
    """The object ``name`` ("module.Class") stands for, or None when a checkpoint has no business naming it."""
    module, _, attr = name.rpartition(".")
    if name in VALUE_TYPES or (module.startswith("numpy.dtypes") and attr.endswith("DType")):
        pass
    elif not module.startswith(MODULE_PACKAGES):
        return None
    try:
        obj = getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError):
        return None
    if name in VALUE_TYPES or module.startswith("numpy.dtypes"):
        return obj
    return obj if isinstance(obj, type) and issubclass(obj, torch.nn.Module) else None


def screen_checkpoint(pt: Path) -> None:
    """Raise EdgekitError (one line) unless ``pt`` loads with torch's weights-only unpickler and model classes only."""
    try:
        import torch
    except ImportError:
        from edgekit.errors import MissingDependencyError

        raise MissingDependencyError("torch (needed to read .pt checkpoints)",
                                     "install ultralytics (it brings torch), or pass an .onnx file") from None
    try:
        names = torch.serialization.get_unsafe_globals_in_checkpoint(str(pt))
    except Exception as e:  # not a zip checkpoint, truncated...: torch's own message names the problem
        raise EdgekitError(f"{pt} is not a PyTorch checkpoint: {_first_line(e)}") from None
    allowed = []
    for name in names:
        obj = _allowed(name, torch)
        if obj is None:
            raise EdgekitError(f"{pt} asks to load {name}, which a model checkpoint does not need: refused, it "
                               "could run code (export it to ONNX where it was trained, and pass the .onnx)")
        allowed.append(obj)
    if any(n.startswith("numpy.") for n in names):  # a numpy scalar's dtype is rebuilt as its numpy.dtypes class
        dtypes = importlib.import_module("numpy.dtypes")
        allowed += [getattr(dtypes, n) for n in dir(dtypes) if n.endswith("DType")]
    try:
        with torch.serialization.safe_globals(allowed):
            torch.load(str(pt), map_location="cpu", weights_only=True)
    except Exception as e:  # the weights-only unpickler met something it does not allow
        raise EdgekitError(f"{pt} does not load as weights and model classes only: {_first_line(e)}") from None


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0][:200]
