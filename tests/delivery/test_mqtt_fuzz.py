"""Property-based fuzz of the rule commands that arrive on the MQTT link (hypothesis): nothing raises into paho's
network thread; a bad message is counted, a good one is handled. The handler runs as paho calls it, with paho's own
message objects."""

from __future__ import annotations

from typing import Any

import paho.mqtt.client as mqtt
from hypothesis import given, settings
from hypothesis import strategies as st

from edgekit.config.mqtt import MQTTConfig
from edgekit.delivery.mqtt import MqttLink
from edgekit.delivery.outbox import Outbox


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
