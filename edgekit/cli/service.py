"""``edgekit service install``: a systemd unit for the daemon (restart on failure, watchdog)."""

from __future__ import annotations

from pathlib import Path

import typer

from edgekit.cli._common import console
from edgekit.errors import EdgekitError

service_app = typer.Typer(help="Run the daemon as a systemd service.", no_args_is_help=True)


@service_app.command("install")
def install(
    config: Path = typer.Option(..., "--config", "-c", help="Daemon YAML config (validated first)."),
    name: str = typer.Option("edgekit", help="Unit name."),
    user: str | None = typer.Option(None, help="Run as this user (added to the video group)."),
    unit_dir: Path = typer.Option(Path("/etc/systemd/system"), help="Where to write the unit."),
    watchdog: int = typer.Option(60, min=10, help="WatchdogSec: restart when the daemon stops pinging."),
    env_file: Path | None = typer.Option(None, "--env-file", help="EnvironmentFile= with the config's secrets "
                                         "(KEY=value, mode 0600; the config reads them as {KEY})."),
) -> None:
    """Validate CONFIG and write <unit-dir>/<name>.service; then `systemctl enable --now <name>`."""
    import os

    from edgekit.config.daemon import load_config
    from edgekit.deploy.rollout import read_env_file
    from edgekit.pipeline.service import install_unit

    if env_file is not None:
        if not env_file.is_file():
            raise EdgekitError(f"--env-file {env_file} not found")
        if env_file.stat().st_mode & 0o077:
            raise EdgekitError(f"--env-file {env_file} is readable by others: chmod 600 {env_file}")
        os.environ.update(read_env_file(env_file))  # the check below sees what the service will see
    cfg = load_config(config)
    clips = sorted({str(Path(c.clips.folder).resolve()) for c in cfg.cameras.values()
                    if c.clips.enabled and c.clips.folder})  # the sandbox lets the daemon write only these
    path = install_unit(config, name=name, unit_dir=unit_dir, user=user, watchdog_s=watchdog, env_file=env_file,
                        writable=clips)
    console.print(f"wrote {path}\nnext: sudo systemctl daemon-reload && sudo systemctl enable --now {name}")


def register(app: typer.Typer) -> None:
    app.add_typer(service_app, name="service")
