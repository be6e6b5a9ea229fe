"""Turn a device profile into what actually runs on this host, and say what was substituted.

A profile describes the board it was written for. On any other machine (a desktop, CI) edgekit runs the profile in
emulation: it keeps what the host can do (threads, precision and input size where an export exists) and substitutes
the rest (TensorRT → ONNX Runtime, Edge TPU → LiteRT/ONNX Runtime CPU, CSI camera → synthetic), listing each
substitution. Exports are found by ``edgekit.device.artifacts`` (next to the model card, then the user's cache).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from edgekit.backends import BackendOptions
from edgekit.backends.runtimes import RUNTIMES, Runtime, available, get_runtime, runtime_for_file
from edgekit.device.artifacts import artifact_name, export_dir, exports_root, find_artifact
from edgekit.device.host import HostInfo
from edgekit.device.modelcards import ModelCard, sha256_file
from edgekit.device.profiles import DeviceProfile
from edgekit.device.tuned import TunedPlan, lookup_plan

ACCELERATED_PROVIDERS = ("TensorrtExecutionProvider", "CUDAExecutionProvider")


@dataclass
class RuntimePlan:
    """The backend, model file, input size, precision, threads and camera chosen for one profile on this host."""

    profile: str
    backend: str
    model_path: Path
    precision: str
    options: BackendOptions
    camera: str
    emulated: bool
    substitutions: list[str] = field(default_factory=list)
    imgsz: int | None = None
    """Input size of the chosen model file (``None`` until the model is opened when it is not known up front)."""
    runtime: str = ""
    """The profile's runtime (``RUNTIMES`` key) that was asked for; ``backend`` is what runs."""
    provider: str = ""
    """The execution provider or delegate that actually runs it (filled in by the detector once loaded)."""
    build_from: Path | None = None
    """TensorRT: the ONNX ``model_path`` (the engine) is built from when it is missing or was built by another
    TensorRT version or GPU — the first start on a board (``edgekit.backends.tensorrt_build.ensure_engine``)."""
    tuned: str = ""
    """The host's tuned plan in use (``edgekit tune``), or why the one found was ignored; empty when none exists."""
    from_tune: bool = False
    """The host's tuned plan chose the model file, runtime, precision, size, threads and spinning."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "runtime": self.runtime,
            "backend": self.backend,
            "provider": self.provider,
            "providers": list(self.options.providers or ()),
            "edgetpu": self.options.use_edgetpu,
            "model": str(self.model_path),
            "imgsz": self.imgsz,
            "precision": self.precision,
            "threads": self.options.threads,
            "spinning": self.options.spinning,
            "streams": self.options.streams,
            "camera": self.camera,
            "emulated": self.emulated,
            "substitutions": self.substitutions,
            "build_from": str(self.build_from) if self.build_from else None,
            "tuned": self.tuned,
        }

    def summary(self) -> str:
        """One line: model file, input size, precision, backend/provider and substitutions."""
        subs = "; ".join(self.substitutions) or "none"
        tuned = f"; {self.tuned}" if self.tuned else ""
        return (
            f"model {self.model_path} @ {self.imgsz}, {self.precision}, {self.provider or self.backend}; "
            f"substitutions: {subs}{tuned}"
        )


def source_sha256(card: ModelCard, model_path: Path) -> str:
    """The sha256 exports of ``card`` are keyed by (the card's own, else the file's)."""
    return card.sha256 or sha256_file(model_path)


def _stem(card: ModelCard) -> str:
    return Path(card.file).stem if card.file else card.name


def find_variant(card: ModelCard, model_path: Path, runtime: str, precision: str, imgsz: int) -> Path | None:
    """``card``'s model exported for ``runtime`` at ``precision``/``imgsz``: next to the card or in the cache.

    The card's own file counts as the FP32 ONNX at the card's input size.
    """
    if runtime == "onnxruntime" and precision == "fp32" and imgsz == (card.imgsz or imgsz):
        return model_path
    also = (card.card_dir,) if card.card_dir is not None else ()
    return find_artifact(source_sha256(card, model_path), artifact_name(_stem(card), imgsz, precision, runtime), also)


def engine_plan(card: ModelCard, model_path: Path, precision: str, imgsz: int) -> tuple[Path, Path | None] | None:
    """(engine, the ONNX it is built from) for a TensorRT profile on a host with TensorRT, or None when neither an
    engine nor an ONNX at ``imgsz`` exists here.

    The engine need not exist yet: a bundle carries the ONNX (the card's own FP32 file, or the export at the
    profile's size; the QDQ ONNX for INT8) and the first start builds the engine next to that export in the cache
    (``<cache>/exports/<sha>/<calibration>/<stem>-<imgsz>_<precision>.engine``), with its timing cache.
    """
    onnx = find_variant(card, model_path, "onnxruntime", "int8" if precision == "int8" else "fp32", imgsz)
    engine = find_variant(card, model_path, "tensorrt", precision, imgsz)
    if onnx is None:
        return (engine, None) if engine is not None else None
    if engine is None:
        root = exports_root()
        folder = onnx.parent if onnx.is_relative_to(root) else export_dir(source_sha256(card, model_path))
        engine = folder / artifact_name(_stem(card), imgsz, precision, "tensorrt")
    return engine, onnx


def _runs_on(profile: DeviceProfile, host: HostInfo) -> bool:
    want = profile.board.device_tree_match
    return any(m.lower() in host.model.lower() for m in want) if want else profile.name == "desktop"


def export_hint(profile: DeviceProfile, card: ModelCard) -> str:
    """The command that makes the export ``profile`` wants for ``card``."""
    model = "" if card.name == profile.runtime.model else f" {card.name}"
    return f"edgekit export{model} --profile {profile.name}"


def _choose(
    profile: DeviceProfile, host: HostInfo, model_path: Path, card: ModelCard, subs: list[str]
) -> tuple[Path, Runtime, str, int | None, Path | None]:
    """(model file, runtime that runs it, precision, input size, ONNX to build a TensorRT engine from) for ``card``
    under ``profile`` on ``host``."""
    rt = get_runtime(profile.runtime.backend)
    precision, imgsz = profile.runtime.precision, profile.runtime.imgsz
    here = [r for r in (rt, *(RUNTIMES[n] for n in rt.stand_ins)) if available(r, host.runtimes, len(host.edgetpu))]
    for cand in here:
        if cand.name == "tensorrt":
            found = engine_plan(card, model_path, precision, imgsz)
            if found is not None:
                return found[0], cand, precision, imgsz, found[1]
            continue
        path = find_variant(card, model_path, cand.name, precision, imgsz)
        if path is not None:
            if rt not in here:
                subs.append(_accelerator_substitution(rt, precision, host, cand))
            elif cand is not rt:
                subs.append(f"{rt.label} → {cand.label} (no {rt.label} {precision} {imgsz} export built here)")
            return path, cand, precision, imgsz, None
    onnx = RUNTIMES["onnxruntime"]
    if rt is not onnx:
        subs.append(_accelerator_substitution(rt, precision, host, onnx))
    subs.append(
        f"{precision.upper()} {imgsz} model → {card.name}'s FP32 {card.imgsz or ''} ONNX (no {precision} "
        f"{imgsz} export yet; make it with `{export_hint(profile, card)}`)".replace("  ", " ")
    )
    return model_path, onnx, "fp32", card.imgsz, None


def plan_runtime(
    profile: DeviceProfile, host: HostInfo, model_path: Path, card: ModelCard | None = None, tuned: bool = True
) -> RuntimePlan:
    """Choose how ``profile`` runs ``model_path`` (or a better-suited export of ``card``) on ``host``.

    With ``tuned``, the host's plan from ``edgekit tune`` for this profile and card (the user's own, else the one
    the running release ships) wins over the profile's table when it fits this CPU, model and runtimes (see
    ``edgekit.device.tuned``); one that does not is named in ``tuned``.
    """
    subs: list[str] = []
    want = get_runtime(profile.runtime.backend)
    build_from = None
    if card is not None:
        path, run, precision, imgsz, build_from = _choose(profile, host, model_path, card, subs)
    else:
        path, run, precision, imgsz = model_path, runtime_for_file(model_path), "as exported", None

    providers: tuple[str, ...] | None = None
    if run.name == "onnxruntime" and want.gpu:
        providers = (*[p for p in ACCELERATED_PROVIDERS if p in host.ort_providers], "CPUExecutionProvider")
    elif run.name == "onnxruntime":
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

    plan = RuntimePlan(
        profile=profile.name,
        backend=run.backend,
        model_path=path,
        precision=precision,
        options=BackendOptions(threads=threads, providers=providers, use_edgetpu=run.edgetpu,
                               lean_memory=profile.runtime.lean_memory, spinning=profile.runtime.spinning),
        camera=camera,
        emulated=not _runs_on(profile, host),
        substitutions=subs,
        imgsz=imgsz,
        runtime=want.name,
        build_from=build_from,
    )
    if card is not None and tuned:
        found = lookup_plan(profile.name, card.name, source_sha256(card, model_path), host.runtimes)
        plan.tuned = found.ignored or ""
        if found.plan is not None:
            apply_tuned(plan, found.plan, host, f"{found.path} ({found.source})" if found.source else str(found.path))
            if found.ignored:  # the user's own plan, passed over for the release's: still said, on the same line
                plan.tuned += f"; {found.ignored}"
    return plan


def apply_tuned(plan: RuntimePlan, tp: TunedPlan, host: HostInfo, where: str) -> None:
    """Run ``tp`` (the host's tuned plan, already checked against this CPU, model and runtimes) instead of the
    profile's table choice."""
    rt = RUNTIMES[tp.runtime]
    plan.model_path, plan.backend, plan.precision, plan.imgsz = Path(tp.artifact), rt.backend, tp.precision, tp.imgsz
    plan.build_from = None
    # the model, runtime and threads lines described the table's choice, which the plan replaces; the camera stays
    plan.substitutions = [s for s in plan.substitutions if s.startswith("camera ")]
    providers = ("CPUExecutionProvider",) if rt.name == "onnxruntime" else None
    plan.options = replace(plan.options, threads=min(tp.threads, host.cores), providers=providers,
                           spinning=tp.spin, streams=tp.streams)
    plan.from_tune = True
    plan.tuned = f"tuned plan {where}: {tp.summary()}"


def _accelerator_substitution(rt: Runtime, precision: str, host: HostInfo, to: Runtime) -> str:
    """The line that says which runtime (``to``) stands in for ``rt`` on this host, and why."""
    where = to.label
    if to.name == "onnxruntime":
        accel = [p for p in ACCELERATED_PROVIDERS if p in host.ort_providers] if rt.gpu else []
        where = f"ONNX Runtime {accel[0]}" if accel else "ONNX Runtime CPU"
    elif to.name == "litert":
        where = "LiteRT CPU"
    if rt.name == "tensorrt":
        return f"TensorRT {precision.upper()} engine → {where} (no tensorrt module or engine here)"
    if rt.edgetpu:
        return f"Edge TPU → {where} (no Edge TPU, libedgetpu or compiled model here)"
    return f"{rt.label} {precision.upper()} → {where} (no {rt.label} runtime here)"
