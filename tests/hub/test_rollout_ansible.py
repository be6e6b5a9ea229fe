"""scripts/fleet/rollout.yml with ansible-core against three OpenSSH "boards" on loopback (non-root users, their own
sshd): a rollout in batches, then one that stops at the first unhealthy board, which is rolled back, and never
touches the boards after it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.conftest import free_port
from tests.deploy.conftest import (
    REPO,
    Boards,
    bundles,
    kill_user_processes,
    needs_ssh,
    serve_boards,
    session_broker,
)
from tests.deploy.test_deploy_ssh import board_env, healthy, live, manifest_id

__all__ = ["bundles", "session_broker"]  # the deploy tests' fixtures, used here too
# Users of their own: the deploy tests' users (ekboard1-3) are recreated, keys and all, by any concurrent deploy run.
USERS = ("ekfleet1", "ekfleet2", "ekfleet3")


@pytest.fixture(scope="module")
def fleet_boards(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Boards]:
    """One sshd on a free loopback port serving three non-root users (three "boards"), key login only."""
    with serve_boards(tmp_path_factory.mktemp("fleet-sshd"), USERS) as b:
        yield b


pytestmark = [needs_ssh, pytest.mark.slow, pytest.mark.heavy, pytest.mark.timeout(3000)]
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
def test_ansible_rollout_in_batches_stops_at_the_first_unhealthy_board(fleet_boards: Boards,
                                                                       bundles: dict[str, Path],
                                                                       session_broker, tmp_path: Path) -> None:
    boards, users = fleet_boards, USERS
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

        # b2 gets a bundle whose camera never delivers: its health check fails, it is rolled back, the play stops.
        # Its wait is shorter: the full one was a quarter of the run, and 120 s still leaves the rollback's restart
        # of v1 (which has the same limit) several times what it took at a load average of 22.
        hosts["b2"]["board_bundle"] = str(bundles["broken"])
        hosts["b2"]["health_timeout"] = 120
        inv.write_text(yaml.safe_dump({"boards": {"hosts": hosts, "vars": group_vars}}))
        r = playbook(inv, tmp_path, "-e", f"bundle={bundles['v2']}", "-e", "batch=1")
        assert r.returncode != 0, r.stdout[-3000:]
        assert "rolled back to" in r.stdout, r.stdout[-3000:]
        v2 = manifest_id(bundles["v2"])
        assert live(boards.homes[users[0]]) == v2 and healthy(ports[users[0]])
        assert live(boards.homes[users[1]]) == v1 and healthy(ports[users[1]])  # rolled back, running
        assert live(boards.homes[users[2]]) == v1 and healthy(ports[users[2]])  # never touched
        recap = r.stdout[r.stdout.rfind("PLAY RECAP"):]
        assert "b3" not in recap, recap  # the third batch never ran
    finally:
        for u in users:
            kill_user_processes(u)
