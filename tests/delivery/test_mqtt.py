"""The MQTT link against a real Mosquitto: the daemon's verbs on the topics of the layout, a guarded service callback,
malformed commands counted, an unreachable broker as one clear error; and nothing in the package publishes around
the link."""

from __future__ import annotations

import ast
import json
import socket
import uuid

import paho.mqtt.publish as publish
import pytest

from edgekit.config.mqtt import MQTTConfig
from edgekit.contract.topics import Topics
from edgekit.delivery.mqtt import MqttLink, check_broker
from edgekit.delivery.outbox import Outbox
from edgekit.errors import EdgekitError
from edgekit.types import Event
from tests.helpers import REPO, Subacks, wait_until


def make_event(i: int, run: str = "t") -> Event:
    return Event(rule="door", source="cam1", label="Normal", score=0.9, box=(1, 2, 3, 4), start_ts=1000.0 + i,
                 device="dev", id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"{run}/{i}")))


def link_for(port: int, outbox: Outbox, **kw: object) -> MqttLink:
    cfg = MQTTConfig(host="127.0.0.1", port=port, wait_for_broker=True, keepalive=5)
    return MqttLink(cfg, "dev", outbox, **kw)  # type: ignore[arg-type]


def test_verbs_publish_on_the_topics_of_the_layout(broker, consumer_factory, tmp_path):
    c = consumer_factory(["edgekit/dev/#", "homeassistant/#"])
    link = MqttLink(MQTTConfig(port=broker.port, wait_for_broker=True, keepalive=5), "dev",
                    Outbox(tmp_path / "outbox.db"))
    link.start()
    assert link.connected.wait(10)
    ev = make_event(1, "verbs")
    link.publish_event(ev)
    link.set_rule_state("cam1", "door", True, attributes=ev.to_json())
    link.publish_snapshot("cam1", b"\xff\xd8jpeg")
    link.set_camera_available("cam1", False)
    link.publish_stats(json.dumps({"cameras": {}}))
    link.announce([("homeassistant/binary_sensor/n/x/config", "{}")], {"cam2": True})
    t = Topics("edgekit", "dev")
    wait_until(lambda: len(c.payloads("/available")) >= 3 and c.payloads("homeassistant/binary_sensor/n/x/config"),
               what="availability and discovery messages")
    wait_until(lambda: len(c.events()) == 1 and c.payloads(t.stats), 10, what="the event and the stats")
    assert c.payloads(t.rule_state("cam1", "door")) == [b"ON"]
    assert json.loads(c.payloads(t.rule_attributes("cam1", "door"))[0])["id"] == ev.id
    assert c.payloads(t.snapshot("cam1")) == [b"\xff\xd8jpeg"]
    assert c.payloads(t.camera_available("cam1")) == [b"offline"]
    assert c.payloads(t.camera_available("cam2")) == [b"online"]
    link.stop()


def test_a_service_callback_that_raises_does_not_stop_the_link(broker, consumer_factory, tmp_path):
    """A callback on paho's network thread that raises (here a RecursionError, as deeply nested JSON gives) is
    logged and counted; the thread lives on: events still flow and the subscription still answers."""
    c = consumer_factory(["edgekit/dev/#"])
    link = MqttLink(MQTTConfig(port=broker.port, wait_for_broker=True, keepalive=5), "dev",
                    Outbox(tmp_path / "outbox.db"))
    seen: list[bytes] = []

    def handler(_client, _userdata, msg) -> None:  # type: ignore[no-untyped-def]
        if msg.payload.startswith(b"["):
            json.loads(msg.payload)  # the interpreter's recursion limit: RecursionError
        seen.append(bytes(msg.payload))

    topic = Topics("edgekit", "dev").assistant_request
    link.message_callback_add(topic, handler)
    link.subscribe(topic, qos=1)
    subacks = Subacks(link.client)
    link.start()
    subacks.wait(count=1)  # the link subscribes on connect
    publish.single(topic, b"[" * 100_000, hostname="127.0.0.1", port=broker.port, qos=1)
    wait_until(lambda: link.counters["callback_errors"] == 1, 10, what="the callback error counted")
    publish.single(topic, b"hello", hostname="127.0.0.1", port=broker.port, qos=1)
    wait_until(lambda: seen == [b"hello"], 10, what=lambda: f"hello handled (seen {seen})")
    link.publish_event(make_event(2, "after-bad"))
    wait_until(lambda: len(c.events()) == 1, 10, what="the event after the bad message")
    # the service's subscription is renewed after a reconnect
    broker.restart()
    subacks.wait(count=2, timeout=30)  # reconnected and subscribed again
    assert link.counters["connects"] >= 2
    publish.single(topic, b"again", hostname="127.0.0.1", port=broker.port, qos=1)
    wait_until(lambda: seen == [b"hello", b"again"], 10, what=lambda: f"again handled (seen {seen})")
    link.stop()


