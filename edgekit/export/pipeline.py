"""``export()``: source model → artifact for one target and precision, gated, with its report next to it.

It checks the request against the format table, loads the source, the validation set and the FP32 reference once
into an ``ExportRun``, and hands that to the target's ``build(run)`` (see ``formats.FORMATS``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import time
from dataclasses import asdict, replace
from pathlib import Path

from edgekit import __version__
from edgekit.backends.runtimes import model_files
from edgekit.device.artifacts import UNCALIBRATED, export_dir
from edgekit.device.cpu import host_cpu
from edgekit.errors import EdgekitError, MissingDependencyError
from edgekit.export import gate, valset, weights
from edgekit.export.calib import IMAGE_SUFFIXES, list_images
from edgekit.export.formats import ExportFormat, check_precision, get_format
from edgekit.export.onnx2onnx import onnx2onnx
from edgekit.export.report import Dataset, ExportReport, Int8Weights, sha256_of, write_report
from edgekit.export.resize_head import check_size, resize_head
from edgekit.export.run import ExportOptions, ExportRun, Progress
from edgekit.export.source import SourceModel, open_source

log = logging.getLogger(__name__)

SMOKE_TEST = (
    "judged on edgekit's shipped validation set (7 photos, 8 hand-drawn boxes of upright people, plus composites): "
    "a smoke test, not a verdict; gate on your own labelled frames with --val DIR (COCO *.json or YOLO labels/*.txt)"
)

__all__ = ["ExportOptions", "calibration_key", "export", "output_dir", "preflight", "validation_samples"]


def _source(model: Path, opts: ExportOptions, work: Path) -> SourceModel:
    """The FP32 ONNX at ``--imgsz``: a ``.pt`` through Ultralytics, a fixed-size ONNX by rewriting its head."""
    if model.suffix.lower() == ".pt":
        from edgekit.export.pt2onnx import pt2onnx

        model = pt2onnx(model, work / f"{model.stem}.onnx", imgsz=opts.imgsz or 640, opset=opts.opset or 13)
    src = open_source(model)
    if opts.imgsz and opts.imgsz != src.imgsz:
        resized = resize_head(src.path, work / f"{model.stem}-{opts.imgsz}_source.onnx", opts.imgsz)
        src = open_source(resized, labels=src.labels)
    return src


def _folder_digest(folder: Path) -> str:
    """What a calibration folder holds (names and sizes), so another set of images gets another cache key."""
    h = hashlib.sha256(str(folder.resolve()).encode())
    for p in sorted(folder.rglob("*")):
        if p.is_file() and (p.suffix.lower() in IMAGE_SUFFIXES or p.suffix in (".json", ".txt")):
            h.update(f"{p.relative_to(folder)}:{p.stat().st_size}".encode())
    return h.hexdigest()


def calibration_key(precision: str, opts: ExportOptions) -> str:
    """The cache key of the calibration an export uses: ``uncalibrated`` unless INT8."""
    if precision != "int8":
        return UNCALIBRATED
    h = hashlib.sha256()
    for folder in (opts.calib, opts.val):
        h.update(_folder_digest(folder).encode() if folder is not None and folder.is_dir() else b"-")
    h.update(f"{opts.calib_method}:{opts.calib_limit}:{opts.generated}:{opts.seed}:{opts.io_dtype}".encode())
    h.update(f":min{opts.calib_min}".encode())  # the top-up minimum changes what a small set is calibrated on
    return f"calib-{h.hexdigest()[:12]}"


def options_key(source_sha256: str, target: str, precision: str, opts: ExportOptions) -> str:
    """sha256 of the source, the edgekit version and every option that changes the artifact or its gate (the folders'
    contents, not their paths); the output folder, ``force`` and the wording of the target's CPU are left out."""
    fields = asdict(opts)
    for name in ("out", "force", "target_cpu", "target_dot", "calib", "val"):
        fields.pop(name)
    folders = {k: _folder_digest(f) if f is not None and f.is_dir() else None for k, f in (("calib", opts.calib),
                                                                                          ("val", opts.val))}
    doc = {"source": source_sha256, "edgekit": __version__, "target": target, "precision": precision, **fields,
           **folders}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()


