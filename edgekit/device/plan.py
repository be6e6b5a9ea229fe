"""Turn a device profile into what actually runs on this host, and say what was substituted.

A profile describes the board it was written for. On any other machine (a desktop, CI) edgekit runs the profile in
emulation: it keeps what the host can do (threads, precision where a variant exists) and substitutes the rest
(TensorRT → ONNX Runtime, Edge TPU → LiteRT/ONNX Runtime CPU, CSI camera → synthetic), listing each substitution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgekit.backends import BackendOptions, backend_for_suffix
from edgekit.device.host import HostInfo
from edgekit.device.modelcards import ModelCard
from edgekit.device.profiles import DeviceProfile
from edgekit.paths import cache_dir

_VARIANT_SUFFIX = {
    "onnxruntime": ".onnx",
    "tensorrt": ".engine",
    "litert": ".tflite",
    "edgetpu": "_edgetpu.tflite",
}


@dataclass
class RuntimePlan:
    """The backend, model file, threads and camera chosen for one profile on this host."""

    profile: str
    backend: str
    model_path: Path
    precision: str
    options: BackendOptions
    camera: str
    emulated: bool
    substitutions: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "backend": self.backend,
            "providers": list(self.options.providers or ()),
            "edgetpu": self.options.use_edgetpu,
            "model": str(self.model_path),
            "precision": self.precision,
            "threads": self.options.threads,
            "camera": self.camera,
            "emulated": self.emulated,
            "substitutions": self.substitutions,
        }


def find_variant(card: ModelCard, backend: str, precision: str) -> Path | None:
    """A converted file of ``card`` for ``backend``/``precision``: next to the card, in ``./export-out`` (the
    default ``--out`` of ``edgekit export``) or in ``~/.cache/edgekit/exports/<name>``.

    Names follow ``edgekit export``: ``<stem>_<precision><suffix>``, e.g. ``yolov8s-fall_int8.onnx`` or
    ``yolov8s-fall_int8_edgetpu.tflite``.
    """
    stem = Path(card.file).stem if card.file else card.name
    fname = f"{stem}_{precision}{_VARIANT_SUFFIX[backend]}"
    for folder in (card.card_dir, Path("export-out"), cache_dir() / "exports" / card.name):
        if folder is not None and (folder / fname).is_file():
            return folder / fname
    return None


def _runs_on(profile: DeviceProfile, host: HostInfo) -> bool:
    want = profile.board.device_tree_match
    return any(m.lower() in host.model.lower() for m in want) if want else profile.name == "desktop"


def plan_runtime(
    profile: DeviceProfile, host: HostInfo, model_path: Path, card: ModelCard | None = None
) -> RuntimePlan:
    """Choose how ``profile`` runs ``model_path`` (or a better-suited variant of ``card``) on ``host``."""
    subs: list[str] = []
    rt = profile.runtime
    want_backend = rt.backend
    precision: str = rt.precision
    path = model_path
    fmt = backend_for_suffix(path)
    providers: tuple[str, ...] | None = None
    use_edgetpu = False
    backend = fmt

    if card is not None:
        variant = find_variant(card, want_backend, precision)
        if variant is not None and _backend_available(want_backend, host):
            path, backend = variant, backend_for_suffix(variant)
            use_edgetpu = want_backend == "edgetpu"
        else:
            int8 = find_variant(card, "onnxruntime", precision) if precision != "fp32" else None
            if want_backend != "onnxruntime":
                subs.append(_accelerator_substitution(want_backend, precision, host))
            if int8 is not None:
                path, backend = int8, "onnxruntime"
            elif precision != "fp32" or want_backend != "onnxruntime":
                subs.append(
                    f"{precision.upper()} {want_backend} model → {card.name}'s FP32 ONNX "
                    f"(no {precision} variant; make one with "
                    f"`edgekit export {card.file or card.name} --profile {profile.name} --val DIR`)"
                )
                precision = "fp32"
            else:
                precision = "fp32"
    else:
        precision = "as exported"

    if backend == "onnxruntime" and want_backend == "tensorrt":
        accel = [p for p in ("TensorrtExecutionProvider", "CUDAExecutionProvider") if p in host.ort_providers]
        providers = (*accel, "CPUExecutionProvider")
    elif backend == "onnxruntime":
        providers = ("CPUExecutionProvider",)

    threads = profile.threads_for(host.cores)
    wanted = profile.runtime.threads or host.cores
    if threads < wanted:
        subs.append(f"threads {wanted} → {threads} (this host has {host.cores} cores)")

    camera = profile.camera.source
    if camera.startswith("csi://") and not (host.board == "jetson" and host.gstreamer):
        subs.append(f"camera {camera} → synthetic (no Jetson CSI camera with GStreamer here)")
        camera = "synthetic"
    elif camera.startswith("picamera2") and not host.runtimes.get("picamera2"):
        subs.append(f"camera {camera} → synthetic (picamera2 is not installed here)")
        camera = "synthetic"

    return RuntimePlan(
        profile=profile.name,
        backend=backend,
        model_path=path,
        precision=precision,
        options=BackendOptions(threads=threads, providers=providers, use_edgetpu=use_edgetpu),
        camera=camera,
        emulated=not _runs_on(profile, host),
        substitutions=subs,
    )


def _backend_available(backend: str, host: HostInfo) -> bool:
    r = host.runtimes
    litert = r.get("ai_edge_litert", False) or r.get("tflite_runtime", False)
    return {
        "onnxruntime": r.get("onnxruntime", False),
        "tensorrt": r.get("tensorrt", False),
        "litert": litert,
        "edgetpu": litert and r.get("libedgetpu", False) and bool(host.edgetpu),
    }[backend]


def _accelerator_substitution(backend: str, precision: str, host: HostInfo) -> str:
    if backend == "tensorrt":
        accel = [p for p in ("TensorrtExecutionProvider", "CUDAExecutionProvider") if p in host.ort_providers]
        where = f"ONNX Runtime {accel[0]}" if accel else "ONNX Runtime CPU"
        return f"TensorRT {precision.upper()} engine → {where} (no tensorrt module or engine here)"
    if backend == "edgetpu":
        return "Edge TPU → ONNX Runtime CPU (no Edge TPU, libedgetpu or compiled model here)"
    return f"LiteRT {precision.upper()} → ONNX Runtime CPU (no LiteRT runtime or .tflite variant here)"
