"""A throw-away Mosquitto on a free loopback port for the daemon benchmarks (the tests have their own fixture)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from pathlib import Path

from edgekit.errors import EdgekitError


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_broker(work: Path, timeout_s: float = 10.0) -> tuple[subprocess.Popen[bytes], int]:
    """Start ``mosquitto`` with anonymous access on a free loopback port; return once it accepts connections."""
    mosq = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port()
    (work / "m.conf").write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n")
    proc = subprocess.Popen([mosq, "-c", str(work / "m.conf")], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc, port
        time.sleep(0.05)
    proc.kill()
    raise EdgekitError(f"mosquitto ({mosq}) did not accept connections on 127.0.0.1:{port}")
