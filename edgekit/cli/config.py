"""``edgekit config schema|check|env``: the daemon config's JSON schema, validation of a config file, and the
environment variables its ``{NAME}`` placeholders read."""

from __future__ import annotations

from pathlib import Path

import typer

from edgekit.cli._common import console, print_json
from edgekit.errors import EdgekitError

config_app = typer.Typer(help="Daemon configuration: schema and validation.", no_args_is_help=True)


@config_app.command("schema")
def schema() -> None:
    """Print the JSON schema of the daemon config (for editors and `check-jsonschema`)."""
    from edgekit.config.daemon import config_schema

    print_json(config_schema())


@config_app.command("check")
def check(
    file: Path = typer.Argument(..., help="Daemon YAML config."),
    connect: bool = typer.Option(True, "--connect/--no-connect", help="Also check the broker is reachable."),
) -> None:
    """Validate FILE: keys, polygons, references, model labels, profile and (with --connect) the broker."""
    from edgekit.config.daemon import load_config
    from edgekit.delivery.mqtt import check_broker
    from edgekit.pipeline.daemon import verify_camera_files, verify_labels

    cfg = load_config(file)
    if cfg.profile:
        from edgekit.device.profiles import load_profile

        load_profile(cfg.profile)
    verify_labels(cfg)
    try:
        verify_camera_files(cfg)
    except EdgekitError as e:
        raise EdgekitError(f"{file}: {e}") from None
    if connect and cfg.mqtt is not None:
        check_broker(cfg.mqtt)
    console.print(f"{file}: ok ({len(cfg.cameras)} camera(s), {len(cfg.rules)} rule(s))")


@config_app.command("env")
def env(file: Path = typer.Argument(..., help="Daemon YAML config.")) -> None:
    """Print the environment variables FILE's {NAME} placeholders read, one a line (the board setup scripts
    write exactly these into the env file)."""
    from edgekit.config.loader import yaml_env_names

    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise EdgekitError(f"cannot read config {file}: {getattr(e, 'strerror', None) or e}") from None
    for name in yaml_env_names(text, str(file)):
        typer.echo(name)


def register(app: typer.Typer) -> None:
    app.add_typer(config_app, name="config")
