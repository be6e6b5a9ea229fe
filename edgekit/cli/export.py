"""``edgekit export``: convert and quantize a model for a device, gated on accuracy, with a report."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from edgekit.cli._common import err_console, print_json
from edgekit.cli._progress import progress
from edgekit.errors import EdgekitError

if TYPE_CHECKING:
    from edgekit.export.report import ExportReport
    from edgekit.export.run import ExportOptions


def _summary(r: ExportReport) -> str:
    verdict = {True: "passed", False: "FAILED", None: "not gated"}[r.passed]
    if r.reused:
        verdict = f"reused (exported earlier with the same options), {verdict}"
    acc = (
        f"mAP50-95 {r.accuracy.map50_95:.2f} (source {r.source_accuracy.map50_95:.2f})"
        if (r.accuracy and r.source_accuracy)
        else "no accuracy (no --val)"
    )
    bits = f"; {r.int8_weights.bits}-bit weights for {r.int8_weights.cpu}" if r.int8_weights else ""
    return f"{r.target} {r.precision}: {verdict}; {acc}{bits}; {r.artifact}"


def _profile_job(
    model: str | None, profile: str, to: str | None, precision: str | None, imgsz: int | None, val: Path | None
) -> tuple[Path, dict[str, Any]]:
    """The model file and option defaults ``--profile`` gives: its model, target, precision, input size,
    the shipped validation set, and a stand-in where the board's own converter is missing here."""
    from edgekit.backends.tensorrt_build import workspace_for
    from edgekit.device.modelcards import resolve_model
    from edgekit.device.profiles import load_profile
    from edgekit.export.formats import target_for_profile
    from edgekit.export.valset import SHIPPED

    prof = load_profile(profile)
    fmt, prec = target_for_profile(prof)
    _, path = resolve_model(model or prof.runtime.model)
    return path, {
        "target": to or fmt.name,
        "precision": precision or prec,
        "imgsz": imgsz or prof.runtime.imgsz,
        "val": val or SHIPPED,
        "workspace_mb": workspace_for(prof.budgets.model_mb),
        "stand_in": to is None,
        "target_cpu": f"{prof.name} ({prof.board.cpu})",
        "target_dot": prof.board.dot_product,
    }


def _reduce_range(bits: str) -> bool | None:
    """``--int8-weights``: ``auto`` → ``None`` (chosen from the target's CPU), ``7`` → reduce_range, ``8`` → not."""
    table = {"auto": None, "8": False, "7": True}
    if bits not in table:
        raise EdgekitError(f"--int8-weights must be auto, 8 or 7, not {bits!r}")
    return table[bits]


def _recipe_jobs(recipe: Path, out: Path | None) -> list[tuple[Path, ExportOptions]]:
    from edgekit.export.recipe import load_recipe, recipe_paths
    from edgekit.export.run import ExportOptions

    rec, base = load_recipe(recipe)
    p = recipe_paths(rec, base)
    if p["model"] is None:
        raise EdgekitError(f"recipe {recipe} names no model")
    common: dict[str, Any] = {
        "imgsz": rec.imgsz,
        "calib": p["calib"],
        "val": p["val"],
        "out": p["out"] or out,
        "max_map_drop": rec.max_map_drop,
        "opset": rec.opset,
        "dynamic": rec.dynamic,
        "simplify": rec.simplify,
        "calib_method": rec.calib_method,
        "generated": rec.generated,
        "seed": rec.seed,
    }
    return [(p["model"], ExportOptions(target=t.to, precision=t.precision, **common)) for t in rec.targets]


