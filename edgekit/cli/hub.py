"""``edgekit hub --config hub.yaml``: the fleet's centre (central broker → PostgreSQL), until SIGTERM/SIGINT."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path

import typer

from edgekit.cli._common import err_console

log = logging.getLogger(__name__)


def hub(
    config: Path = typer.Option(..., "--config", "-c", help="Hub YAML: mqtt, database, limits (see README)."),
    migrate_only: bool = typer.Option(False, "--migrate-only", help="Bring the database schema up to date, exit."),
    stats_every: float = typer.Option(60.0, "--stats-every", min=1.0, help="Seconds between counter log lines."),
) -> None:
    """Subscribe to every board's events, availability and stats and write them to PostgreSQL."""
    from edgekit.config.hub import load_hub_config
    from edgekit.errors import EdgekitError
    from edgekit.hub import Hub, migrate

    cfg = load_hub_config(config)
    if migrate_only:
        migrate(cfg.database.dsn)
        err_console.print("hub database schema is up to date")
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    delay = 1.0
    while True:  # a database that is not up yet (or restarting) is waited for, not a reason to exit
        try:
            migrate(cfg.database.dsn)
            break
        except EdgekitError as e:
            log.error("%s; retrying in %.0f s", e, delay)
            if stop.wait(delay):
                return
            delay = min(30.0, delay * 2)
    h = Hub(cfg)
    h.start()
    group = f"shared group {cfg.mqtt.share_group}" if cfg.mqtt.share_group else "single hub"
    err_console.print(f"hub: {cfg.mqtt.host}:{cfg.mqtt.port} ({group}) → PostgreSQL")
    try:
        while not stop.wait(stats_every):
            log.warning("hub stats: %s", h.stats())
    finally:
        h.stop()


def register(app: typer.Typer) -> None:
    app.command("hub")(hub)
