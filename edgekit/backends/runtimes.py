"""The one table of runtimes: what a profile's ``runtime.backend`` names, which backend class opens its files, the
file suffix of a model built for it, the export target that builds one, and what stands in for it elsewhere.

Every other place that knows about backends or formats derives from ``RUNTIMES``: ``open_backend`` (classes and
suffixes), the device profile's validation, the runtime plan (file names, stand-ins, availability) and the export
format table (``edgekit.export.formats``, keyed by ``target``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import EdgekitError


@dataclass(frozen=True, slots=True)
class Runtime:
    """One runtime a profile can ask for."""

    name: str
    """The profile's ``runtime.backend`` value."""
    backend: str
    """The backend implementation that opens its files (``edgetpu`` models open in ``litert`` with a delegate)."""
    loader: str
    """``module:Class`` of that backend (classes take ``(path, BackendOptions)``)."""
    suffix: str
    """Suffix of a model file built for it (the exported artifact's name ends with it)."""
    opens: tuple[str, ...]
    """Every file suffix this runtime's backend opens."""
    target: str
    """The export target (``edgekit.export.formats.FORMATS`` key) that builds its models."""
    modules: tuple[str, ...]
    """Python modules (any one of them) that must import for it to run here; see ``available``."""
    label: str
    stand_ins: tuple[str, ...] = ()
    """Runtimes that run its models' float/INT8 equivalent when it is not available here, best first."""
    edgetpu: bool = False
    gpu: bool = False
    weights: str | None = None
    """Suffix of the file beside the model that holds its weights (an OpenVINO IR's ``.bin``, an ncnn graph's
    ``.ncnn.bin``): it travels with it."""
    extra: str | None = None
    """edgekit's pip extra that installs it, added to a bundle whose model needs it; ``None``: none is added (ONNX
    Runtime is in the core install; TensorRT and LiteRT come with the board's own setup)."""


RUNTIMES: dict[str, Runtime] = {
    r.name: r
    for r in (
        Runtime(
            "onnxruntime",
            "onnxruntime",
            "edgekit.backends.onnxruntime:OnnxRuntimeBackend",
            ".onnx",
            (".onnx",),
            "onnx",
            ("onnxruntime",),
            "ONNX Runtime",
        ),
        Runtime(
            "litert",
            "litert",
            "edgekit.backends.litert:LiteRTBackend",
            ".tflite",
            (".tflite",),
            "tflite",
            ("ai_edge_litert", "tflite_runtime"),
            "LiteRT",
            stand_ins=("onnxruntime",),
        ),
        Runtime(
            "edgetpu",
            "litert",
            "edgekit.backends.litert:LiteRTBackend",
            "_edgetpu.tflite",
            ("_edgetpu.tflite",),
            "edgetpu",
            ("ai_edge_litert", "tflite_runtime"),
            "Edge TPU",
            stand_ins=("litert", "onnxruntime"),
            edgetpu=True,
        ),
        Runtime(
            "tensorrt",
            "tensorrt",
            "edgekit.backends.tensorrt:TensorRTBackend",
            ".engine",
            (".engine", ".plan"),
            "tensorrt",
            ("tensorrt",),
            "TensorRT",
            stand_ins=("onnxruntime",),
            gpu=True,
        ),
        Runtime(
            "openvino",
            "openvino",
            "edgekit.backends.openvino:OpenVINOBackend",
            ".xml",
            (".xml",),
            "openvino",
            ("openvino",),
            "OpenVINO",
            stand_ins=("onnxruntime",),
            weights=".bin",
            extra="openvino-runtime",  # a board runs IRs: NNCF (the `openvino` extra's quantizer) stays off it
        ),
        Runtime(
            "ncnn",
            "ncnn",
            "edgekit.backends.ncnn:NcnnBackend",
            ".ncnn.param",
            (".ncnn.param",),
            "ncnn",
            ("ncnn",),
            "ncnn",
            stand_ins=("onnxruntime",),
            weights=".bin",
            extra="ncnn",
        ),
    )
}


def get_runtime(name: str) -> Runtime:
    """The runtime called ``name``; an unknown name lists the known ones."""
    rt = RUNTIMES.get(name)
    if rt is None:
        raise EdgekitError(f"unknown runtime {name!r}; known: {', '.join(RUNTIMES)}")
    return rt


def runtime_for_file(path: str | Path) -> Runtime:
    """The runtime a model file is built for, by its name (the longest matching suffix wins:
    ``m_edgetpu.tflite`` is Edge TPU, ``m.tflite`` LiteRT)."""
    name = Path(path).name.lower()
    best: tuple[int, Runtime] | None = None
    for rt in RUNTIMES.values():
        for s in rt.opens:
            if name.endswith(s) and (best is None or len(s) > best[0]):
                best = (len(s), rt)
    if best is None:
        known = ", ".join(sorted({s for rt in RUNTIMES.values() for s in rt.opens}))
        suffix = Path(path).suffix.lower() or "(none)"
        raise EdgekitError(f"unsupported model file type {suffix!r} for {path}; known: {known}")
    return best[1]


def model_files(path: Path) -> list[Path]:
    """The model file and the files that travel with it (an OpenVINO IR's or an ncnn graph's ``.bin``), by its name.

    Examples:
        >>> [p.name for p in model_files(Path("m-640_bf16.xml"))], [p.name for p in model_files(Path("m.onnx"))]
        (['m-640_bf16.xml', 'm-640_bf16.bin'], ['m.onnx'])
        >>> [p.name for p in model_files(Path("m-320_fp16.ncnn.param"))]
        ['m-320_fp16.ncnn.param', 'm-320_fp16.ncnn.bin']
    """
    try:
        weights = runtime_for_file(path).weights
    except EdgekitError:
        return [path]
    return [path, path.with_suffix(weights)] if weights else [path]


def available(rt: Runtime, runtimes: dict[str, bool], edgetpu_devices: int = 0) -> bool:
    """Whether ``rt`` can run here, from ``HostInfo.runtimes`` (module name → importable) and the Edge TPUs found."""
    ok = any(runtimes.get(m, False) for m in rt.modules)
    if rt.edgetpu:
        ok = ok and runtimes.get("libedgetpu", False) and edgetpu_devices > 0
    return ok
