"""Two boards from one bundle with an inventory: both online on one broker at the same time, each with its own
MQTT client id, topics and events; a rollout stops at the first failing board."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Broker, Consumer, free_port
from tests.deploy.conftest import Boards, kill_user_processes, needs_ssh
from tests.deploy.test_deploy_ssh import edgekit, healthy, live, manifest_id
from tests.helpers import wait_until

pytestmark = [needs_ssh, pytest.mark.slow, pytest.mark.timeout(3000)]


def test_inventory_two_boards_one_broker(boards: Boards, bundles: dict[str, Path], session_broker: Broker,
                                         tmp_path: Path) -> None:
    ports = {"ekboard2": free_port(), "ekboard3": free_port()}
    secrets = tmp_path / "secrets.env"
    secrets.write_text(f"MQTT_PORT={session_broker.port}\nMQTT_USER=edgekit\nMQTT_PASSWORD=pw\nCAMERA=unused\n")
    ssh_opts = json.dumps(boards.ssh_options())
    inv = tmp_path / "boards.yaml"
    inv.write_text(
        "batch_size: 1\n"
        f"defaults: {{manager: process, env_file: secrets.env, ssh_options: {ssh_opts}}}\n"
        "boards:\n"
        f"  - {{target: '{boards.url('ekboard2')}', device: porch, cameras: {{porch: 'synthetic:1:40'}},"
        f" env: {{METRICS_PORT: '{ports['ekboard2']}'}}}}\n"
        f"  - {{target: '{boards.url('ekboard3')}', device: garage, cameras: {{porch: 'synthetic:2:40'}},"
        f" env: {{METRICS_PORT: '{ports['ekboard3']}'}}}}\n"
    )
    consumer = Consumer(session_broker.port, ["edgekit/#", "homeassistant/#"], client_id="inventory-test-consumer")

    def devices_with_events() -> set[str]:
        return {t.split("/")[1] for t, _, _ in list(consumer.messages) if t.endswith("/events")}

    try:
        res = edgekit("deploy", str(bundles["v1"]), "--inventory", str(inv), "--health-timeout", "240")
        assert res.returncode == 0, res.stderr
        v1 = manifest_id(bundles["v1"])
        assert live(boards.homes["ekboard2"]) == v1 and live(boards.homes["ekboard3"]) == v1
        # both online at once (each with its own client id: one would otherwise kick the other off the broker)
        wait_until(lambda: devices_with_events() >= {"porch", "garage"}, 300,
                   what=lambda: f"events from porch and garage (from {devices_with_events()})")
        avail = {t: p for t, p, _ in consumer.messages if t in ("edgekit/porch/available",
                                                                 "edgekit/garage/available")}
        assert avail == {"edgekit/porch/available": b"online", "edgekit/garage/available": b"online"}
        assert healthy(ports["ekboard2"]) and healthy(ports["ekboard3"])
        unique_ids = {json.loads(p)["unique_id"] for t, p, _ in list(consumer.messages)
                      if t.startswith("homeassistant/") and p}
        assert any(u.startswith("edgekit_porch_") for u in unique_ids)
        assert any(u.startswith("edgekit_garage_") for u in unique_ids)
        log = (session_broker.dir / "mosquitto.log").read_text()
        assert "edgekit-porch" in log and "edgekit-garage" in log
        assert "already connected" not in log  # no client id was taken over

        # a rollout stops at the first board that fails: the next one keeps its release
        stop = tmp_path / "stop.yaml"
        stop.write_text(inv.read_text().replace(boards.url("ekboard2"), f"ssh://ekboard2@127.0.0.1:{free_port()}"))
        res = edgekit("deploy", str(bundles["v2"]), "--inventory", str(stop))
        assert res.returncode == 2
        assert res.stderr.strip().splitlines()[-1].startswith("error: rollout stopped:") and "unreachable" in res.stderr
        assert live(boards.homes["ekboard3"]) == v1 and healthy(ports["ekboard3"])
    finally:
        consumer.close()
        kill_user_processes("ekboard2")
        kill_user_processes("ekboard3")
