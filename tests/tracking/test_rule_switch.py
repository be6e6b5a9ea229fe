"""Switching rules off over MQTT (``<camera>/<rule>/set``), against a real Mosquitto: every switch is logged and
listed, and a safety rule (a fall) ignores a retained OFF, which the broker would otherwise replay on every connect
and restart, switching the fall alarm off for good without a line anywhere (the security review's finding)."""

from __future__ import annotations

import logging

import paho.mqtt.publish as publish
import pytest

from edgekit.config.daemon import CameraConfig, MQTTConfig, RuleConfig
from edgekit.delivery.mqtt import MqttLink
from edgekit.delivery.outbox import Outbox
from edgekit.tracking.rules import RuleEngine
from tests.helpers import wait_until

CAM = CameraConfig(source="synthetic")
RULES = [RuleConfig(name="fall", labels=["Fall"], pose="fall"), RuleConfig(name="door", labels=["Normal"]),
         RuleConfig(name="fall_anyway", labels=["Fall"], pose="fall", remote_off="any"),
         RuleConfig(name="locked", labels=["Normal"], remote_off="never")]


def test_defaults_make_fall_rules_safety_rules() -> None:
    assert [r.off_switch for r in RULES] == ["live", "any", "any", "never"]


def test_switches_are_logged_listed_and_safety_rules_refuse_a_retained_off(
        broker, tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="edgekit.tracking.rules")
    engine = RuleEngine("cam1", CAM, RULES, ["Normal", "Fall"])

    def on_command(cam: str, rule: str, enabled: bool, retained: bool) -> bool:
        return cam == "cam1" and engine.set_enabled(rule, enabled, retained=retained)

    def off(rule: str, retain: bool) -> None:
        publish.single(f"edgekit/dev/cam1/{rule}/set", b"OFF", hostname="127.0.0.1", port=broker.port, qos=1,
                       retain=retain)

    for rule in ("fall", "door", "fall_anyway", "locked"):
        off(rule, retain=True)  # waiting at the broker before the daemon connects, as after a restart
    link = MqttLink(MQTTConfig(host="127.0.0.1", port=broker.port, wait_for_broker=True, keepalive=5), "dev",
                    Outbox(tmp_path / "outbox.db"), on_command=on_command)
    link.start()
    try:
        wait_until(lambda: len(engine.rules_off()) == 2, timeout=30, what="the retained OFFs applied")
        assert [line.split(" ")[0] for line in engine.rules_off()] == ["door", "fall_anyway"]
        assert engine.is_enabled("fall") and engine.is_enabled("locked")  # the retained OFF was refused
        refused = [r.getMessage() for r in caplog.records if "refused an OFF" in r.getMessage()]
        assert any("rule fall stays ON" in m and "retained" in m for m in refused)
        assert any("rule locked stays ON" in m for m in refused)

        off("fall", retain=False)  # someone switches it off now, on purpose: allowed, logged, listed
        off("locked", retain=False)
        wait_until(lambda: not engine.is_enabled("fall"), timeout=30, what="the live OFF of the fall rule")
        assert "fall (off since" in engine.rules_off()[1] and "live message" in engine.rules_off()[1]
        switched = [r.getMessage() for r in caplog.records if "switched OFF" in r.getMessage()]
        assert len(switched) == 3 and engine.is_enabled("locked")
    finally:
        for rule in ("fall", "door", "fall_anyway", "locked"):  # clear the retained messages
            publish.single(f"edgekit/dev/cam1/{rule}/set", b"", hostname="127.0.0.1", port=broker.port, retain=True)
        link.stop()
