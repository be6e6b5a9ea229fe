"""`edgekit deploy` against a real OpenSSH server on loopback, for non-root users (the "boards").

deploy → deploy a new bundle → deploy a broken one (rolled back, the previous release healthy again); bad input
(sha256 mismatch, unreachable host, refused key, no Python >= 3.10, a config failing its check) → one line, exit 2,
the running release untouched; two boards from one bundle with an inventory, online on one broker at once, each
with its own client id and events.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import Broker, Consumer, free_port
from tests.deploy.conftest import REPO, Boards, kill_user_processes, needs_ssh
from tests.helpers import wait_until

pytestmark = [needs_ssh, pytest.mark.slow, pytest.mark.timeout(3000)]


def edgekit(*args: str, env: dict[str, str] | None = None, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    t0 = time.monotonic()
    res = subprocess.run([sys.executable, "-m", "edgekit.cli.main", *args], capture_output=True, text=True,
                         cwd=REPO, timeout=timeout,
                         env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})
    # where the time goes (shown with -rA or -s; never asserted)
    print(f"[{time.monotonic() - t0:6.1f} s] edgekit {' '.join(a for a in args[:3])} ... → {res.returncode}")
    print("".join(f"    {line}\n" for line in res.stdout.splitlines() if " s  " in line), end="")
    return res


def board_env(tmp: Path, broker: Broker, metrics_port: int, user: str = "edgekit") -> Path:
    f = tmp / f"secrets-{metrics_port}.env"
    f.write_text(f"MQTT_PORT={broker.port}\nMQTT_USER={user}\nMQTT_PASSWORD='s3cr#t value'\n"
                 f"METRICS_PORT={metrics_port}\nCAMERA=synthetic:1:40\n")
    return f


def deploy(bundle: Path, boards: Boards, user: str, env_file: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return edgekit("deploy", str(bundle), boards.url(user), "--env-file", str(env_file), "--manager", "process",
                   "--health-timeout", "240", *boards.cli_ssh_args(), *extra)


def live(home: Path) -> str:
    cur = home / "edgekit" / "current"
    return os.readlink(cur).split("/")[-1] if cur.is_symlink() else "none"


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def manifest_id(bundle: Path) -> str:
    with tarfile.open(bundle) as t:
        f = t.extractfile("manifest.json")
        assert f is not None
        return str(json.load(f)["id"])


def supervisor_pid(home: Path) -> int:
    return int((home / "edgekit" / "supervise.pid").read_text())


def test_deploy_update_rollback_and_bad_input(boards: Boards, bundles: dict[str, Path], session_broker: Broker,
                                              tmp_path: Path) -> None:
    user, home = "ekboard1", boards.homes["ekboard1"]
    mport = free_port()
    env = board_env(tmp_path, session_broker, mport)
    consumer = Consumer(session_broker.port, ["edgekit/#"], client_id="deploy-test-consumer")
    try:
        # --dry-run prints the plan and touches nothing
        res = deploy(bundles["v1"], boards, user, env, "--dry-run")
        assert res.returncode == 0, res.stderr
        assert "switch current" in res.stdout + res.stderr and live(home) == "none"

        # 1. first deploy: a release, current → it, env file 0600 without the secret on any command line
        res = deploy(bundles["v1"], boards, user, env)
        assert res.returncode == 0, res.stderr
        v1 = manifest_id(bundles["v1"])
        assert live(home) == v1 and healthy(mport)
        envf = home / "edgekit" / "releases" / v1 / "edgekit.env"
        assert stat.S_IMODE(envf.stat().st_mode) == 0o600 and "s3cr#t value" in envf.read_text()
        assert stat.S_IMODE((home / "edgekit" / "state").stat().st_mode) == 0o700
        wait_until(lambda: consumer.events(), 240, what="an event from the deployed board")
        assert consumer.events()[0]["rule"] == "person_in_middle"

        # 2. a new bundle: switched, the old release kept for rollback
        res = deploy(bundles["v2"], boards, user, env)
        assert res.returncode == 0, res.stderr
        v2 = manifest_id(bundles["v2"])
        assert live(home) == v2 and healthy(mport)
        assert (home / "edgekit" / "releases" / v1).is_dir()
        # the same lock: v2's upload left out the wheels v1 holds (hard-linked on the board, each checked), and v2
        # installed only edgekit's wheel, over v1's dependency layer
        assert "files already on the board" in res.stdout, res.stdout
        wheel = next((home / "edgekit" / "releases" / v1 / "wheels").glob("numpy-*.whl"))
        assert (home / "edgekit" / "releases" / v2 / "wheels" / wheel.name).stat().st_ino == wheel.stat().st_ino
        layers = [p.name for p in (home / "edgekit" / "envs").iterdir()]
        assert len(layers) == 1, layers
        assert {(home / "edgekit" / "releases" / r / "layer").read_text().strip() for r in (v1, v2)} == set(layers)
        v1_env = (home / "edgekit" / "releases" / v1 / "edgekit.env").read_text()

        # 3. a broken bundle (its camera never delivers): /healthz never ok → rolled back to v2, healthy again
        res = deploy(bundles["broken"], boards, user, env, "--health-timeout", "20")
        assert res.returncode == 2
        line = res.stderr.strip().splitlines()[-1]
        assert "rolled back to " + v2 in line and "healthz" in line, res.stderr
        assert live(home) == v2
        wait_until(lambda: healthy(mport), 120, 0.2, what="the board healthy again on v2")
        assert not (home / "edgekit" / "releases" / manifest_id(bundles["broken"])).exists()

        running = supervisor_pid(home)

        # 4. bad input: one line each, exit 2, v2 keeps running (same supervisor process, still healthy)
        changed = tmp_path / "changed.tar.gz"
        _rewrite_member(bundles["v1"], changed, "config.yaml", b"# edited\n")
        bad_cfg = tmp_path / "badcfg.env"
        bad_cfg.write_text(env.read_text() + "CAMERA=/nonexistent/video.mp4\n")
        old_py = home / "oldpy"  # the board user must reach it (pytest's tmp folders are root's, 0700)
        old_py.mkdir(mode=0o755, exist_ok=True)
        py39 = old_py / "python3"
        # A Python that reports 3.9 (the board's interpreter is what the probe asks; no 3.9 build exists here).
        py39.write_text("#!/bin/sh\necho '3.9 x86_64'\n")
        py39.chmod(0o755)
        cases = [
            (deploy(changed, boards, user, env), "sha256 mismatch"),
            (edgekit("deploy", str(bundles["v1"]), f"ssh://{user}@127.0.0.1:{free_port()}", "--env-file", str(env),
                     "--manager", "process", *boards.cli_ssh_args()), "unreachable"),
            (edgekit("deploy", str(bundles["v1"]), boards.url(user), "--env-file", str(env), "--manager", "process",
                     *boards.cli_ssh_args(boards.bad_key)), "refused the SSH key"),
            (deploy(bundles["v1"], boards, user, env, "--python", str(py39)), "Python 3.9"),
            (deploy(bundles["v1"], boards, user, env, "--python", "/nonexistent/python3"), "no /nonexistent/python3"),
            (deploy(bundles["v1"], boards, user, bad_cfg), "config check failed on the board"),
        ]
        for res, want in cases:
            lines = res.stderr.strip().splitlines()
            assert res.returncode == 2, (want, res.stderr)
            assert len(lines) == 1 and lines[0].startswith("error: ") and want in lines[0], (want, res.stderr)
        assert live(home) == v2 and supervisor_pid(home) == running and healthy(mport)
        # v1 (the rollback target) was reused by the failed attempt, not replaced: its env is the one it ran with
        assert (home / "edgekit" / "releases" / v1 / "edgekit.env").read_text() == v1_env
        assert not (home / "edgekit" / "releases" / v1 / "edgekit.env.new").exists()
    finally:
        consumer.close()
        kill_user_processes(user)


def _rewrite_member(src: Path, dst: Path, name: str, data: bytes) -> None:
    """Copy a bundle with one member's content changed (the manifest left as it was)."""
    import io

    with tarfile.open(src) as tin, tarfile.open(dst, "w:gz", compresslevel=1) as tout:
        for m in tin:
            f = tin.extractfile(m)
            body = f.read() if f is not None else b""
            if m.name == name:
                body = data
                m.size = len(body)
            tout.addfile(m, io.BytesIO(body))
    assert shutil.disk_usage(dst.parent).free > 0
