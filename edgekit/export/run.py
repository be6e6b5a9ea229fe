"""``ExportRun``: one export's inputs, loaded once — source model, options, validation set and the FP32 reference,
calibration tensors — plus the report the target's ``build(run)`` fills in."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edgekit.device.artifacts import artifact_name
from edgekit.errors import EdgekitError
from edgekit.export import calib_topup, gate, valset
from edgekit.export.calib import calibration_tensors, list_images
from edgekit.export.calib_topup import MIN_CALIBRATION
from edgekit.export.report import Accuracy, Attempt, Dataset, ExportReport
from edgekit.export.source import SourceModel
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
    out: Path | None = None
    """Output folder; ``None``: the user's cache, keyed by source, size, precision, target and calibration."""
    max_map_drop: float = 1.0
    opset: int | None = None
    dynamic: bool = False
    simplify: bool = True
    calib_method: str = "minmax"
    calib_limit: int = 64
    calib_min: int = MIN_CALIBRATION
    """INT8 calibration sets smaller than this are topped up with shipped frames (see ``calib_topup``); 0: never."""
    generated: int = 24
    seed: int = 0
    workspace_mb: int = 1024
    io_dtype: str = "int8"
    reduce_range: bool | None = None
    """7-bit INT8 weights (see quantize.quantize_onnx); ``None``: chosen from the target's CPU (``weights``)."""
    target_cpu: str | None = None
    """The CPU the artifact is for, as the report names it (a profile's board); ``None``: this machine's."""
    target_dot: bool | None = None
    """Whether that CPU has 8-bit dot product (VNNI / asimddp); ``None``: this machine's, from /proc/cpuinfo."""
    force: bool = False
    """Export again even when the output folder holds an artifact made from the same source with the same options."""
    stand_in: bool = False
    """When the target's own converter is missing here (TensorRT, edgetpu_compiler), stop at the gated model it
    is built from (what an emulated profile runs) and say what to install, instead of failing."""


@dataclass
class ExportRun:
    """One export in progress. Builders read ``source``/``opts``, write files into ``out`` and fill ``report``."""

    source: SourceModel
    """The FP32 ONNX the export starts from (already resized when ``--imgsz`` differs from the file's)."""
    stem: str
    """Name the artifacts are called after (the user's model file stem)."""
    opts: ExportOptions
    precision: str
    out: Path
    report: ExportReport
    base: Path
    """``source`` with opset, batch axis and simplification applied: the FP32 ONNX every target converts."""
    samples: list[valset.Sample] | None = None
    """Validation samples (real + composites), judged by the gate."""
    calib_real: list[valset.Sample] = field(default_factory=list)
    """The labelled images split off for calibration when no ``--calib`` was given (disjoint from ``samples``)."""
    reference: gate.Reference | None = None
    progress: Progress | None = None
    _calib: npt.NDArray[np.float32] | None = None

    @property
    def imgsz(self) -> int:
        return self.source.imgsz

    def artifact(self, precision: str, runtime: str) -> Path:
        """Where the artifact for ``runtime`` at ``precision`` goes (the name the runtime plan looks for)."""
        return self.out / artifact_name(self.stem, self.imgsz, precision, runtime)

    def step(self, label: str, done: int = 0, total: int = 1) -> None:
        if self.progress is not None:
            self.progress(label, done, total)

    def gated(self) -> gate.Reference:
        """The FP32 reference; every non-FP32 export is gated, so ``export()`` required ``--val`` for it."""
        if self.reference is None:
            raise EdgekitError("this export is gated: pass --val DIR with labelled images")
        return self.reference

    def calibration(self) -> npt.NDArray[np.float32]:
        """Calibration tensors (N×3×imgsz×imgsz), made once per run and recorded in the report: ``--calib``'s
        images, else the calibration half of ``--val`` and composites made from that half only."""
        if self._calib is not None:
            return self._calib
        opts = self.opts
        size = (self.imgsz, self.imgsz)
        gen: list[valset.Sample] = []
        if opts.calib is not None:
            cb = None if self.progress is None else (lambda i, n: self.step("calibration images", i, n))
            tensors = calibration_tensors(opts.calib, self.imgsz, limit=opts.calib_limit, progress=cb)
            folder = str(opts.calib)
            names: list[str] = []
        elif self.calib_real:
            if opts.generated:
                try:  # more people at more scales for the activation ranges
                    gen = valset.generate(self.calib_real, n=opts.generated, seed=opts.seed + 1000)
                except EdgekitError as e:
                    log.warning("no composites for calibration: %s", e)
            picked = [*self.calib_real, *gen][: max(opts.calib_limit, len(self.calib_real))]
            tensors = np.stack([letterbox(s.image, size)[0][0] for s in picked])
            folder = f"{opts.val} (calibration half)"
            names = [s.name for s in self.calib_real]
        elif self.precision != "int8" and self.samples:  # FP32/FP16 TFLite: only onnx2tf's sample file needs it
            tensors = np.stack([letterbox(s.image, size)[0][0] for s in self.samples[: opts.calib_limit]])
            folder, names = str(opts.val), []
        else:
            raise EdgekitError("INT8 needs calibration images: pass --calib DIR (or --val DIR to split it)")
        added = calib_topup.TopUp(tensors[:0])
        if self.precision == "int8" and len(tensors) < opts.calib_min:
            added = calib_topup.top_up(opts.calib_min - len(tensors), self.imgsz, self._avoid(), seed=opts.seed)
            tensors = np.concatenate([tensors, added.tensors])
        self._calib = tensors
        self.report.calibration = Dataset(
            images=len(tensors),
            folder=folder,
            generated=len(gen),
            seed=opts.seed + 1000,
            method=opts.calib_method,
            real=names,
            topped_up=len(added.names),
            top_up=added.names,
        )
        if added.names:
            own = len(tensors) - len(added.names)
            src = ", ".join(f"{n} {k} frames" for k, n in added.sources.items())
            self.report.calibration.why = (
                f"{own} calibration frames are fewer than the {opts.calib_min} INT8 needs for stable activation "
                f"ranges: topped up with {len(added.names)} shipped frames not in the validation set ({src})"
            )
            self.report.notes.append(f"calibration: {self.report.calibration.why}; {calib_topup.PROVENANCE}")
        return tensors

    def _avoid(self) -> set[str]:
        """sha256 of every image file already calibrated on or judged by the gate (never added twice)."""
        files = list_images(self.opts.calib, "calibration") if self.opts.calib is not None else []
        if self.opts.val is not None:
            files += list_images(valset.images_dir(self.opts.val), "validation")
        return calib_topup.file_digests(files)

    def score(self, path: Path, name: str, box_scale: float = 1.0) -> Attempt:
        """Gate ``path`` against the FP32 reference."""
        return gate.score(self.gated(), path, name, self.opts.max_map_drop, box_scale, self.progress)

    def apply(self, a: Attempt) -> None:
        """Copy an attempt's scores into the report's top level."""
        r = self.report
        r.accuracy = a.accuracy if isinstance(a.accuracy, Accuracy) else None
        r.map_drop = a.map_drop
        r.parity = a.parity
        r.nodes_in_float = a.nodes_in_float
        r.passed = a.passed
