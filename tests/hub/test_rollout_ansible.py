"""scripts/fleet/rollout.yml with ansible-core against three OpenSSH "boards" on loopback (non-root users, their own
sshd): a rollout in batches, then one that stops at the first unhealthy board, which is rolled back, and never
touches the boards after it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import free_port
from tests.deploy.conftest import REPO, Boards, boards, bundles, kill_user_processes, needs_ssh, session_broker
from tests.deploy.test_deploy_ssh import board_env, healthy, live, manifest_id

__all__ = ["boards", "bundles", "session_broker"]  # the deploy tests' fixtures, used here too
pytestmark = [needs_ssh, pytest.mark.slow, pytest.mark.timeout(3000)]
PLAYBOOK = REPO / "scripts" / "fleet" / "rollout.yml"
ANSIBLE = Path(sys.executable).parent / "ansible-playbook"


def playbook(inventory: Path, tmp: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    cli = tmp / "edgekit"  # the controller's edgekit: this checkout
    cli.write_text(f"#!/bin/sh\nPYTHONPATH={REPO} exec {sys.executable} -m edgekit.cli.main \"$@\"\n")
    cli.chmod(0o755)
    return subprocess.run([str(ANSIBLE), "-i", str(inventory), str(PLAYBOOK), "-e", f"edgekit={cli}", *extra],
                          capture_output=True, text=True, timeout=2400, cwd=tmp,
                          env={**os.environ, "LC_ALL": "C.UTF-8", "ANSIBLE_NOCOLOR": "1",
                               "ANSIBLE_RETRY_FILES_ENABLED": "0"})


@pytest.mark.skipif(not ANSIBLE.exists(), reason="ansible-core not installed (scripts/install_fleet.sh)")
def test_ansible_rollout_in_batches_stops_at_the_first_unhealthy_board(boards: Boards, bundles: dict[str, Path],
                                                                       session_broker, tmp_path: Path) -> None:
    users = ("ekboard1", "ekboard2", "ekboard3")
    ports = {u: free_port() for u in users}
    hosts = {f"b{i + 1}": {"ansible_host": "127.0.0.1", "ansible_port": boards.port, "ansible_user": u,
                           "device": f"porch{i + 1}", "env_file": str(board_env(tmp_path, session_broker, ports[u]))}
             for i, u in enumerate(users)}
    group_vars = {"manager": "process", "identity": str(boards.key), "health_timeout": 240,
                  "ssh_options": [f"UserKnownHostsFile={boards.known_hosts}", "StrictHostKeyChecking=yes",
                                  "IdentitiesOnly=yes"]}
    inv = tmp_path / "boards.yml"
    inv.write_text(yaml.safe_dump({"boards": {"hosts": hosts, "vars": group_vars}}))
    try:
        r = playbook(inv, tmp_path, "-e", f"bundle={bundles['v1']}", "-e", "batch=2")
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-2000:]
        v1 = manifest_id(bundles["v1"])
        assert [live(boards.homes[u]) for u in users] == [v1] * 3
        assert all(healthy(ports[u]) for u in users)

        # b2 gets a bundle whose camera never delivers: its health check fails, it is rolled back, the play stops
        hosts["b2"]["board_bundle"] = str(bundles["broken"])
        inv.write_text(yaml.safe_dump({"boards": {"hosts": hosts, "vars": group_vars}}))
        r = playbook(inv, tmp_path, "-e", f"bundle={bundles['v2']}", "-e", "batch=1")
        assert r.returncode != 0, r.stdout[-3000:]
        assert "rolled back to" in r.stdout, r.stdout[-3000:]
        v2 = manifest_id(bundles["v2"])
        assert live(boards.homes["ekboard1"]) == v2 and healthy(ports["ekboard1"])
        assert live(boards.homes["ekboard2"]) == v1 and healthy(ports["ekboard2"])  # rolled back, running
        assert live(boards.homes["ekboard3"]) == v1 and healthy(ports["ekboard3"])  # never touched
        recap = r.stdout[r.stdout.rfind("PLAY RECAP"):]
        assert "b3" not in recap, recap  # the third batch never ran
    finally:
        for u in users:
            kill_user_processes(u)
