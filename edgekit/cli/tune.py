"""``edgekit tune``: measure a profile's candidate plans here, in the real pipeline, and keep the winner."""

from __future__ import annotations

import signal
from pathlib import Path
from types import FrameType
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from edgekit.cli._common import console, err_console, print_json
from edgekit.errors import EdgekitError


class _Terminated(BaseException):
    """Raised in the main thread by SIGTERM, so no ``except EdgekitError`` on the way swallows it."""


def _on_term(signum: int, frame: FrameType | None) -> None:
    raise _Terminated(signal.Signals(signum).name)


def _check_runtimes(names: list[str], runtimes: dict[str, bool]) -> None:
    """``--runtime`` names that this edgekit or host cannot run: one line, exit 2."""
    from edgekit.backends.runtimes import RUNTIMES, available
    from edgekit.bench.tune_trials import install_hint

    for name in names:
        rt = RUNTIMES.get(name)
        if rt is None or not available(rt, runtimes):
            raise EdgekitError(f"--runtime {name}: {install_hint(name)}")


def _table(data: dict[str, Any]) -> Table:
    t = Table("trial", "FPS", "× FP32", "mAP50-95", "Δ mAP vs FP32", "result",
              title=f"tune {data['profile']} / {data['model']} ({data['mode']}) on {data['cpu']}")
    for r in data["rows"]:
        fps = f"{r['fps']:.2f}" if r["fps"] else "—"
        ratio = f"{r['x_fp32']:.2f}" if r["x_fp32"] else "—"
        acc = f"{r['map50_95']:.2f}" if r["map50_95"] is not None else "—"
        drop = f"{-r['map_drop']:+.2f}" if r["map_drop"] is not None else "—"
        mark = "[bold green]winner[/]" if r["label"] == data["winner"] else r["status"]
        t.add_row(r["label"], fps, ratio, acc, drop, f"{mark}{': ' + escape(r['why']) if r['why'] else ''}")
    return t


def tune_cmd(
    profile: str = typer.Option("desktop", "--profile", "-p", help="Device profile name or YAML."),
    model: str | None = typer.Option(None, "--model", "-m", help="Model card (default: the profile's)."),
    full: bool = typer.Option(False, "--full/--quick", help="--quick (default): the profile's candidates as listed; "
                              "--full: also its full_only ones, each at all cores and one fewer, spinning on/off."),
    plot: Path | None = typer.Option(None, "--plot", help="Also draw the FPS of every trial into this PNG."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    val: Path | None = typer.Option(None, "--val", help="Labelled images for the accuracy gate (default: shipped)."),
    video: Path | None = typer.Option(None, "--video", help="Recorded video to measure on (default: synthetic)."),
    frames: int | None = typer.Option(None, "--frames", min=2, help="Frames timed per block (15 quick, 20 full)."),
    warmup: int = typer.Option(5, "--warmup", min=0, help="Frames run before each block is timed."),
    imgsz: int | None = typer.Option(None, "--imgsz", help="Every trial at this input size (default: the "
                                     "profile's; a multiple of 32, 160 to 1280)."),
    rounds: int | None = typer.Option(None, "--rounds", min=1,
                                      help="Interleaved blocks per trial, each rated against the baseline's block of "
                                      "the same round (2 quick, 3 full)."),
    runtime: list[str] = typer.Option([], "--runtime", help="Only these runtimes (repeatable; baseline stays)."),
    max_map_drop: float = typer.Option(1.0, "--max-map-drop", min=0, help="mAP50-95 points below FP32 allowed."),
) -> None:
    """Measure each candidate plan in the real pipeline and write the fastest accurate one as this host's plan."""
    from edgekit.bench.tune import TuneOptions, tune
    from edgekit.device.host import probe_host
    from edgekit.device.profiles import load_profile
    from edgekit.device.tuned import plan_path, save_plan

    if plot is not None and plot.suffix.lower() != ".png":
        raise EdgekitError(f"--plot writes a PNG: give a file name ending in .png, not {plot}")
    if video is not None and not video.is_file():
        raise EdgekitError(f"--video {video}: file not found")
    prof, host = load_profile(profile), probe_host()
    _check_runtimes(runtime, host.runtimes)
    if imgsz is not None:
        from edgekit.export.resize_head import check_size

        check_size(imgsz)
    opts = TuneOptions(mode="full" if full else "quick", val=val, video=video, frames=frames, rounds=rounds,
                       warmup=warmup, max_map_drop=max_map_drop, runtimes=tuple(runtime), imgsz=imgsz)
    where = plan_path(prof.name, model or prof.runtime.model)
    old = signal.signal(signal.SIGTERM, _on_term)
    try:
        result = tune(prof, host, model, opts, say=lambda s: err_console.print(s, markup=False))
    except (_Terminated, KeyboardInterrupt) as e:
        why = str(e) or "SIGINT"
        kept = f"the previous plan {where} stays in force" if where.is_file() else "no plan was written"
        raise EdgekitError(f"tune interrupted by {why}: {kept}") from None
    finally:
        signal.signal(signal.SIGTERM, old)
    data = result.to_dict()
    plan = result.plan()
    if plan is not None:
        data["plan_file"] = str(save_plan(plan))
    if plot is not None:
        from edgekit.bench.tune_plot import plot_tune

        plot_tune(data, plot)
    if json_out:
        print_json(data)
        return
    console.print(_table(data))
    if result.emulated:
        console.print(f"emulated: {prof.name} is measured on this machine's CPU; the skipped rows are what it "
                      "could not run here", markup=False)
    if plan is not None:
        console.print(f"plan written to {data['plan_file']}: {plan.summary()}", markup=False)


def register(app: typer.Typer) -> None:
    app.command("tune")(tune_cmd)