def reusable(out: Path, key: str) -> ExportReport | None:
    """The newest report in ``out`` with options key ``key`` whose artifact is still there as it was written and
    complete: gate passed (or not gated) and no step skipped on that machine (a rerun may build it now)."""
    found = []
    for js in out.glob("*.report.json"):
        try:
            r = ExportReport.model_validate_json(js.read_text())
        except (OSError, ValueError):  # another version's or a damaged report: not ours to reuse
            continue
        files = model_files(Path(r.artifact)) if r.artifact else []
        if r.options_key != key or r.passed is False or r.skipped or not files or not all(f.is_file() for f in files):
            continue
        if sum(f.stat().st_size for f in files) == r.artifact_bytes:
            found.append((js.stat().st_mtime, r))
    return max(found, key=lambda f: f[0])[1] if found else None


def output_dir(source_sha256: str, precision: str, opts: ExportOptions) -> Path:
    """``--out`` when given, else the cache folder for this source and calibration; created, or a one-line error."""
    try:
        out = opts.out or export_dir(source_sha256, calibration_key(precision, opts))
        out.mkdir(parents=True, exist_ok=True)
        probe = out / ".edgekit-write-test"
        probe.touch()
        probe.unlink()
    except OSError as e:
        where = opts.out or "the cache (EDGEKIT_CACHE / XDG_CACHE_HOME)"
        raise EdgekitError(
            f"cannot write exports to {where}: {e.strerror or e}; pass --out DIR or set EDGEKIT_CACHE to a "
            "writable folder"
        ) from e
    return out


def preflight(fmt: ExportFormat, opts: ExportOptions) -> None:
    """Fail in one line, before any slow work, when the target's converter is not installed here.

    A target built on the board's GPU (``gpu`` in the table) may stand in with the model it is built from.
    """
    try:
        fmt.check_needs()
    except MissingDependencyError:
        if not (opts.stand_in and fmt.gpu):
            raise


def _needs_gate(precision: str, target: str) -> bool:
    return precision != "fp32" or target != "onnx"


def _same_images(a: Path, b: Path) -> int:
    """How many image files of folder ``a`` also appear (same bytes) in folder ``b``."""
    def digests(folder: Path) -> set[str]:
        return {hashlib.sha256(p.read_bytes()).hexdigest() for p in list_images(folder, "image")}

    return len(digests(a) & digests(b))


def _is_shipped(val: Path) -> bool:
    """Whether ``val`` is (a copy of) the validation set shipped in the package."""
    shipped = valset.images_dir(valset.SHIPPED)
    ours = valset.images_dir(val)
    n = len(list_images(ours, "validation"))
    return ours.resolve() == shipped.resolve() or _same_images(ours, shipped) == n


def _validation(
    opts: ExportOptions, calibrated: bool
) -> tuple[list[valset.Sample], list[valset.Sample], Dataset] | None:
    """(calibration half, validation samples, what they are), loaded once per export and disjoint.

    For a ``calibrated`` (INT8) export without ``--calib`` the labelled set is split (``valset.split``):
    calibration never sees a validation image, and the composites of each half are made from that half's people and
    backgrounds only. A ``--calib`` folder must not share images with ``--val``. FP32/FP16 judge on the whole set.
    """
    if opts.val is None:
        return None
    real = valset.load_folder(opts.val)
    if opts.calib is not None:
        shared = _same_images(opts.calib, valset.images_dir(opts.val))
        if shared:
            raise EdgekitError(
                f"--calib {opts.calib} shares {shared} image(s) with --val {opts.val}: calibrate on other frames "
                "than the ones the gate judges on (or drop --calib to split --val in two)"
            )
        calib_real: list[valset.Sample] = []
        val_real = real
    elif calibrated:
        calib_real, val_real = valset.split(real)
    else:
        calib_real, val_real = [], real
    gen: list[valset.Sample] = []
    if opts.generated:
        try:
            gen = valset.generate(val_real, n=opts.generated, seed=opts.seed)
        except EdgekitError as e:  # a half without people or without backgrounds: judge the real images only
            log.warning("no composites for validation: %s", e)
    samples = val_real + gen
    ds = Dataset(
        images=len(samples),
        boxes=int(sum(len(s.boxes) for s in samples)),
        folder=str(opts.val),
        generated=len(gen),
        seed=opts.seed,
        real=[s.name for s in val_real],
    )
    return calib_real, samples, ds


