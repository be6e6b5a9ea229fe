"""Running the daemon under systemd: the unit file, and sd_notify (READY, WATCHDOG, STATUS, STOPPING)."""

from __future__ import annotations

import logging
import os
import pwd
import shlex
import socket
import sys
from collections.abc import Sequence
from pathlib import Path

from edgekit.errors import EdgekitError
from edgekit.paths import private_dir

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


# Devices the daemon may open (DevicePolicy=closed allows only these and /dev/null, zero, random...): cameras
# (V4L2, libcamera's media controller and DMA heaps for picamera2), the Coral Edge TPU (USB through libusb, PCIe as
# /dev/apex_*), and NVIDIA GPUs (Jetson's nvhost/nvgpu/nvmap, desktop nvidia*). A group the board lacks is skipped.
DEVICES = ("char-video4linux", "char-media", "char-dma_heap", "char-usb_device", "char-apex", "char-nvhost*",
           "char-nvgpu*", "char-nvidia*", "/dev/nvmap")


def _service(cmd: str, watchdog_s: int) -> list[str]:
    """The ``[Service]`` lines both units share: sd_notify readiness and watchdog, restart on any exit but 2 (bad
    config: a restart loop cannot fix a typo), files private to the user. READY comes after the imports and the
    model load: systemd's default 90 s start limit killed a slow board's first start in a loop (seen in the VM
    lane), and a Jetson builds its TensorRT engine before READY at first start, so the start may take 15 min."""
    return ["[Service]", "Type=notify", "NotifyAccess=main", f"ExecStart={cmd}", "Restart=always", "RestartSec=5",
            "RestartPreventExitStatus=2", f"WatchdogSec={watchdog_s}", "TimeoutStartSec=900", "TimeoutStopSec=20",
            "UMask=0077"]


def _unit_word(word: str) -> str:
    """One word of a systemd list setting: double-quoted (C escapes) when it holds a space or a quote."""
    if not any(c in word for c in " \t\"'\\"):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _sandbox(writable: list[str]) -> list[str]:
    """The sandbox both units share: the daemon reads the system and home, writes only ``writable`` (state, cache,
    clips), sees its own /tmp, opens only the devices in DEVICES, speaks only IP (and local sockets, netlink for
    address lookups and libcamera's udev), and cannot gain privileges, load modules or change the kernel's settings.

    ``MemoryDenyWriteExecute`` is left out: ONNX Runtime (CPU), llama-cpp-python and ctypes callbacks ran under the
    kernel's equivalent (``PR_SET_MDWE``) on x86-64, but CUDA/TensorRT, GStreamer's ORC (CSI cameras) and older
    libffi on the boards were not tried, and a JIT refused there stops the camera. Missing ``writable`` paths are
    ignored (``-``) rather than failing the start; the folders are made before the first start.
    """
    return [
        "NoNewPrivileges=yes",
        "CapabilityBoundingSet=",
        "AmbientCapabilities=",
        "ProtectSystem=strict",
        "ProtectHome=read-only",
        *(f"ReadWritePaths={_unit_word('-' + p)}" for p in writable),
        "PrivateTmp=yes",
        "DevicePolicy=closed",
        *(f"DeviceAllow={d} rw" for d in DEVICES),
        "ProtectKernelTunables=yes",
        "ProtectKernelModules=yes",
        "ProtectKernelLogs=yes",
        "ProtectControlGroups=yes",
        "ProtectClock=yes",
        "ProtectHostname=yes",
        "ProtectProc=invisible",
        "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK",
        "RestrictNamespaces=yes",
        "RestrictRealtime=yes",
        "RestrictSUIDSGID=yes",
        "LockPersonality=yes",
        "KeyringMode=private",
        "SystemCallArchitectures=native",
        "SystemCallFilter=@system-service",
        "SystemCallErrorNumber=EPERM",
    ]