def register(app: typer.Typer) -> None:
    """Add ``edgekit export`` to ``app``."""

    @app.command("export")
    def export_cmd(
        model: str | None = typer.Argument(
            None, help="ONNX or Ultralytics .pt file, or a model card name (default with --profile: its model)"
        ),
        to: str | None = typer.Option(None, "--to", help="onnx, tensorrt, tflite, edgetpu, openvino or ncnn"),
        precision: str | None = typer.Option(None, "--precision", help="fp32, fp16, bf16 (openvino) or int8"),
        profile: str | None = typer.Option(
            None, "--profile", help="Device profile: its model, target, precision, input size and workspace"
        ),
        calib: Path | None = typer.Option(None, "--calib", help="Calibration images (default: --val's images)"),
        val: Path | None = typer.Option(
            None, "--val", help="Labelled validation images (COCO json or YOLO txt; with --profile: the shipped set)"
        ),
        imgsz: int | None = typer.Option(None, "--imgsz", help="Input size (multiple of 32, 160-1280)"),
        max_map_drop: float = typer.Option(1.0, "--max-map-drop", help="Largest mAP50-95 drop (points) to accept"),
        out: Path | None = typer.Option(None, "--out", help="Output folder (default: the user's cache)"),
        calib_method: str = typer.Option("minmax", "--calib-method", help="minmax, entropy or percentile"),
        generated: int = typer.Option(24, "--generated", help="Composite images added to the validation set"),
        calib_min: int | None = typer.Option(
            None, "--calib-min", min=0, help="Top INT8 calibration up to this many frames with shipped ones "
            "(default 24; 0: never; ONNX Runtime and TensorRT INT8 only)"
        ),
        opset: int | None = typer.Option(None, "--opset", help="ONNX opset of the exported model"),
        dynamic: bool = typer.Option(False, "--dynamic", help="Dynamic batch axis"),
        recipe: Path | None = typer.Option(None, "--recipe", help="export/NAME.yaml recipe"),
        int8_weights: str = typer.Option(
            "auto", "--int8-weights", help="auto (8-bit where the target CPU has VNNI / dot product, else 7), 8 or 7"
        ),
        force: bool = typer.Option(False, "--force", help="Export again even when the same export is already made"),
        as_json: bool = typer.Option(False, "--json", help="Print the report(s) as JSON"),
    ) -> None:
        """Export MODEL for a device; INT8/FP16/TFLite exports must pass the accuracy gate (exit 1 if not)."""
        from edgekit.device.modelcards import resolve_model
        from edgekit.export.formats import get_format
        from edgekit.export.pipeline import export
        from edgekit.export.run import ExportOptions

        if recipe is not None:
            rr = _reduce_range(int8_weights)
            jobs = [(m, replace(o, force=force, reduce_range=rr)) for m, o in _recipe_jobs(recipe, out)]
        else:
            if profile is not None:
                path, defaults = _profile_job(model, profile, to, precision, imgsz, val)
            elif model is None:
                raise EdgekitError("pass a MODEL file, --profile NAME or --recipe export/NAME.yaml")
            else:
                path = resolve_model(model)[1]
                defaults = {"target": to or "onnx", "precision": precision or "fp32", "imgsz": imgsz, "val": val}
            defaults["target"] = get_format(defaults["target"]).name
            opts = ExportOptions(
                calib=calib,
                out=out,
                max_map_drop=max_map_drop,
                opset=opset,
                dynamic=dynamic,
                calib_method=calib_method,
                generated=generated,
                reduce_range=_reduce_range(int8_weights),
                force=force,
                **defaults,
            )
            jobs = [(path, opts if calib_min is None else replace(opts, calib_min=calib_min))]
        reports = []
        with progress(enabled=not as_json) as step:
            for m, o in jobs:
                reports.append(export(m, o, progress=step))
        for r in reports:
            for line in r.skipped:
                err_console.print(f"[yellow]not built here[/]: {line}", soft_wrap=True)
        if as_json:
            print_json(
                [r.model_dump(mode="json") for r in reports] if len(reports) > 1 else reports[0].model_dump(mode="json")
            )
        else:
            for r in reports:
                typer.echo(_summary(r))
        if any(r.passed is False for r in reports):
            raise typer.Exit(1)
