"""Ultralytics ``.pt`` → FP32 ONNX through the ``ultralytics`` package, offline (optional ``[export]`` path)."""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

from edgekit.errors import EdgekitError, MissingDependencyError
from edgekit.export.pt_screen import screen_checkpoint

log = logging.getLogger(__name__)


def pt2onnx(pt: Path, out: Path, imgsz: int = 640, opset: int = 13, dynamic: bool = False) -> Path:
    """Export an Ultralytics checkpoint to ONNX at ``imgsz`` (no NMS) and move it to ``out``.

    A ``.pt`` is a pickle: loading it can run code. It is screened first (``pt_screen``: model classes only) and
    a warning says so, once, before anything reads it. Ultralytics may try to pip-install or download on its own;
    ``YOLO_OFFLINE`` and disabled auto-install keep it offline, and a failure is reported rather than retried with
    a download.
    """
    if not pt.is_file():
        raise EdgekitError(f"model file not found: {pt}")
    log.warning("%s is a PyTorch pickle, and loading one can run code: use .pt files only from a source you trust "
                "(an .onnx file cannot run code)", pt)
    os.environ.setdefault("YOLO_OFFLINE", "1")
    try:
        from ultralytics import YOLO
        from ultralytics.utils import SETTINGS
    except ImportError as e:
        raise MissingDependencyError(
            "ultralytics (needed to read .pt checkpoints)",
            "install it in a separate venv (see scripts/install_export.sh), export to ONNX there, "
            "then pass the .onnx file",
        ) from e
    SETTINGS.update({"sync": False})
    with tempfile.TemporaryDirectory(prefix="edgekit-pt-") as tmp:
        local = Path(tmp) / pt.name  # screened and loaded from one private copy: it cannot change in between
        shutil.copyfile(pt, local)
        screen_checkpoint(local)
        try:
            model = YOLO(str(local))
            exported = model.export(format="onnx", imgsz=imgsz, opset=opset, dynamic=dynamic, simplify=False)
        except Exception as e:  # ultralytics raises many types; the first line names the problem
            raise EdgekitError(f"ultralytics could not export {pt} to ONNX: {str(e).splitlines()[0][:300]}") from e
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(exported), out)
    log.info("exported %s -> %s", pt, out)
    return out