def unit_text(config: Path, user: str | None = None, exe: str | None = None, watchdog_s: int = 60,
              state_dir: str | None = None, env_file: Path | None = None, cache_dir: str | None = None,
              writable: Sequence[str] = ()) -> str:
    """A systemd unit that runs ``edgekit run --config CONFIG``: restarts on any exit, with a watchdog, sandboxed.

    Exit code 2 (bad config) is not restarted: a restart loop cannot fix a typo. Everything else (a crash, a
    camera or broker gone at boot, even a clean exit) is restarted, so monitoring never stays off. The daemon may
    write only ``state_dir``, ``cache_dir`` and ``writable`` (clip folders).
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
    if cache_dir:
        lines.append(f"Environment=EDGEKIT_CACHE={cache_dir}")
    if user:
        lines += [f"User={user}", "SupplementaryGroups=video"]
    lines += _sandbox([p for p in (state_dir, cache_dir, *writable) if p])
    lines += ["", "[Install]", "WantedBy=multi-user.target", ""]
    return "\n".join(lines)


def board_unit_text(base: str = "%h/edgekit", watchdog_s: int = 60, writable: Sequence[str] = ()) -> str:
    """The unit a bundle carries: runs ``<base>/current`` (the release ``edgekit deploy`` switched to).

    ``%h`` is the home of the unit's user (a ``systemctl --user`` unit; board.sh writes the home in for a system
    unit with ``User=``), so one unit serves every board. Secrets come from ``EnvironmentFile=`` (mode 0600), never
    from the unit itself; the state folder (outbox, events, snapshots) lives outside the releases so a rollback
    keeps it. The daemon may write only ``<base>/state``, ``<base>/cache`` and ``writable`` (clip folders).
    """
    cur, state, cache = (f"{base}/{name}" for name in ("current", "state", "cache"))
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
        f"Environment=EDGEKIT_STATE={state} EDGEKIT_CACHE={cache} PYTHONUNBUFFERED=1",
        # a relative clip folder is relative to the daemon's working directory
        *_sandbox([state, cache, *(w if w.startswith("/") else f"{cur}/{w}" for w in writable)]),
        "",
        "[Install]",
        "WantedBy=default.target",
        "",
    ])


def service_dirs(user: str | None) -> tuple[Path, Path]:
    """The state and cache folders of the daemon run as ``user`` (default: this user), as ``paths`` picks them."""
    if user:
        try:
            home = Path(pwd.getpwnam(user).pw_dir)
        except KeyError:
            raise EdgekitError(f"--user {user}: no such user on this machine") from None
    else:
        home = Path.home()
    state = os.environ.get("EDGEKIT_STATE") or str(home / ".local" / "state" / "edgekit")
    cache = os.environ.get("EDGEKIT_CACHE") or str(home / ".cache" / "edgekit")
    return Path(state), Path(cache)


def install_unit(config: Path, name: str = "edgekit", unit_dir: Path = UNIT_DIR, user: str | None = None,
                 exe: str | None = None, watchdog_s: int = 60, env_file: Path | None = None,
                 writable: Sequence[str] = ()) -> Path:
    """Write ``<unit_dir>/<name>.service`` for a validated config; returns its path.

    The state and cache folders are made here (owned by ``user``): the sandboxed daemon can write into them but
    cannot create them under a read-only home."""
    config = config.resolve()
    if not config.is_file():
        raise EdgekitError(f"config file {config} not found")
    if not unit_dir.is_dir():
        raise EdgekitError(f"{unit_dir} does not exist: is this a systemd system? (or pass --unit-dir)")
    state, cache = service_dirs(user)
    path = unit_dir / f"{name}.service"
    try:
        for folder in (state, cache, *map(Path, writable)):
            private_dir(folder)
            if user and os.geteuid() == 0:
                pw = pwd.getpwnam(user)
                os.chown(folder, pw.pw_uid, pw.pw_gid)
        path.write_text(unit_text(config, user=user, exe=exe, watchdog_s=watchdog_s, state_dir=str(state),
                                  cache_dir=str(cache), env_file=env_file.resolve() if env_file else None,
                                  writable=writable))
    except PermissionError as e:
        raise EdgekitError(f"cannot write {e.filename or path}: run with sudo, or pass --unit-dir to a folder you "
                           "own") from None
    return path
