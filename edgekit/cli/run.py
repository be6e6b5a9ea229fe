"""``edgekit run``: the camera daemon (all cameras of a config until SIGTERM/SIGINT), or a demo with no config."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from edgekit.cli._common import console, err_console
from edgekit.config.daemon import DaemonConfig, load_config
from edgekit.contract.stats import DaemonStats
from edgekit.errors import EdgekitError
from edgekit.pipeline.shutdown import StopGuard
from edgekit.types import Event

if TYPE_CHECKING:
    from edgekit.pipeline.daemon import Daemon
    from edgekit.pipeline.services import Services
    from edgekit.web.attach import DaemonDashboard

log = logging.getLogger(__name__)


def build_daemon(cfg: DaemonConfig, services: Services | None = None, *,
                 on_event: Callable[[Event], None] | None = None,
                 on_stats: Callable[[DaemonStats], None] | None = None, config_path: Path | None = None,
                 allow_config_writes: bool = False) -> tuple[Daemon, DaemonDashboard | None]:
    """The daemon of ``cfg`` and, when ``dashboard.enabled``, the dashboard it serves (built here, on the floor
    above both: the pipeline does not know the web). ``services``: :func:`build_services` of ``cfg`` when None;
    ``config_path``, ``allow_config_writes``: where the dashboard's zone editor may write zones back."""
    from edgekit.pipeline.daemon import Daemon
    from edgekit.pipeline.services import build_services

    services = services if services is not None else build_services(cfg)
    dashboard = None
    if cfg.dashboard.enabled:
        from edgekit.web.attach import DaemonDashboard

        try:
            dashboard = DaemonDashboard(cfg.dashboard, services.store, services.cameras, cfg.device,
                                        assistant=services.assistant, daemon_cfg=cfg, config_path=config_path,
                                        allow_config_writes=allow_config_writes)
        except BaseException:
            services.close()  # e.g. its port is in use: the models and stores opened above go before the error line
            raise
    try:
        return Daemon(cfg, services, watcher=dashboard, on_event=on_event, on_stats=on_stats), dashboard
    except BaseException:  # the daemon has closed the services
        if dashboard is not None:
            dashboard.stop()
        raise


def demo_config(state: str | None = None, dashboard_port: int = 8971) -> DaemonConfig:
    """The embedded demo: a synthetic camera of people walking past, the default model, printed alerts."""
    return DaemonConfig.model_validate({
        "device": "demo",
        "state_dir": state,
        "cameras": {"demo": {"source": "synthetic:0:24", "realtime": True,
                             "zones": {"middle": {"polygon": [[320, 0], [960, 0], [960, 720], [320, 720]]}}}},
        "rules": [
            {"name": "person_in_middle", "labels": ["Normal", "Fall"], "zone": "middle", "min_frames": 2,
             "cooldown_s": 10},
            {"name": "fall", "labels": ["Fall"], "min_frames": 3, "cooldown_s": 30},
        ],
        "mqtt": None,
        "metrics": {"enabled": False},
        "dashboard": {"enabled": True, "port": dashboard_port},
    })


def run(
    config: Path | None = typer.Option(None, "--config", "-c", help="Daemon YAML (see examples/daemon.yaml)."),
    duration: float | None = typer.Option(None, "--duration", help="Stop after this many seconds (or at SIGTERM/"
                                          "Ctrl-C, whichever comes first; either stops within 2 s)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Do not print events and stats to the terminal."),
    allow_config_writes: bool = typer.Option(
        False, "--allow-config-writes", help="Let the dashboard's zone editor write zones, lines and the motion mask "
        "back into CONFIG (atomically, the rest of the file kept) and reload them without a restart. Off: the editor "
        "shows the YAML to paste."),
) -> None:
    """Run every camera of CONFIG: detect, track, apply rules, send alerts. No config: a terminal demo.

    State folder: the config's `state_dir`, else $EDGEKIT_STATE, else $XDG_STATE_HOME/edgekit
    (~/.local/state/edgekit); the demo uses its `demo/` subfolder. It holds outbox.db (alerts not yet acknowledged by
    the broker), events.db (the event store the assistant reads), snapshots/ (JPEGs of events) and stats.json (live
    stats). The folder is made 0700 and every file 0600: snapshots show people.
    """
    import os

    from edgekit.paths import private_dir, state_dir

    if allow_config_writes and config is None:
        raise EdgekitError("--allow-config-writes needs --config FILE: the demo has no file to write zones into")
    os.umask(0o077)  # outbox, event store, snapshots and stats: readable by the service user only
    cfg = load_config(config) if config is not None else demo_config(str(state_dir() / "demo"), _demo_port())
    if cfg.state_dir:
        private_dir(Path(cfg.state_dir))
    show = not quiet

    def on_event(ev: Event) -> None:
        if show:
            console.print(f"[bold red]ALERT[/] {ev.rule} · {ev.source} · {ev.label} {ev.score:.2f} "
                          f"track {ev.track_id} → {ev.snapshot}")

    def on_stats(s: DaemonStats) -> None:
        if show:
            for cam, c in s.cameras.items():
                stages = " ".join(f"{k} {v:.0f}" for k, v in c.stage_ms.items())
                console.print(f"[dim]{cam}: {c.status} capture {c.capture_fps:.1f} fps, process "
                              f"{c.process_fps:.1f} fps, dropped {c.dropped}, ms: {stages}[/]")

    # SIGTERM, Ctrl-C and the end of --duration stop the process within STOP_WITHIN_S, whatever stage it is in
    # (a model still loading, an inference or a source that does not return): see edgekit.pipeline.shutdown.
    with StopGuard(duration_s=duration) as guard:
        daemon, dashboard = build_daemon(cfg, on_event=on_event, on_stats=on_stats, config_path=config,
                                         allow_config_writes=allow_config_writes)
        for cam_id, worker in daemon.workers.items():  # which tuned plan runs (or why one was ignored): always said
            if worker.detector.plan is not None and worker.detector.plan.tuned:
                err_console.print(f"camera {cam_id}: {worker.detector.plan.tuned}", markup=False, soft_wrap=True)
        try:
            if not guard.stop.is_set():  # a stop while the models loaded: start nothing
                daemon.start()
                if dashboard is not None:
                    # Always shown (also with --quiet): it is how the user reaches the page.
                    # The token is never printed (this reaches the journal): the operator has it in the config.
                    hint = " (first visit: add ?token=<dashboard.token>)" if cfg.dashboard.token else ""
                    console.print(f"dashboard: {dashboard.url}{hint}", soft_wrap=True)
                if show and config is None:
                    console.print("demo: synthetic camera, default model; alerts and stats below (Ctrl-C stops)")
                daemon.run(guard.stop, stats_every_s=5.0 if config is None else None)
        finally:
            daemon.close(timeout_s=guard.left() if guard.stop.is_set() else 20.0)
    if guard.stop.is_set():
        guard.exit_now()


def _demo_port(preferred: int = 8971) -> int:
    """The demo's dashboard port: 8971, or any free one when another program holds it (a demo must start)."""
    import socket

    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", preferred))
        except OSError:
            return 0
    return preferred


def register(app: typer.Typer) -> None:
    app.command("run")(run)
