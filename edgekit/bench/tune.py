"""``edgekit tune``: measure a profile's candidate plans on this machine, inside the real pipeline, and keep the
fastest one that stays accurate as the host's plan.

Each trial's model is exported through the export legs (accuracy-gated against FP32, cached: a re-run converts
nothing), opened with the trial's threads and spinning, and run in the daemon's camera worker on a recorded video
(``tune_measure``). A trial is dropped when its export fails the gate, or when its mAP50-95 is more than
``max_map_drop`` points below ONNX Runtime FP32 at the profile's size (the baseline, always measured first).
A cached export that was made and gated on another kind of machine (its report's ``machine``: exports made on a
workstation and copied to the board) is judged again here, with this machine's runtimes, before its row is kept.
Nothing is written here: the caller saves the winner (``edgekit.device.tuned.save_plan``) once all is done.
"""

from __future__ import annotations

import datetime as dt
import platform
import statistics
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from edgekit.backends import BackendOptions, get_runtime, open_backend
from edgekit.backends.threads import spin_switch
from edgekit.bench.tune_measure import measure_pipeline, tune_video
from edgekit.bench.tune_trials import Mode, Trial, expand, unavailable
from edgekit.device.cpu import host_cpu
from edgekit.device.host import HostInfo
from edgekit.device.modelcards import ModelCard, resolve_model
from edgekit.device.plan import plan_runtime, source_sha256
from edgekit.device.profiles import DeviceProfile
from edgekit.device.tuned import TunedPlan, cpu_key
from edgekit.errors import EdgekitError
from edgekit.export import ExportOptions, export, gate, valset
from edgekit.export.pipeline import validation_samples
from edgekit.export.report import ExportReport
from edgekit.paths import cache_dir
from edgekit.vision.detector import Detector

Say = Callable[[str], None]


@dataclass(frozen=True)
class TuneOptions:
    """What to tune and how long to spend on each trial."""

    mode: Mode = "quick"
    val: Path | None = None
    """Labelled images for the accuracy gate (default: the shipped validation set, a smoke test)."""
    video: Path | None = None
    """The recorded video (default: a synthetic 720p clip of people walking, made once into the cache)."""
    frames: int | None = None
    """Frames timed per block (default: 15 quick, 20 full)."""
    rounds: int | None = None
    """Blocks per trial, interleaved (default: 2 quick, 3 full)."""
    warmup: int = 5
    """Frames run before each block's timing starts."""
    max_map_drop: float = 1.0
    runtimes: tuple[str, ...] = ()
    imgsz: int | None = None
    """Every trial at this input size (default: each candidate's, else the profile's)."""


@dataclass
class TrialResult:
    """One row of the table: the trial, what became of it, and what was measured."""

    trial: Trial
    status: str = "measured"
    """measured, dropped (accuracy), skipped (not runnable here) or failed (export or run error)."""
    why: str = ""
    fps: float | None = None
    """Median pipeline FPS over the rounds."""
    ratio: float | None = None
    """Median over the rounds of this row's FPS ÷ the baseline's in the same round."""
    block_fps: list[float] = field(default_factory=list)
    block_ratio: list[float] = field(default_factory=list)
    map50_95: float | None = None
    """mAP50-95 of the export on the samples its gate judged it on."""
    map_drop: float | None = None
    """Points below ONNX Runtime FP32 at the profile's size (see ``map_drop``)."""
    artifact: str = ""
    judged_on: str = ""
    """The machine (uname -m) whose runtimes gave ``map50_95``: this one, or where a cached export was gated."""
    pipeline: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**self.trial.to_dict(), "label": self.trial.label, "status": self.status, "why": self.why,
                "fps": self.fps, "x_fp32": self.ratio, "block_fps": self.block_fps,
                "block_x_fp32": [round(r, 3) for r in self.block_ratio], "map50_95": self.map50_95,
                "map_drop": self.map_drop, "artifact": self.artifact, "judged_on": self.judged_on,
                "pipeline": self.pipeline}


