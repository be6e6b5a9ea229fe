"""The report written next to every exported artifact: JSON (source of truth) and Markdown rendered from it."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

REPORT_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClassAccuracy(_Strict):
    """COCO mAP of one class; ``None`` when the validation set has no box of it (not judged)."""

    boxes: int
    map50_95: float | None = None
    map50: float | None = None


class Accuracy(_Strict):
    """COCO mAP in points (0..100) of class-agnostic boxes, what it was judged on, and the same per class."""

    map50_95: float
    map50: float
    images: int = 0
    boxes: int = 0
    per_class: dict[str, ClassAccuracy] = Field(default_factory=dict)


class Attempt(_Strict):
    """One try at a quantized export, as scored by the gate."""

    name: str
    nodes_in_float: list[str] = Field(default_factory=list)
    accuracy: Accuracy | None = None
    map_drop: float | None = None
    parity: dict[str, Any] = Field(default_factory=dict)
    passed: bool = False
    artifact: str | None = None
    note: str = ""


class Dataset(_Strict):
    """What a calibration or validation set was made of."""

    images: int
    boxes: int = 0
    folder: str | None = None
    generated: int = 0
    seed: int | None = None
    method: str | None = None
    real: list[str] = Field(default_factory=list, description="The labelled photos used (not the composites)")
    topped_up: int = Field(0, description="Frames added because the set was too small (see top_up and why)")
    top_up: list[str] = Field(default_factory=list, description="The added frames: synthetic/… or assets/…")
    why: str = ""


class Int8Weights(_Strict):
    """The INT8 weight width chosen for the CPU the model runs on (see ``export.weights``)."""

    bits: int
    reduce_range: bool
    cpu: str = Field(description="The CPU the choice was made for")
    why: str


class ExportReport(_Strict):
    """Everything a user needs to trust (or reject) an artifact."""

    version: int = REPORT_VERSION
    source: str
    source_sha256: str
    source_bytes: int
    target: str
    precision: str
    imgsz: int
    artifact: str | None = None
    artifact_bytes: int | None = Field(None, description="Size of the artifact with the weights file beside it, if any")
    converter: str = ""
    box_scale: float = Field(1.0, description="Multiply the output's box rows by this (imgsz = normalised boxes)")
    int8_weights: Int8Weights | None = None
    calibration: Dataset | None = None
    validation: Dataset | None = None
    source_accuracy: Accuracy | None = None
    accuracy: Accuracy | None = None
    map_drop: float | None = None
    max_map_drop: float | None = None
    parity: dict[str, Any] = Field(default_factory=dict)
    attempts: list[Attempt] = Field(default_factory=list)
    nodes_in_float: list[str] = Field(default_factory=list)
    passed: bool | None = None
    extra: dict[str, Any] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list, description="Steps not run on this host, and what they need")
    seconds: float = 0.0
    options_key: str | None = Field(
        None, description="sha256 of the source and every option that changes the artifact: an export with the same "
        "key in the same folder is reused"
    )
    reused: bool = Field(False, description="This run found the artifact already made (same options_key) and reused it")
    machine: str = Field("", description="The machine (uname -m) the export was built and gated on: a cached export "
                         "copied to another kind of CPU is judged again there by `edgekit tune`")


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def report_paths(artifact: Path) -> tuple[Path, Path]:
    """``<artifact>.report.json`` and ``.report.md`` next to the artifact."""
    return artifact.with_name(artifact.name + ".report.json"), artifact.with_name(artifact.name + ".report.md")


def _acc(a: Accuracy | None) -> str:
    return "—" if a is None else f"{a.map50_95:.2f} / {a.map50:.2f}"


def to_markdown(r: ExportReport) -> str:
    """A human-readable summary of the report."""
    verdict = {True: "PASSED", False: "FAILED", None: "not gated"}[r.passed]
    lines = [
        f"# Export report: {Path(r.source).name} → {r.target} {r.precision} — {verdict}",
        "",
        "| field | value |",
        "|---|---|",
        f"| source | `{r.source}` ({r.source_bytes / 1e6:.1f} MB, sha256 `{r.source_sha256[:12]}…`) |",
        f"| artifact | `{r.artifact}` ({(r.artifact_bytes or 0) / 1e6:.1f} MB) |",
        f"| converter | {r.converter} |",
        f"| input size | {r.imgsz} |",
        f"| box scale | {r.box_scale:g} |",
    ]
    if r.reused:
        lines.append("| reused | yes: made earlier from the same source and options (`--force` exports again) |")
    if r.int8_weights:
        w = r.int8_weights
        lines.append(f"| INT8 weights | {w.bits}-bit: {w.why} |")
    if r.calibration:
        c = r.calibration
        added = f", {c.topped_up} topped up: {c.why}" if c.topped_up else ""
        lines.append(f"| calibration | {c.images} images ({c.generated} generated{added}), method {c.method} |")
    if r.validation:
        v = r.validation
        lines.append(
            f"| validation | {v.images} images ({v.generated} generated, seed {v.seed}), {v.boxes} boxes; "
            f"photos: {', '.join(v.real) or '—'} |"
        )
    if r.calibration and r.calibration.real:
        lines.append(f"| calibration photos | {', '.join(r.calibration.real)} |")
    lines += [
        f"| mAP50-95 / mAP50 source | {_acc(r.source_accuracy)} |",
        f"| mAP50-95 / mAP50 export | {_acc(r.accuracy)} |",
        f"| mAP50-95 drop (limit) | {r.map_drop if r.map_drop is not None else '—'} ({r.max_map_drop}) |",
        f"| parity | {', '.join(f'{k}={v}' for k, v in r.parity.items()) or '—'} |",
        f"| nodes kept in float | {len(r.nodes_in_float)} |",
        f"| time | {r.seconds:.0f} s |",
    ]
    lines += _per_class(r)
    if r.attempts:
        lines += [
            "",
            "## Attempts",
            "",
            "| attempt | weights / IO | nodes in float | mAP50-95 / mAP50 | drop | box recall | passed |",
            "|---|---|---|---|---|---|---|",
        ]
        for a in r.attempts:
            recall = a.parity.get("box_recall", "—")
            drop = "—" if a.map_drop is None else f"{a.map_drop:.2f}"
            lines.append(
                f"| {a.name} | {a.note or '—'} | {len(a.nodes_in_float)} | {_acc(a.accuracy)} | {drop} | {recall} | "
                f"{a.passed} |"
            )
    if r.nodes_in_float:
        lines += ["", "## Nodes kept in float", "", *[f"- `{n}`" for n in r.nodes_in_float]]
    if r.notes:
        lines += ["", "## Notes", "", *[f"- {n}" for n in r.notes]]
    if r.skipped:
        lines += ["", "## Not built here", "", *[f"- {n}" for n in r.skipped]]
    mAP_note = (
        "mAP is COCO-style (faster-coco-eval). The gate decides on class-agnostic boxes (both model classes, e.g. "
        "Normal/Fall, count as person); the per-class table shows each class on its own."
    )
    return "\n".join([*lines, "", mAP_note, ""])


def _per_class(r: ExportReport) -> list[str]:
    """A table of mAP per class, source and export (classes without a labelled box were not judged)."""
    src = r.source_accuracy.per_class if r.source_accuracy else {}
    got = r.accuracy.per_class if r.accuracy else {}
    if not src and not got:
        return []

    def cell(c: ClassAccuracy | None) -> str:
        if c is None or c.map50_95 is None:
            return "not judged (no box)"
        return f"{c.map50_95:.2f} / {c.map50:.2f}"

    out = ["", "## Per class (mAP50-95 / mAP50)", "", "| class | boxes | source | export |", "|---|---|---|---|"]
    for name in src or got:
        c = src.get(name) or got.get(name)
        out.append(f"| {name} | {c.boxes if c else 0} | {cell(src.get(name))} | {cell(got.get(name))} |")
    return out


def write_report(r: ExportReport, artifact: Path) -> tuple[Path, Path]:
    """Write the JSON and Markdown reports next to ``artifact``."""
    js, md = report_paths(artifact)
    js.write_text(r.model_dump_json(indent=2) + "\n")
    md.write_text(to_markdown(r))
    return js, md
