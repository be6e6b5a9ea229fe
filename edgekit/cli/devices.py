"""``edgekit devices`` and ``edgekit doctor``."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

import typer
from rich.table import Table

from edgekit.cli._common import console, print_json
from edgekit.device.doctor import recommend_profile
from edgekit.device.host import probe_host
from edgekit.device.profiles import list_profiles, load_profile, python_problem
from edgekit.errors import EdgekitError

devices_app = typer.Typer(help="List and show device profiles.", invoke_without_command=True)


@devices_app.callback()
def _list(ctx: typer.Context, json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """List the device profiles."""
    if ctx.invoked_subcommand:
        return
    profiles = list_profiles()
    if json_out:
        print_json([p.model_dump(mode="json") for p in profiles])
        return
    t = Table("name", "board", "accelerator", "backend", "precision", "imgsz", "camera")
    for p in profiles:
        t.add_row(
            p.name,
            p.board.model,
            p.board.accelerator,
            p.runtime.backend,
            p.runtime.precision,
            str(p.runtime.imgsz),
            p.camera.source,
        )
    console.print(t)


@devices_app.command("show")
def show(
    name: str = typer.Argument(..., help="Profile name (see `edgekit devices`) or a YAML path."),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Print one device profile, and what emulation would substitute on this host."""
    from edgekit.device.modelcards import resolve_model
    from edgekit.device.plan import plan_runtime

    p = load_profile(name)
    card, path = resolve_model(p.runtime.model)
    plan = plan_runtime(p, probe_host(), path, card)
    data = {**p.model_dump(mode="json"), "on_this_host": plan.to_dict()}
    if json_out:
        print_json(data)
        return
    import yaml

    console.print(yaml.safe_dump(p.model_dump(mode="json"), sort_keys=False).rstrip())
    console.print(
        f"\n[bold]on this host[/]: {plan.backend} ({', '.join(plan.options.providers or ())}), "
        f"{plan.model_path.name} @ {plan.imgsz}, {plan.precision}, {plan.options.threads} threads, camera {plan.camera}"
    )
    for s in plan.substitutions:
        console.print(f"  substituted: {s}")
    console.print(f"  plan: {plan.tuned or 'none tuned here (edgekit tune --profile ' + p.name + ')'}", markup=False)
    if p.support.mode != "native":
        console.print(f"\n[bold]{p.support.mode}[/]: {p.support.how}")


def doctor(json_out: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Detect the board, list the runtimes importable here, and recommend a profile.

    Exits 2 with one line naming the way out when edgekit cannot run here (a Python older than it needs, or a
    runtime-only board). ``EDGEKIT_HOST_ROOT`` points it at another root (a mounted board image).
    """
    host = probe_host(Path(os.environ.get("EDGEKIT_HOST_ROOT") or "/"))
    rec, why = recommend_profile(host)
    problem = python_problem(load_profile(rec), (sys.version_info.major, sys.version_info.minor))
    python = {"version": platform.python_version(), "ok": problem is None, "problem": problem}
    if json_out:
        print_json({**host.to_dict(), "recommended_profile": rec, "reason": why, "python": python})
        if problem:
            raise EdgekitError(problem)
        return
    console.print(f"board: [bold]{host.board}[/] ({host.model}); {host.cores} cores, {host.ram_mb} MiB RAM")
    if host.jetson_release:
        console.print(f"L4T: {host.jetson_release}")
    for tpu in host.edgetpu:
        console.print(f"Edge TPU: {tpu}")
    t = Table("runtime", "importable")
    for name, ok in host.runtimes.items():
        t.add_row(name, "[green]yes[/]" if ok else "[dim]no[/]")
    t.add_row("OpenCV GStreamer", "[green]yes[/]" if host.gstreamer else "[dim]no[/]")
    console.print(t)
    console.print(f"ONNX Runtime providers: {', '.join(host.ort_providers) or 'none'}")
    console.print(f"recommended profile: [bold]{rec}[/] — {why}")
    console.print(f"Python {python['version']}")
    if problem:
        raise EdgekitError(problem)


def register(app: typer.Typer) -> None:
    app.add_typer(devices_app, name="devices")
    app.command("doctor")(doctor)
