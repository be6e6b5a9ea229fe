"""``export()``: source model → artifact for one target and precision, gated, with its report next to it."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edgekit.errors import EdgekitError
from edgekit.export import gate, valset
from edgekit.export.calib import calibration_tensors, list_images
from edgekit.export.formats import check_precision, get_format
from edgekit.export.onnx2onnx import onnx2onnx
from edgekit.export.report import Accuracy, Dataset, ExportReport, sha256_of, write_report
from edgekit.export.source import SourceModel, open_source
from edgekit.vision.preprocess import letterbox

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True, slots=True)
class ExportOptions:
    """Everything one export run needs besides the model: the CLI flags and recipe fields map onto these."""

    target: str = "onnx"
    precision: str = "fp32"
    imgsz: int | None = None
    calib: Path | None = None
    val: Path | None = None
    out: Path = Path("export-out")
    max_map_drop: float = 1.0
    opset: int | None = None
    dynamic: bool = False
    simplify: bool = True
    calib_method: str = "minmax"
    calib_limit: int = 64
    generated: int = 24
    seed: int = 0
    workspace_mb: int = 1024
    io_dtype: str = "int8"
    reduce_range: bool = True
    """7-bit INT8 weights: no int16 saturation on x86 CPUs without VNNI (see quantize.quantize_onnx)."""


def _source(model: Path, opts: ExportOptions) -> SourceModel:
    if model.suffix.lower() == ".pt":
        from edgekit.export.pt2onnx import pt2onnx

        model = pt2onnx(model, opts.out / f"{model.stem}.onnx", imgsz=opts.imgsz or 640, opset=opts.opset or 13)
    src = open_source(model)
    if opts.imgsz and opts.imgsz != src.imgsz:
        raise EdgekitError(
            f"{model} has a fixed input size {src.imgsz}; re-export it from the .pt at --imgsz {opts.imgsz} "
            f"(or drop --imgsz)"
        )
    return src


def _validation(opts: ExportOptions) -> tuple[list[valset.Sample], Dataset] | None:
    if opts.val is None:
        return None
    real = valset.load_folder(opts.val)
    gen = valset.generate(real, n=opts.generated, seed=opts.seed) if opts.generated else []
    samples = real + gen
    return samples, Dataset(
        images=len(samples),
        boxes=int(sum(len(s.boxes) for s in samples)),
        folder=str(opts.val),
        generated=len(gen),
        seed=opts.seed,
    )


def _calibration(
    src: SourceModel, opts: ExportOptions, progress: Progress | None
) -> tuple[npt.NDArray[np.float32], Dataset]:
    folder = opts.calib or (valset._images_dir(opts.val) if opts.val else None)
    if folder is None:
        raise EdgekitError("INT8 needs calibration images: pass --calib DIR (or --val DIR to calibrate on its images)")
    cb = None if progress is None else (lambda i, n: progress("calibration images", i, n))
    tensors = calibration_tensors(folder, src.imgsz, limit=opts.calib_limit, progress=cb)
    gen_n = 0
    if opts.val is not None and opts.generated:
        # Composites from another seed than the validation set's: more people at more scales for the ranges.
        gen = valset.generate(valset.load_folder(opts.val), n=opts.generated, seed=opts.seed + 1000)
        extra = np.stack([letterbox(s.image, (src.imgsz, src.imgsz))[0][0] for s in gen])
        tensors = np.concatenate([tensors, extra])
        gen_n = len(gen)
    return tensors, Dataset(
        images=len(tensors), folder=str(folder), generated=gen_n, seed=opts.seed + 1000, method=opts.calib_method
    )


def preflight(target: str) -> None:
    """Fail in one line, before any slow work, when the target's converter is not installed here."""
    if target == "tensorrt":
        from edgekit.export.onnx2engine import import_tensorrt

        import_tensorrt()
    elif target in ("tflite", "edgetpu"):
        from edgekit.export.onnx2tflite import check_converter, converter_python

        check_converter(converter_python())
        if target == "edgetpu":
            from edgekit.export.tflite2edgetpu import compiler_path

            compiler_path()


def _needs_gate(precision: str, target: str) -> bool:
    return precision != "fp32" or target != "onnx"