@dataclass
class TuneResult:
    """Every trial in order, the baseline (the first) and the winner (fastest kept; ``None`` when none was)."""

    profile: DeviceProfile
    card: ModelCard
    model_sha256: str
    rows: list[TrialResult]
    emulated: bool
    mode: Mode

    @property
    def baseline(self) -> TrialResult:
        return self.rows[0]

    @property
    def winner(self) -> TrialResult | None:
        kept = [r for r in self.rows if r.status == "measured" and r.ratio]
        return max(kept, key=lambda r: r.ratio or 0.0) if kept else None

    def plan(self) -> TunedPlan | None:
        """The winner as the host's plan."""
        w, cpu = self.winner, host_cpu()
        if w is None:
            return None
        return TunedPlan(
            profile=self.profile.name, model=self.card.name, model_sha256=self.model_sha256, cpu=cpu.name,
            cpu_key=cpu_key(cpu), runtime=w.trial.runtime, precision=w.trial.precision, imgsz=w.trial.imgsz,
            threads=w.trial.threads, spinning=w.trial.spinning, streams=w.trial.streams, artifact=w.artifact,
            fps=w.fps or 0.0,
            baseline_fps=self.baseline.fps, x_fp32=w.ratio, map50_95=w.map50_95, map_drop=w.map_drop,
            baseline_map50_95=self.baseline.map50_95,
            mode=self.mode, created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))

    def to_dict(self) -> dict[str, Any]:
        w, plan = self.winner, self.plan()
        return {"profile": self.profile.name, "model": self.card.name, "mode": self.mode, "emulated": self.emulated,
                "cpu": host_cpu().name, "rows": [r.to_dict() for r in self.rows],
                "winner": w.trial.label if w else None, "plan": plan.model_dump(mode="json") if plan else None}


def _options(trial: Trial, opts: TuneOptions) -> ExportOptions:
    return ExportOptions(target=get_runtime(trial.runtime).target, precision=trial.precision, imgsz=trial.imgsz,
                         val=opts.val or valset.SHIPPED, max_map_drop=opts.max_map_drop)


def _export(trial: Trial, model: Path, opts: TuneOptions) -> ExportReport:
    return export(model, _options(trial, opts))


References = dict[tuple[int, tuple[str, ...]], gate.Reference]
"""FP32 references judged here, by input size and sample names: each is run once per tune."""


def judge_here(rep: ExportReport, trial: Trial, model: Path, opts: TuneOptions, labels: list[str],
               refs: References) -> ExportReport:
    """``rep`` (a cached export gated on another machine) judged again on this machine: the same validation samples
    as its gate, the FP32 reference (ONNX Runtime FP32 at the trial's size, itself cached) and the artifact both run
    here. A runtime that computes differently on this CPU shows up in the mAP, not hidden behind the other
    machine's verdict."""
    samples = validation_samples(_options(trial, opts))
    key = (trial.imgsz, tuple(s.name for s in samples))
    if key not in refs:
        fp32 = rep if rep.target == "onnx" and rep.precision == "fp32" else \
            _export(replace(trial, runtime="onnxruntime", precision="fp32"), model, opts)
        refs[key] = gate.reference(Path(fp32.artifact or ""), samples, labels)
    ref = refs[key]
    out = rep.model_copy(deep=True)
    out.machine, out.source_accuracy = platform.machine(), ref.accuracy
    if rep.accuracy is not None and rep.artifact:
        a = gate.score(ref, Path(rep.artifact), trial.label, rep.max_map_drop or opts.max_map_drop, rep.box_scale)
        out.accuracy, out.map_drop, out.parity, out.passed = a.accuracy, a.map_drop, a.parity, a.passed
    return out


def _accuracy(rep: ExportReport) -> float | None:
    acc = rep.accuracy or rep.source_accuracy
    return acc.map50_95 if acc is not None else None


def open_trial(trial: Trial, artifact: Path, card: ModelCard, profile: DeviceProfile) -> Detector:
    rt = get_runtime(trial.runtime)
    options = BackendOptions(threads=trial.threads, spinning=spin_switch(trial.spinning), streams=trial.streams,
                             providers=("CPUExecutionProvider",) if rt.name == "onnxruntime" else None)
    backend = open_backend(artifact, options, rt.backend)
    return Detector(backend, list(card.labels), conf=profile.runtime.conf, iou=profile.runtime.iou,
                    imgsz=trial.imgsz)


def map_drop(trial: Trial, rep: ExportReport, base: Trial, base_map: float | None, model: Path,
             opts: TuneOptions) -> float | None:
    """mAP50-95 points ``trial`` loses against ONNX Runtime FP32 at the profile's size (``base``).

    Each figure is compared on the samples it was judged on: the export's own drop against FP32 at the trial's size
    (an INT8 export is judged on the half of the set it was not calibrated on), plus, at another size, what FP32
    itself loses from the profile's size to that one (both on the whole set).
    """
    own = rep.map_drop or 0.0
    if base_map is None or trial.imgsz == base.imgsz:
        return own
    fp32 = rep if rep.precision != "int8" else _export(replace(base, imgsz=trial.imgsz), model, opts)
    src = fp32.source_accuracy
    return round(own + base_map - src.map50_95, 2) if src is not None else None