def test_malformed_messages_are_ignored_and_counted(broker, consumer_factory, tmp_path):
    c = consumer_factory(["edgekit/dev/events"])
    seen: list[tuple[str, str, bool]] = []

    def on_command(cam: str, rule: str, enabled: bool, retained: bool) -> bool:
        seen.append((cam, rule, enabled))
        return cam == "cam1" and rule == "door"

    ob = Outbox(tmp_path / "outbox.db")
    link = link_for(broker.port, ob, on_command=on_command)
    subacks = Subacks(link.client)
    link.start()
    subacks.wait(count=1)  # the link subscribes to its command topics on connect
    bad = [("edgekit/dev/cam1/door/set", b"\xff\xfe"), ("edgekit/dev/cam1/door/set", b"MAYBE"),
           ("edgekit/dev/cam9/door/set", b"ON"), ("homeassistant/status", b"{not json"),
           ("edgekit/dev/cam1/door/set", b"")]
    for topic, payload in bad:
        publish.single(topic, payload, hostname="127.0.0.1", port=broker.port, qos=1)
    publish.single("edgekit/dev/cam1/door/set", b"off", hostname="127.0.0.1", port=broker.port, qos=1)
    wait_until(lambda: link.counters["malformed"] == 5 and ("cam1", "door", False) in seen, 10,
               what=lambda: f"5 malformed and the good command (counters {link.counters}, seen {seen})")
    link.publish_event(make_event(1, "after"))  # still working
    wait_until(lambda: len(c.events()) == 1, 10, what="the event after the malformed messages")
    link.stop()


def test_unreachable_broker_is_one_clear_error():
    with pytest.raises(EdgekitError, match="unreachable"):
        check_broker(MQTTConfig(host="127.0.0.1", port=_closed_port(), connect_timeout_s=1))
    with pytest.raises(EdgekitError, match="does not resolve"):
        check_broker(MQTTConfig(host="no-such-broker.invalid"))
    check_broker(MQTTConfig(host="127.0.0.1", port=_closed_port(), wait_for_broker=True))


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _calls(path, attr_chain: tuple[str, str]) -> list[int]:  # type: ignore[no-untyped-def]
    """Lines where ``<x>.<attr_chain[0]>.<attr_chain[1]>(`` is called."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == attr_chain[1]:
            inner = node.func.value
            if isinstance(inner, ast.Attribute) and inner.attr == attr_chain[0]:
                lines.append(node.lineno)
    return lines


def test_nothing_publishes_around_the_link():
    around = {}
    for p in (REPO / "edgekit").rglob("*.py"):
        rel = str(p.relative_to(REPO))
        if rel != "edgekit/delivery/mqtt.py":
            found = _calls(p, ("client", "publish")) + _calls(p, ("client", "subscribe"))
            if found:
                around[rel] = found
    # the assistant service talks to a client protocol: in the daemon that client is the link itself
    around.pop("edgekit/assistant/mqtt_service.py", None)
    assert not around, f"publishing around the link: {around}"
