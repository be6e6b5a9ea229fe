"""Running the daemon under systemd: the unit file, and sd_notify (READY, WATCHDOG, STATUS, STOPPING)."""

from __future__ import annotations

import logging
import os
import shlex
import socket
import sys
from pathlib import Path

from edgekit.errors import EdgekitError

log = logging.getLogger(__name__)

UNIT_DIR = Path("/etc/systemd/system")


def sd_notify(state: str) -> bool:
    """Send ``state`` (e.g. ``READY=1``) to systemd; a no-op returning False outside a notify service."""
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return False
    if addr.startswith("@"):
        addr = "\0" + addr[1:]  # abstract namespace socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as s:
            s.connect(addr)
            s.sendall(state.encode())
        return True
    except OSError as e:
        log.debug("sd_notify(%s) failed: %s", state, e)
        return False


def watchdog_interval_s() -> float | None:
    """Half of systemd's watchdog period (``WATCHDOG_USEC``) for this process, or None when not watched."""
    usec = os.environ.get("WATCHDOG_USEC")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 2e6
    except ValueError:
        return None


def _service(cmd: str, watchdog_s: int) -> list[str]:
    """The ``[Service]`` lines both units share: sd_notify readiness and watchdog, restart on any exit but 2 (bad
    config: a restart loop cannot fix a typo), files private to the user."""
    return ["[Service]", "Type=notify", "NotifyAccess=main", f"ExecStart={cmd}", "Restart=always", "RestartSec=5",
            "RestartPreventExitStatus=2", f"WatchdogSec={watchdog_s}", "TimeoutStopSec=20", "UMask=0077"]


def unit_text(config: Path, user: str | None = None, exe: str | None = None, watchdog_s: int = 60,
              state_dir: str | None = None, env_file: Path | None = None) -> str:
    """A systemd unit that runs ``edgekit run --config CONFIG``: restarts on any exit, with a watchdog.

    Exit code 2 (bad config) is not restarted: a restart loop cannot fix a typo. Everything else (a crash, a
    camera or broker gone at boot, even a clean exit) is restarted, so monitoring never stays off.
    """
    exe = exe or str(Path(sys.executable).with_name("edgekit"))
    cmd = " ".join(shlex.quote(p) for p in (exe, "run", "--config", str(config)))
    lines = [
        "[Unit]",
        "Description=edgekit camera daemon",
        "Wants=network-online.target",
        "After=network-online.target",
        "StartLimitIntervalSec=300",
        "StartLimitBurst=10",
        "",
        *_service(cmd, watchdog_s),
        "KillSignal=SIGTERM",
        "Environment=PYTHONUNBUFFERED=1",
    ]
    if env_file is not None:
        lines.append(f"EnvironmentFile={env_file}")  # secrets (MQTT_PASSWORD...): mode 0600, not in the unit
    if state_dir:
        lines.append(f"Environment=EDGEKIT_STATE={state_dir}")
    if user:
        lines += [f"User={user}", "SupplementaryGroups=video"]
    lines += ["", "[Install]", "WantedBy=multi-user.target", ""]
    return "\n".join(lines)


def board_unit_text(base: str = "%h/edgekit", watchdog_s: int = 60) -> str:
    """The unit a bundle carries: runs ``<base>/current`` (the release ``edgekit deploy`` switched to).

    ``%h`` is the home of the unit's user (a ``systemctl --user`` unit, or a system unit with ``User=``), so one
    unit serves every board. Secrets come from ``EnvironmentFile=`` (mode 0600), never from the unit itself; the
    state folder (outbox, events, snapshots) lives outside the releases so a rollback keeps it.
    """
    cur = f"{base}/current"
    cmd = f"{cur}/venv/bin/edgekit run --config {cur}/config.yaml"
    return "\n".join([
        "[Unit]",
        "Description=edgekit camera daemon (deployed release)",
        "Wants=network-online.target",
        "After=network-online.target",
        "StartLimitIntervalSec=0",
        "",
        *_service(cmd, watchdog_s),
        f"WorkingDirectory={cur}",
        f"EnvironmentFile={cur}/edgekit.env",
        f"Environment=EDGEKIT_STATE={base}/state EDGEKIT_CACHE={base}/cache PYTHONUNBUFFERED=1",
        "",
        "[Install]",
        "WantedBy=default.target",
        "",
    ])


def install_unit(config: Path, name: str = "edgekit", unit_dir: Path = UNIT_DIR, user: str | None = None,
                 exe: str | None = None, watchdog_s: int = 60, env_file: Path | None = None) -> Path:
    """Write ``<unit_dir>/<name>.service`` for a validated config; returns its path."""
    config = config.resolve()
    if not config.is_file():
        raise EdgekitError(f"config file {config} not found")
    if not unit_dir.is_dir():
        raise EdgekitError(f"{unit_dir} does not exist: is this a systemd system? (or pass --unit-dir)")
    path = unit_dir / f"{name}.service"
    try:
        path.write_text(unit_text(config, user=user, exe=exe, watchdog_s=watchdog_s,
                                  env_file=env_file.resolve() if env_file else None))
    except PermissionError:
        raise EdgekitError(f"cannot write {path}: run with sudo, or pass --unit-dir to a folder you own") from None
    return path
