"""Loopback "boards" for the deploy tests: a real OpenSSH server (its own host key, port and config) and non-root
users who log in with a key pair the tests make; x86_64 bundles built once per session.

Each user's home is a board: ``~/edgekit/releases/<id>``, ``current``, the service run by the ``process``
manager (the unit's command and restart policy in a supervising shell loop: there is no systemd here).
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import Broker, free_port, wait_port
from tests.deploy.resize_onnx import resize_yolov8

REPO = Path(__file__).resolve().parents[2]
SSHD = "/usr/sbin/sshd"
USERS = ("ekboard1", "ekboard2", "ekboard3")

# The shipped detector resized to 256 (and shipped at this relative path in the bundle): two boards and a busy
# CI machine still process a few frames a second, so walkers are tracked across the zone.
SIZE = 256
CONFIG = f"""\
device: porch
profile: desktop
model: models/yolov8s-fall-{SIZE}.onnx
cameras:
  porch:
    source: "{{CAMERA}}"
    realtime: true
    zones:
      middle: {{polygon: [[320, 0], [960, 0], [960, 720], [320, 720]]}}
rules:
  - {{name: person_in_middle, labels: [Normal, Fall], zone: middle, min_frames: 2, cooldown_s: 5}}
mqtt:
  host: 127.0.0.1
  port: "{{MQTT_PORT}}"
  username: "{{MQTT_USER}}"
  password: "{{MQTT_PASSWORD}}"
  stats_interval_s: 2
metrics: {{enabled: true, port: "{{METRICS_PORT}}"}}
"""

needs_ssh = pytest.mark.skipif(
    os.geteuid() != 0 or not Path(SSHD).exists() or shutil.which("ssh") is None,
    reason="needs root and OpenSSH (apt-get install -y openssh-server; scripts/install_arm64.sh does it)",
)


def run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)  # type: ignore[call-overload]


def make_user(name: str, pubkey: str) -> Path:
    """A non-root user with a fresh home whose authorized_keys holds ``pubkey`` (key login only)."""
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        run(["useradd", "-m", "-s", "/bin/sh", name])
        pw = pwd.getpwnam(name)
    run(["usermod", "-p", "*", name])  # useradd leaves the account locked: sshd would refuse even a good key
    home = Path(pw.pw_dir)
    kill_user_processes(name)
    for p in list(home.iterdir()) if home.exists() else []:
        shutil.rmtree(p) if p.is_dir() and not p.is_symlink() else p.unlink()
    ssh = home / ".ssh"
    ssh.mkdir(mode=0o700, parents=True, exist_ok=True)
    (ssh / "authorized_keys").write_text(pubkey)
    for p in (home, ssh, ssh / "authorized_keys"):
        os.chown(p, pw.pw_uid, pw.pw_gid)
    (ssh / "authorized_keys").chmod(0o600)
    return home


def kill_user_processes(name: str) -> None:
    """End what a test board left running (only that user's processes, by pid)."""
    uid = pwd.getpwnam(name).pw_uid
    res = subprocess.run(["pgrep", "-u", str(uid)], capture_output=True, text=True)
    for pid in res.stdout.split():
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)


@dataclass
class Boards:
    port: int
    key: Path
    bad_key: Path
    known_hosts: Path
    homes: dict[str, Path]

    def url(self, user: str) -> str:
        return f"ssh://{user}@127.0.0.1:{self.port}"

    def ssh_options(self, key: Path | None = None) -> list[str]:
        return ["-i", str(key or self.key), "-o", f"UserKnownHostsFile={self.known_hosts}",
                "-o", "StrictHostKeyChecking=yes", "-o", "IdentitiesOnly=yes"]

    def cli_ssh_args(self, key: Path | None = None) -> list[str]:
        return ["-i", str(key or self.key), "--ssh-option", f"UserKnownHostsFile={self.known_hosts}",
                "--ssh-option", "StrictHostKeyChecking=yes", "--ssh-option", "IdentitiesOnly=yes"]


@contextlib.contextmanager
def serve_boards(d: Path, users: tuple[str, ...]) -> Iterator[Boards]:
    """One sshd on a free loopback port in ``d`` serving ``users`` (non-root "boards"), key login only; a second
    key pair ("stranger") that no board accepts."""
    d.chmod(0o755)
    for k in ("host", "client", "stranger"):
        run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / k), "-C", f"edgekit-test-{k}"])
    port = free_port()
    host_pub = (d / "host.pub").read_text().split(" ")
    (d / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_pub[0]} {host_pub[1]}\n")
    homes = {u: make_user(u, (d / "client.pub").read_text()) for u in users}
    (d / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host\nPidFile {d}/sshd.pid\n"
        "AuthorizedKeysFile .ssh/authorized_keys\nUsePAM no\nPasswordAuthentication no\n"
        "KbdInteractiveAuthentication no\nPubkeyAuthentication yes\n"
        f"AllowUsers {' '.join(users)}\nMaxStartups 50\nMaxSessions 50\n"
    )
    Path("/run/sshd").mkdir(mode=0o755, parents=True, exist_ok=True)
    proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(d / "sshd_config")], stdout=subprocess.DEVNULL,
                            stderr=open(d / "sshd.log", "wb"))  # noqa: SIM115
    wait_port(port, up=True)
    try:
        yield Boards(port, d / "client", d / "stranger", d / "known_hosts", homes)
    finally:
        for u in users:
            kill_user_processes(u)
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def boards(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Boards]:
    with serve_boards(tmp_path_factory.mktemp("sshd"), USERS) as b:
        yield b


def build_bundle(out: Path, config_text: str, wheel: Path | None = None) -> Path:
    cfg = out.with_suffix(".yaml")
    cfg.write_text(config_text)
    res = subprocess.run(
        [sys.executable, "-m", "edgekit.cli.main", "bundle", "--config", str(cfg), "--profile", "desktop",
         "--machine", "x86_64", "--python", "3.11", "--no-system-site", "-o", str(out),
         *(["--wheel", str(wheel)] if wheel else [])],
        capture_output=True, text=True, cwd=REPO, env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert res.returncode == 0, res.stderr
    return out


@pytest.fixture(scope="session")
def bundles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Three x86_64 bundles of one config: ``v1``, ``v2`` (a changed cooldown) and ``broken`` (its camera never
    delivers a frame, so the daemon never gets healthy: only the health check can catch it)."""
    d = tmp_path_factory.mktemp("bundles")
    (d / "models").mkdir()
    resize_yolov8(REPO / "models/yolov8s-fall.onnx", d / "models" / f"yolov8s-fall-{SIZE}.onnx", SIZE)
    v1 = build_bundle(d / "v1.tar.gz", CONFIG)
    with tarfile.open(v1) as t:  # the others ship the same edgekit wheel (saves building it twice)
        name = next(m for m in t.getnames() if m.startswith("wheels/edgekit-"))
        t.extract(name, d, filter="data")
    wheel = d / name
    v2 = build_bundle(d / "v2.tar.gz", CONFIG.replace("cooldown_s: 5", "cooldown_s: 6"), wheel)
    broken = build_bundle(d / "broken.tar.gz", CONFIG.replace('"{CAMERA}"', "rtsp://127.0.0.1:9/none"), wheel)
    return {"v1": v1, "v2": v2, "broken": broken}


@pytest.fixture
def session_broker(tmp_path: Path) -> Iterator[Broker]:
    b = Broker(tmp_path)
    b.start()
    try:
        yield b
    finally:
        with contextlib.suppress(Exception):
            b.kill()
