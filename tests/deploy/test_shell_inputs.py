"""What a user types into a deploy (an SSH destination, ``--base``, inventory ``env:`` keys) never becomes shell code
or an ssh option, here or on the board. Each test reproduces a finding of the security review (issue 24)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from edgekit.deploy.remote import BOARD_SCRIPT, BoardError, SSHTarget
from edgekit.deploy.rollout import env_text
from edgekit.errors import EdgekitError
from tests.helpers import run_cli


def _wait_for(pred: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_an_ssh_destination_is_never_read_as_an_option(tmp_path: Path) -> None:
    marker = tmp_path / "proxy-ran"
    with pytest.raises(EdgekitError, match="may not start with '-'"):
        SSHTarget.parse(f"ssh://-oProxyCommand=touch {marker}")
    # Past the parser (a target built in code), the real ssh still takes it as a host name, not -oProxyCommand
    target = SSHTarget(user=None, host=f"-oProxyCommand=touch {marker}", connect_timeout_s=5)
    assert target.ssh_argv()[-2:] == ["--", target.host]
    with pytest.raises(BoardError):
        target.board("probe", "edgekit", "python3", timeout=30)
    assert not marker.exists()


def test_an_inventory_env_key_that_is_shell_code_is_refused(tmp_path: Path) -> None:
    with pytest.raises(EdgekitError, match="not a shell variable name"):
        env_text({"A=1;touch /tmp/x;B": "v"})
    inv = tmp_path / "boards.yaml"
    inv.write_text("boards:\n  - {target: ssh://pi@127.0.0.1, device: porch, env: {'X=1;touch /tmp/x;Y': v}}\n")
    r = run_cli("deploy", str(tmp_path / "no-bundle.tar.gz"), "--inventory", str(inv), "--dry-run", timeout=60)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0 and "boards.0.env" in r.stderr and "shell variable name" in r.stderr
    # values stay data when the board sources the file (sh here; systemd's EnvironmentFile reads the same quoting)
    env = tmp_path / "edgekit.env"
    value = "it's $(touch pwned) `touch pwned` \\ \"; touch pwned\nsecond line"
    env.write_text(env_text({"MQTT_PASSWORD": value}))
    out = subprocess.run(["sh", "-c", 'set -a; . ./edgekit.env; set +a; printf %s "$MQTT_PASSWORD"'], cwd=tmp_path,
                         capture_output=True, text=True, check=True)
    assert out.stdout == value and not (tmp_path / "pwned").exists()


def test_base_is_a_folder_path_and_never_shell_code(tmp_path: Path) -> None:
    r = run_cli("deploy", str(tmp_path / "no-bundle.tar.gz"), "ssh://pi@127.0.0.1", "--base", 'x"; touch pwned; "',
                "--dry-run", timeout=60)
    assert r.returncode == 2 and r.stderr.startswith("error: base ") and r.stderr.strip().count("\n") == 0
    # board.sh itself (the `process` manager writes a supervisor script) never runs a folder name
    base = tmp_path / "b$(touch pwned)"
    rel = base / "releases" / "r1"
    (rel / "venv" / "bin").mkdir(parents=True)
    (rel / "edgekit.env").write_text("")
    exe = rel / "venv" / "bin" / "edgekit"
    exe.write_text("#!/bin/sh\nexit 2\n")  # a config error: the supervisor stops instead of restarting
    exe.chmod(0o755)
    try:
        subprocess.run(["sh", "-c", BOARD_SCRIPT, "edgekit-board", "activate", str(base), "r1", "process"],
                       cwd=tmp_path, check=True, capture_output=True, timeout=60)
        log = base / "logs" / "edgekit.log"
        assert _wait_for(lambda: log.is_file() and "edgekit exited 2" in log.read_text()), \
            log.read_text() if log.is_file() else "no log"
    finally:
        subprocess.run(["sh", "-c", BOARD_SCRIPT, "edgekit-board", "stop", str(base), "process"], timeout=60)
    assert not (tmp_path / "pwned").exists()