def export(model: Path, opts: ExportOptions, progress: Progress | None = None) -> ExportReport:
    """Export ``model`` for ``opts.target``/``opts.precision`` into ``opts.out``; the report is written either way.

    Raises ``EdgekitError`` for bad input; a finished export that fails the gate returns ``passed=False``.

    Examples:
        >>> opts = ExportOptions(precision="int8", val=Path("../shared/data"))
        >>> r = export(Path("models/yolov8s-fall.onnx"), opts)  # doctest: +SKIP
        >>> r.passed, r.map_drop  # doctest: +SKIP
        (True, 0.4)
    """
    t0 = time.perf_counter()
    fmt = get_format(opts.target)
    precision = check_precision(fmt, opts.precision)
    if not model.is_file():
        raise EdgekitError(f"model file not found: {model}")
    preflight(fmt.name)
    opts.out.mkdir(parents=True, exist_ok=True)
    src = _source(model, opts)
    val = _validation(opts)
    if precision == "int8" and opts.calib is not None:
        list_images(opts.calib)  # an empty calibration folder fails now, not after minutes of work
    if val is None and _needs_gate(precision, fmt.name):
        raise EdgekitError(f"{fmt.name} {precision} exports are gated: pass --val DIR with labelled images")
    report = ExportReport(
        source=str(model),
        source_sha256=sha256_of(model),
        source_bytes=model.stat().st_size,
        target=fmt.name,
        precision=precision,
        imgsz=src.imgsz,
        max_map_drop=opts.max_map_drop,
    )
    base = opts.out / f"{src.path.stem}_fp32.onnx"
    onnx2onnx(src.path, base, precision="fp32", opset=opts.opset, dynamic=opts.dynamic, simplify=opts.simplify)
    ref = None
    if val is not None:
        report.validation = val[1]
        ref = gate.reference(src.path, val[0], src.num_classes, progress)
        report.source_accuracy = ref.accuracy
    if fmt.name == "onnx":
        artifact = _onnx(src, base, precision, opts, ref, report, progress)
    elif fmt.name in ("tflite", "edgetpu"):
        from edgekit.export.targets import tflite_target

        artifact = tflite_target(src, base, precision, opts, ref, report, progress, edgetpu=fmt.name == "edgetpu")
    else:
        from edgekit.export.targets import tensorrt_target

        artifact = tensorrt_target(src, base, precision, opts, ref, report, progress)
    report.seconds = round(time.perf_counter() - t0, 1)
    if artifact is not None and artifact.is_file():
        report.artifact, report.artifact_bytes = str(artifact), artifact.stat().st_size
    write_report(report, artifact if artifact is not None else opts.out / f"{src.path.stem}_{fmt.name}_{precision}")
    return report


def _onnx(
    src: SourceModel,
    base: Path,
    precision: str,
    opts: ExportOptions,
    ref: gate.Reference | None,
    report: ExportReport,
    progress: Progress | None,
) -> Path:
    report.converter = "onnxslim + onnxruntime"
    if precision == "fp32":
        if ref is not None:
            apply_attempt(report, gate.score(ref, base, "fp32", opts.max_map_drop, progress=progress))
        return base
    if precision == "fp16":
        out = opts.out / f"{src.path.stem}_fp16.onnx"
        onnx2onnx(src.path, out, precision="fp16", opset=opts.opset, dynamic=opts.dynamic, simplify=opts.simplify)
        apply_attempt(report, gate.score(_gated(ref), out, "fp16", opts.max_map_drop, progress=progress))
        return out
    calib, cds = _calibration(src, opts, progress)
    report.calibration = cds
    out = opts.out / f"{src.path.stem}_int8.onnx"
    attempts = gate.gate_int8_onnx(
        _gated(ref),
        base,
        out,
        src.input_name,
        calib,
        method=opts.calib_method,
        reduce_range=opts.reduce_range,
        max_map_drop=opts.max_map_drop,
        progress=progress,
    )
    bits = "7-bit (reduce_range)" if opts.reduce_range else "8-bit"
    report.converter = f"onnxruntime.quantization (QDQ, per-channel, uint8 activations / {bits} int8 weights)"
    report.attempts = attempts
    chosen = next((a for a in attempts if a.passed), None)
    apply_attempt(report, chosen or attempts[-1])
    if chosen is None:
        report.notes.append("no INT8 attempt passed the gate; the best candidate is kept as *.FAILED.onnx")
        return out.with_name(out.stem + ".FAILED.onnx")
    return out


def _gated(ref: gate.Reference | None) -> gate.Reference:
    if ref is None:  # _needs_gate() makes export() require --val for every gated precision
        raise EdgekitError("this export is gated: pass --val DIR with labelled images")
    return ref


def apply_attempt(report: ExportReport, a: gate.Attempt) -> None:
    """Copy an attempt's scores into the report's top level."""
    report.accuracy = a.accuracy if isinstance(a.accuracy, Accuracy) else None
    report.map_drop = a.map_drop
    report.parity = a.parity
    report.nodes_in_float = a.nodes_in_float
    report.passed = a.passed
