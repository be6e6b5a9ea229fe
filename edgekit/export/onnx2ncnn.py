"""ONNX → ncnn (``.ncnn.param`` + ``.ncnn.bin``) with pnnx, Tencent's converter, run as a subprocess.

PyPI's ``pnnx`` wheel ships the converter as one static binary. The wheel declares ``torch`` (for its TorchScript
helpers, which ``import pnnx`` loads), but the binary converts ONNX on its own: install it with
``pip install --no-deps pnnx`` and it is found here without importing the package.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import logging
import os
import subprocess
import tempfile
from pathlib import Path

from edgekit.errors import EdgekitError, MissingDependencyError

log = logging.getLogger(__name__)

INSTALL = "pip install --no-deps 'pnnx>=20261020' (its declared torch is not needed to convert ONNX)"
TIMEOUT_S = 900


def pnnx_binary() -> Path:
    """The pnnx executable: ``$EDGEKIT_PNNX``, else the one inside the installed ``pnnx`` package (found without
    importing it, which would import torch)."""
    env = os.environ.get("EDGEKIT_PNNX")
    if env:
        path = Path(env)
    else:
        spec = importlib.util.find_spec("pnnx")
        folders = list(spec.submodule_search_locations or []) if spec is not None else []
        if not folders:
            raise MissingDependencyError("the ONNX → ncnn converter (pnnx)", INSTALL)
        path = Path(folders[0]) / "pnnx"
    if not (path.is_file() and os.access(path, os.X_OK)):
        raise MissingDependencyError(f"the ONNX → ncnn converter (pnnx at {path})", INSTALL)
    return path


def check_installed() -> None:
    """A one-line error unless both the converter (pnnx) and the runtime it is gated on (ncnn) are here."""
    pnnx_binary()
    from edgekit.backends.ncnn import import_ncnn

    import_ncnn()


def version() -> str:
    """The installed pnnx version (its release date), or ``unknown`` for a binary named by ``$EDGEKIT_PNNX``."""
    try:
        return importlib.metadata.version("pnnx")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def onnx2ncnn(src: Path, param: Path, imgsz: int, fp16: bool) -> Path:
    """Convert ``src`` (a fixed-size NCHW ONNX) to ``param`` and its ``.bin``: FP16 or FP32 weights.

    pnnx writes eight files (its own graph, Python and ONNX round trips, a simplified copy next to its input): all
    but the ncnn pair go to a temporary folder, where it reads ``src`` through a link. The Input layer then gets its
    shape (``0=w 1=h 2=c``), which the ncnn backend reads, since a ``.param`` has no other place for it.
    """
    exe = pnnx_binary()
    weights = param.with_suffix(".bin")
    param.parent.mkdir(parents=True, exist_ok=True)  # pnnx exits 0 when it cannot write its output
    with tempfile.TemporaryDirectory(prefix="pnnx-") as tmp:
        t = Path(tmp)
        link = t / "m.onnx"
        link.symlink_to(src.resolve())
        side = {k: t / f"m.{k}" for k in ("pnnxparam", "pnnxbin", "pnnxpy", "pnnxonnx", "ncnnpy")}
        argv = [str(exe), str(link), f"inputshape=[1,3,{imgsz},{imgsz}]f32", f"fp16={int(fp16)}",
                f"ncnnparam={param.resolve()}", f"ncnnbin={weights.resolve()}",
                *(f"{k}={v}" for k, v in side.items())]
        try:
            r = subprocess.run(argv, cwd=t, capture_output=True, text=True, timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            raise EdgekitError(f"pnnx did not finish converting {src} in {TIMEOUT_S} s") from None
    if r.returncode != 0 or not param.is_file() or not weights.is_file():
        tail = [ln for ln in (r.stderr + r.stdout).splitlines() if ln.strip()][-1:] or ["no output"]
        raise EdgekitError(f"pnnx could not convert {src} to ncnn (exit {r.returncode}): {tail[0][:300]}")
    log.info("pnnx %s: %s → %s", version(), src.name, param.name)
    set_input_shape(param, (3, imgsz, imgsz))
    return param


def set_input_shape(param: Path, chw: tuple[int, int, int]) -> None:
    """Write ``0=w 1=h 2=c`` on the graph's one Input layer (ncnn's own shape hint for it)."""
    lines = param.read_text().splitlines()
    inputs = [i for i, ln in enumerate(lines[2:], start=2) if ln.split()[:1] == ["Input"]]
    if len(inputs) != 1:
        raise EdgekitError(f"{param}: expected one Input layer, found {len(inputs)}")
    i = inputs[0]
    keep = [p for p in lines[i].split() if not p.startswith(("0=", "1=", "2="))]
    c, h, w = chw
    lines[i] = " ".join([*keep, f"0={w}", f"1={h}", f"2={c}"])
    param.write_text("\n".join(lines) + "\n")
