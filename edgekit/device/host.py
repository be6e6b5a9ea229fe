"""What this machine is and which runtimes it can import: the facts emulation and `doctor` work from."""

from __future__ import annotations

import ctypes.util
import importlib.util
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

EDGETPU_USB_IDS = {("1a6e", "089a"), ("18d1", "9302")}  # Global Unichip (before firmware load), Google


def _read(path: Path) -> str:
    try:
        return path.read_bytes().replace(b"\x00", b"").decode(errors="replace").strip()
    except OSError:
        return ""


def _has_module(name: str) -> bool:
    """Whether ``name`` imports as a real package: an empty namespace (what the bindings-only ``tensorrt`` wheels
    leave behind) does not count."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return False
    return spec is not None and spec.origin not in (None, "namespace")


@dataclass(frozen=True)
class HostInfo:
    """A snapshot of the machine: board identity, cores, memory and importable runtimes."""

    board: str  # jetson, raspberry-pi, coral-devboard or desktop
    model: str
    cores: int
    ram_mb: int
    jetson_release: str = ""
    edgetpu: list[str] = field(default_factory=list)
    ort_providers: list[str] = field(default_factory=list)
    runtimes: dict[str, bool] = field(default_factory=dict)
    gstreamer: bool = False

    @property
    def has_cuda(self) -> bool:
        return "CUDAExecutionProvider" in self.ort_providers or self.runtimes.get("tensorrt", False)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def detect_board(root: Path = Path("/")) -> tuple[str, str, str, list[str]]:
    """(board kind, model string, Jetson L4T release line, Edge TPU findings) from the files under ``root``.

    ``$EDGEKIT_DEVICE_TREE_MODEL`` names a file read instead of ``/proc/device-tree/model`` (a container or an
    emulated root, where /proc is the host's).
    """
    model = _read(Path(os.environ.get("EDGEKIT_DEVICE_TREE_MODEL") or root / "proc/device-tree/model"))
    release = _read(root / "etc/nv_tegra_release").splitlines()
    tegra = release[0] if release else ""
    tpu: list[str] = []
    if (root / "dev/apex_0").exists():
        tpu.append("PCIe Edge TPU at /dev/apex_0")
    usb = root / "sys/bus/usb/devices"
    if usb.is_dir():
        for dev in sorted(usb.iterdir()):
            ids = (_read(dev / "idVendor").lower(), _read(dev / "idProduct").lower())
            if ids in EDGETPU_USB_IDS:
                tpu.append(f"USB Edge TPU {ids[0]}:{ids[1]} at {dev.name}")
    low = model.lower()
    if tegra or "jetson" in low or "nvidia" in low:
        kind = "jetson"
    elif "raspberry pi" in low:
        kind = "raspberry-pi"
    elif "phanbell" in low or "coral" in low:
        kind = "coral-devboard"
    else:
        kind = "desktop"
        cpu = [ln for ln in _read(root / "proc/cpuinfo").splitlines() if ln.startswith("model name")]
        model = model or (cpu[0].split(":", 1)[1].strip() if cpu else "")
    return kind, model or "unknown", tegra, tpu


def runtime_modules() -> dict[str, bool]:
    """Which optional runtimes import here (checked without importing them)."""
    found = {
        "onnxruntime": _has_module("onnxruntime"),
        "ai_edge_litert": _has_module("ai_edge_litert"),
        "tflite_runtime": _has_module("tflite_runtime"),
        "tensorrt": _has_module("tensorrt"),
        "openvino": _has_module("openvino"),
        "ncnn": _has_module("ncnn"),
        "pycoral": _has_module("pycoral"),
        "llama_cpp": _has_module("llama_cpp"),
        "mediapipe": _has_module("mediapipe"),
        "picamera2": _has_module("picamera2"),
        "paho.mqtt": _has_module("paho"),
    }
    found["libedgetpu"] = ctypes.util.find_library("edgetpu") is not None or any(
        Path(p).exists() for p in ("/usr/lib/libedgetpu.so.1", "/usr/lib/aarch64-linux-gnu/libedgetpu.so.1")
    )
    return found


def _gstreamer() -> bool:
    import cv2

    for line in cv2.getBuildInformation().splitlines():
        if "GStreamer" in line:
            return "YES" in line
    return False


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, where the OS has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def probe_host(root: Path = Path("/")) -> HostInfo:
    """Look at this machine once: board, cores, RAM, runtimes, ONNX Runtime providers, OpenCV GStreamer."""
    import psutil

    kind, model, tegra, tpu = detect_board(root)
    runtimes = runtime_modules()
    providers: list[str] = []
    if runtimes["onnxruntime"]:
        import onnxruntime as ort

        providers = list(ort.get_available_providers())
    return HostInfo(
        board=kind,
        model=model,
        cores=usable_cores(),
        ram_mb=int(psutil.virtual_memory().total / 2**20),
        jetson_release=tegra,
        edgetpu=tpu,
        ort_providers=providers,
        runtimes=runtimes,
        gstreamer=_gstreamer(),
    )
