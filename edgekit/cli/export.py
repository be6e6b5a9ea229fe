"""``edgekit export``: convert and quantize a model for a device, gated on accuracy, with a report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from edgekit.cli._common import err_console, print_json
from edgekit.errors import EdgekitError

if TYPE_CHECKING:
    from edgekit.export.report import ExportReport


def _progress_bar() -> tuple[Progress, object]:
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
    )
    tasks: dict[str, int] = {}

    def update(label: str, done: int, total: int) -> None:
        if label not in tasks:
            tasks[label] = bar.add_task(label, total=max(total, 1))
        bar.update(tasks[label], completed=done, total=max(total, 1))  # type: ignore[arg-type]

    return bar, update


def _summary(r: ExportReport) -> str:
    verdict = {True: "passed", False: "FAILED", None: "not gated"}[r.passed]
    acc = (
        f"mAP50-95 {r.accuracy.map50_95:.2f} (source {r.source_accuracy.map50_95:.2f})"
        if (r.accuracy and r.source_accuracy)
        else "no accuracy (no --val)"
    )
    return f"{r.target} {r.precision}: {verdict}; {acc}; {r.artifact}"


def register(app: typer.Typer) -> None:
    """Add ``edgekit export`` to ``app``."""

    @app.command("export")
    def export_cmd(
        model: Path | None = typer.Argument(None, help="ONNX (or Ultralytics .pt) model to export"),
        to: str | None = typer.Option(None, "--to", help="onnx, tensorrt, tflite or edgetpu"),
        precision: str | None = typer.Option(None, "--precision", help="fp32, fp16 or int8"),
        profile: str | None = typer.Option(None, "--profile", help="Device profile: target, precision, workspace"),
        calib: Path | None = typer.Option(None, "--calib", help="Calibration images (default: --val's images)"),
        val: Path | None = typer.Option(None, "--val", help="Labelled validation images (COCO json or YOLO txt)"),
        imgsz: int | None = typer.Option(None, "--imgsz", help="Input size (must match a fixed-size ONNX)"),
        max_map_drop: float = typer.Option(1.0, "--max-map-drop", help="Largest mAP50-95 drop (points) to accept"),
        out: Path = typer.Option(Path("export-out"), "--out", help="Output folder"),
        calib_method: str = typer.Option("minmax", "--calib-method", help="minmax, entropy or percentile"),
        generated: int = typer.Option(24, "--generated", help="Composite images added to the validation set"),
        opset: int | None = typer.Option(None, "--opset", help="ONNX opset of the exported model"),
        dynamic: bool = typer.Option(False, "--dynamic", help="Dynamic batch axis"),
        recipe: Path | None = typer.Option(None, "--recipe", help="export/NAME.yaml recipe"),
        as_json: bool = typer.Option(False, "--json", help="Print the report(s) as JSON"),
    ) -> None:
        """Export MODEL for a device; INT8/FP16/TFLite exports must pass the accuracy gate (exit 1 if not)."""
        from edgekit.device.profiles import load_profile
        from edgekit.export.formats import get_format, target_for_profile
        from edgekit.export.onnx2engine import workspace_for
        from edgekit.export.pipeline import ExportOptions, export

        jobs: list[tuple[Path, ExportOptions]] = []
        if recipe is not None:
            from edgekit.export.recipe import load_recipe, recipe_paths

            rec, base = load_recipe(recipe)
            p = recipe_paths(rec, base)
            if p["model"] is None:
                raise EdgekitError(f"recipe {recipe} names no model")
            for t in rec.targets:
                jobs.append(
                    (
                        p["model"],
                        ExportOptions(
                            target=t.to,
                            precision=t.precision,
                            imgsz=rec.imgsz,
                            calib=p["calib"],
                            val=p["val"],
                            out=p["out"] or out,
                            max_map_drop=rec.max_map_drop,
                            opset=rec.opset,
                            dynamic=rec.dynamic,
                            simplify=rec.simplify,
                            calib_method=rec.calib_method,
                            generated=rec.generated,
                            seed=rec.seed,
                        ),
                    )
                )
        else:
            if model is None:
                raise EdgekitError("pass a MODEL file or --recipe export/NAME.yaml")
            workspace = 1024
            if profile is not None:
                prof = load_profile(profile)
                fmt, prec = target_for_profile(prof)
                to, precision = to or fmt.name, precision or prec
                workspace = workspace_for(prof.budgets.model_mb)
            target = get_format(to or "onnx").name
            jobs.append(
                (
                    model,
                    ExportOptions(
                        target=target,
                        precision=precision or "fp32",
                        imgsz=imgsz,
                        calib=calib,
                        val=val,
                        out=out,
                        max_map_drop=max_map_drop,
                        opset=opset,
                        dynamic=dynamic,
                        calib_method=calib_method,
                        generated=generated,
                        workspace_mb=workspace,
                    ),
                )
            )
        reports = []
        bar, update = _progress_bar()
        with bar:
            for m, o in jobs:
                reports.append(export(m, o, progress=update))  # type: ignore[arg-type]
        if as_json:
            print_json(
                [r.model_dump(mode="json") for r in reports] if len(reports) > 1 else reports[0].model_dump(mode="json")
            )
        else:
            for r in reports:
                typer.echo(_summary(r))
        if any(r.passed is False for r in reports):
            raise typer.Exit(1)