def validation_samples(opts: ExportOptions) -> list[valset.Sample]:
    """The samples an export with ``opts`` is judged on (its gate's, loaded again: the split and the composites are
    deterministic), for judging a cached artifact again on another machine."""
    val = _validation(opts, calibrated=opts.precision == "int8")
    return [] if val is None else val[1]


def export(model: Path, opts: ExportOptions, progress: Progress | None = None) -> ExportReport:
    """Export ``model`` for ``opts.target``/``opts.precision``; the report is written next to the artifact either way.

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
    if opts.imgsz is not None:
        check_size(opts.imgsz)
    if precision == "int8" and opts.calib is not None:
        list_images(opts.calib)  # an empty calibration folder fails now, not after minutes of work
    if fmt.gpu:
        # A GPU engine's builder is also its runtime: without it neither a build nor a cached engine is any use.
        preflight(fmt, opts)
    if opts.val is None and _needs_gate(precision, fmt.name):
        raise EdgekitError(f"{fmt.name} {precision} exports are gated: pass --val DIR with labelled images")
    if fmt.int8_by_converter:
        opts = replace(opts, calib_min=0)
    choice = None
    if precision == "int8" and not fmt.int8_by_converter:
        choice = weights.choose(host_cpu(), opts.target_dot, opts.target_cpu, gpu=fmt.gpu, forced=opts.reduce_range)
        opts = replace(opts, reduce_range=choice.reduce_range)
    digest = sha256_of(model)
    out = output_dir(digest, precision, opts)
    key = options_key(digest, fmt.name, precision, opts)
    old = None if opts.force else reusable(out, key)
    if old is not None:
        old.reused = True
        old.notes.append(
            f"reused: {old.artifact} was exported earlier from the same source (sha256 {digest[:12]}…) with the same "
            "options, so nothing was converted again; pass --force to export anew"
        )
        log.info("reusing %s", old.artifact)
        return old
    # After the cache: a board that was handed its exports needs the runtime, not the converter (pnnx, NNCF).
    if not fmt.gpu:
        preflight(fmt, opts)
    src = _source(model, opts, out)
    val = _validation(opts, calibrated=precision == "int8")
    report = ExportReport(
        source=str(model),
        source_sha256=digest,
        source_bytes=model.stat().st_size,
        target=fmt.name,
        precision=precision,
        imgsz=src.imgsz,
        max_map_drop=opts.max_map_drop,
        converter=fmt.converter,
        options_key=key,
        machine=platform.machine(),
    )
    if choice is not None:
        report.int8_weights = Int8Weights(
            bits=choice.bits, reduce_range=choice.reduce_range, cpu=choice.cpu, why=choice.why
        )
    run = ExportRun(
        source=src, stem=model.stem, opts=opts, precision=precision, out=out, report=report, base=out, progress=progress
    )
    run.base = run.artifact("fp32", "onnxruntime")
    run.step("convert: ONNX fp32", 0, 1)
    onnx2onnx(src.path, run.base, precision="fp32", opset=opts.opset, dynamic=opts.dynamic, simplify=opts.simplify)
    run.step("convert: ONNX fp32", 1, 1)
    if val is not None:
        run.calib_real, run.samples, report.validation = val
        if opts.val is not None and _is_shipped(opts.val):
            report.notes.append(SMOKE_TEST)
        run.reference = gate.reference(src.path, run.samples, src.labels, progress)
        report.source_accuracy = run.reference.accuracy
    if fmt.gpu:
        report.notes.append(f"{fmt.name} artifacts are tied to the GPU and runtime version they are built on")
    run.step(f"build {fmt.name} {precision}", 0, 1)
    artifact = fmt.build(run)
    run.step(f"build {fmt.name} {precision}", 1, 1)
    report.seconds = round(time.perf_counter() - t0, 1)
    if artifact.is_file():
        report.artifact = str(artifact)
        report.artifact_bytes = sum(f.stat().st_size for f in model_files(artifact) if f.is_file())
    write_report(report, artifact)
    return report
