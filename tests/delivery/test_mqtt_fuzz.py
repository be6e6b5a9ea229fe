"""Property-based fuzz of the rule commands that arrive on the MQTT link (hypothesis): nothing raises into paho's
network thread; a bad message is counted, a good one is handled; no mix of retained messages switches a safety rule
off; a long run of bad ones does not grow the process. The handler runs as paho calls it, with paho's own
message objects."""

from __future__ import annotations

from typing import Any

import paho.mqtt.client as mqtt
import psutil
from hypothesis import given, settings
from hypothesis import strategies as st

from edgekit.config.daemon import CameraConfig, RuleConfig
from edgekit.config.mqtt import MQTTConfig
from edgekit.delivery.mqtt import MqttLink
from edgekit.delivery.outbox import Outbox
from edgekit.tracking.rules import RuleEngine


def message(topic: str, payload: bytes) -> mqtt.MQTTMessage:
    m = mqtt.MQTTMessage(topic=topic.encode())
    m.payload = payload
    return m


topics = st.one_of(
    st.sampled_from(["edgekit/fz/cam1/door/set", "edgekit/fz/cam1/set", "edgekit/fz/+/door/set",
                     "homeassistant/status", "edgekit/fz//door/set", "edgekit/fz/cam1/door/set/x"]),
    st.text(max_size=40),
)


@settings(max_examples=400, deadline=None)
@given(topics, st.binary(max_size=50) | st.sampled_from([b"ON", b"off", b" on ", b"online", b"offline"]))
def test_link_commands_never_escape(tmp_path_factory: Any, topic: str, payload: bytes) -> None:
    seen: list[tuple[str, str, bool]] = []

    def on_command(cam: str, rule: str, on: bool, retained: bool) -> bool:
        seen.append((cam, rule, on))
        return cam == "cam1" and rule == "door"

    link = MqttLink(MQTTConfig(wait_for_broker=True), "fz", Outbox(":memory:"), on_command=on_command)
    link._handle_message(None, None, message(topic, payload))
    ok = (topic == "edgekit/fz/cam1/door/set" and payload.strip().upper() in (b"ON", b"OFF")) or (
        topic == "homeassistant/status" and payload in (b"online", b"offline"))
    assert link.counters["malformed"] == (0 if ok else 1)
    link.outbox.close()


SAFETY = [RuleConfig(name="fall", labels=["Fall"], pose="fall"), RuleConfig(name="door", labels=["Normal"])]
commands = st.lists(st.tuples(st.sampled_from(["fall", "door", "nope"]),
                              st.sampled_from([b"ON", b"OFF", b"off", b" On ", b"x", b""]), st.booleans()), max_size=25)


@settings(max_examples=300, deadline=None)
@given(commands)
def test_no_sequence_of_retained_messages_switches_a_safety_rule_off(cmds: list[tuple[str, bytes, bool]]) -> None:
    """Whatever mix of live and retained ON/OFF arrives, the fall rule is off only after a live OFF that no ON
    followed; the ordinary rule follows every command."""
    engine = RuleEngine("cam1", CameraConfig(source="synthetic"), SAFETY, ["Normal", "Fall"])
    link = MqttLink(MQTTConfig(wait_for_broker=True), "fz", Outbox(":memory:"),
                    on_command=lambda cam, rule, on, retained: engine.set_enabled(rule, on, retained=retained))
    want = {"fall": True, "door": True}
    for rule, payload, retained in cmds:
        m = message(f"edgekit/fz/cam1/{rule}/set", payload)
        m.retain = retained
        link._handle_message(None, None, m)
        word = payload.strip().upper()
        if rule in want and word in (b"ON", b"OFF") and not (rule == "fall" and word == b"OFF" and retained):
            want[rule] = word == b"ON"
    assert {r: engine.is_enabled(r) for r in want} == want
    assert len(engine.rules_off()) == sum(not on for on in want.values())
    link.outbox.close()


def test_a_long_run_of_bad_commands_does_not_grow_the_process() -> None:
    link = MqttLink(MQTTConfig(wait_for_broker=True), "fz", Outbox(":memory:"), on_command=lambda *a: False)
    bad = [message("edgekit/fz/cam1/door/set", b"\xff" * 64), message("edgekit/fz/x/y/z/set", b"ON"),
           message("homeassistant/status", b"{" * 200), message("#", b"")]
    for m in bad * 500:  # warm up: the logger's rate limit, allocator pools
        link._handle_message(None, None, m)
    rss = psutil.Process().memory_info().rss
    for m in bad * 5000:
        link._handle_message(None, None, m)
    assert link.counters["malformed"] == len(bad) * 5500
    assert psutil.Process().memory_info().rss - rss < 4 << 20
    link.outbox.close()