def prepare_trial(trial: Trial, model: Path, profile: DeviceProfile, opts: TuneOptions,
                  base: TrialResult | None, labels: list[str] | None = None,
                  refs: References | None = None) -> TrialResult:
    """Export ``trial`` (gated, cached) and check its accuracy; a failure is a row, not an exception. With
    ``labels``, a cached export gated on another machine is judged again here (``judge_here``)."""
    row = TrialResult(trial)
    try:
        rep = _export(trial, model, opts)
        if labels is not None and rep.reused and rep.machine and rep.machine != platform.machine():
            rep = judge_here(rep, trial, model, opts, labels, {} if refs is None else refs)
        row.map50_95, row.artifact = _accuracy(rep), rep.artifact or ""
        row.judged_on = rep.machine or platform.machine()
        row.map_drop = 0.0 if base is None else map_drop(trial, rep, base.trial, base.map50_95, model, opts)
    except EdgekitError as e:
        row.status, row.why = "failed", f"export failed: {e}"
        return row
    if rep.passed is False or not rep.artifact:
        row.status, row.why = "dropped", f"failed the accuracy gate (mAP50-95 drop {rep.map_drop} > " \
                                         f"{rep.max_map_drop} against FP32 at {trial.imgsz})"
    elif row.map_drop is not None and row.map_drop > opts.max_map_drop:
        size = base.trial.imgsz if base else trial.imgsz
        row.status = "dropped"
        row.why = f"mAP50-95 {row.map_drop:.2f} points below ONNX Runtime FP32 at {size} (limit {opts.max_map_drop})"
    return row


def measure_block(row: TrialResult, card: ModelCard, profile: DeviceProfile, video: Path, warmup: int) -> float:
    """One timed block of ``row``'s plan in the camera pipeline (opened for the block, closed after); its FPS."""
    det = open_trial(row.trial, Path(row.artifact), card, profile)
    try:
        row.pipeline = measure_pipeline(det, video, warmup)
    finally:
        det.close()
    fps: float = row.pipeline["fps"]
    row.block_fps.append(fps)
    return fps


def measure_rounds(rows: list[TrialResult], card: ModelCard, profile: DeviceProfile, video: Path, opts: TuneOptions,
                   say: Say) -> None:
    """Time every kept row once per round, in a rotating order, and rate it against the baseline's block of the
    same round: on a machine whose load drifts, blocks moments apart compare fairly where whole trials minutes
    apart would not. FPS and × FP32 are medians over the rounds."""
    kept = [r for r in rows if r.status == "measured"]
    for i in range(opts.rounds or (2 if opts.mode == "quick" else 3)):
        fps: dict[int, float] = {}
        for row in kept[i % len(kept):] + kept[:i % len(kept)]:
            if row.status != "measured":
                continue
            say(f"round {i + 1}: measure {row.trial.label} …")
            try:
                fps[id(row)] = measure_block(row, card, profile, video, opts.warmup)
            except EdgekitError as e:
                row.status, row.why = "failed", str(e)
        base = fps.get(id(kept[0]))
        for row in kept:
            if base and id(row) in fps:
                row.block_ratio.append(fps[id(row)] / base)
    for row in kept:
        row.fps = round(statistics.median(row.block_fps), 3) if row.block_fps else None
        row.ratio = round(statistics.median(row.block_ratio), 3) if row.block_ratio else None


def tune(profile: DeviceProfile, host: HostInfo, model: str | None, opts: TuneOptions,
         say: Say = lambda s: None) -> TuneResult:
    """Measure ``profile``'s candidates for ``model`` (card; default: the profile's) on ``host``."""
    card, path = resolve_model(model or profile.runtime.model)
    if card is None:
        raise EdgekitError(f"tune needs a model card (a name from `edgekit models` or a card YAML), not a file: "
                           f"{path}")
    frames = opts.frames or (15 if opts.mode == "quick" else 20)
    video = opts.video or tune_video(cache_dir() / "tune", frames + opts.warmup)
    rows: list[TrialResult] = []
    refs: References = {}
    for trial in expand(profile, opts.mode, host.cores, opts.runtimes, opts.imgsz):
        skip = unavailable(trial, host)
        if skip is not None:
            rows.append(TrialResult(trial, status="skipped", why=skip))
            say(f"{trial.label}: {skip}")
            continue
        say(f"{trial.label}: export and check …")
        row = prepare_trial(trial, path, profile, opts, rows[0] if rows else None, list(card.labels), refs)
        rows.append(row)
        if row.status != "measured":
            say(f"{trial.label}: {row.status} ({row.why})")
    if rows[0].status == "measured":
        measure_rounds(rows, card, profile, video, opts, say)
    if rows[0].status != "measured":
        raise EdgekitError(f"the baseline ({rows[0].trial.label}) could not be measured: {rows[0].why}")
    emulated = plan_runtime(profile, host, path, card, tuned=False).emulated
    return TuneResult(profile, card, source_sha256(card, path), rows, emulated, opts.mode)
