"""``edgekit service install``: a systemd unit for the daemon (restart on failure, watchdog)."""

from __future__ import annotations

from pathlib import Path

import typer

from edgekit.cli._common import console

service_app = typer.Typer(help="Run the daemon as a systemd service.", no_args_is_help=True)


@service_app.command("install")
def install(
    config: Path = typer.Option(..., "--config", "-c", help="Daemon YAML config (validated first)."),
    name: str = typer.Option("edgekit", help="Unit name."),
    user: str | None = typer.Option(None, help="Run as this user (added to the video group)."),
    unit_dir: Path = typer.Option(Path("/etc/systemd/system"), help="Where to write the unit."),
    watchdog: int = typer.Option(60, min=10, help="WatchdogSec: restart when the daemon stops pinging."),
) -> None:
    """Validate CONFIG and write <unit-dir>/<name>.service; then `systemctl enable --now <name>`."""
    from edgekit.config.daemon import load_config
    from edgekit.pipeline.service import install_unit

    load_config(config)
    path = install_unit(config, name=name, unit_dir=unit_dir, user=user, watchdog_s=watchdog)
    console.print(f"wrote {path}\nnext: sudo systemctl daemon-reload && sudo systemctl enable --now {name}")


def register(app: typer.Typer) -> None:
    app.add_typer(service_app, name="service")
