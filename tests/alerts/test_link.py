"""The MQTT link owns every topic: the daemon's verbs against a real Mosquitto, a guarded service callback, and a
check that nothing in the package publishes around the link or spells a topic outside ``alerts/topics.py``."""

from __future__ import annotations

import ast
import json
import time

import paho.mqtt.publish as publish

from edgekit.config.mqtt import MQTTConfig
from edgekit.contract.topics import Topics
from edgekit.delivery.mqtt import MqttLink
from edgekit.delivery.outbox import Outbox
from tests.alerts.test_delivery import make_event
from tests.helpers import REPO


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
    assert c.wait_for(lambda: len(c.payloads("/available")) >= 3 and c.payloads("homeassistant/binary_sensor/n/x/config"))
    assert c.wait_for(lambda: len(c.events()) == 1 and c.payloads(t.stats), 10)
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
    link.start()
    assert link.connected.wait(10)
    time.sleep(0.3)
    publish.single(topic, b"[" * 100_000, hostname="127.0.0.1", port=broker.port, qos=1)
    assert c.wait_for(lambda: link.counters["callback_errors"] == 1, 10)
    publish.single(topic, b"hello", hostname="127.0.0.1", port=broker.port, qos=1)
    assert c.wait_for(lambda: seen == [b"hello"], 10)
    link.publish_event(make_event(2, "after-bad"))
    assert c.wait_for(lambda: len(c.events()) == 1, 10)
    # the service's subscription is renewed after a reconnect
    broker.restart()
    assert c.wait_for(lambda: link.counters["connects"] >= 2, 30)
    time.sleep(0.3)
    publish.single(topic, b"again", hostname="127.0.0.1", port=broker.port, qos=1)
    assert c.wait_for(lambda: seen == [b"hello", b"again"], 10)
    link.stop()


def _calls(path, attr_chain: tuple[str, str]) -> list[int]:  # type: ignore[no-untyped-def]
    """Lines where ``<x>.<attr_chain[0]>.<attr_chain[1]>(`` is called."""
    lines = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == attr_chain[1]:
            inner = node.func.value
            if isinstance(inner, ast.Attribute) and inner.attr == attr_chain[0]:
                lines.append(node.lineno)
    return lines


TOPIC_ENDINGS = ("/available", "/events", "/stats", "/state", "/attributes", "/set", "/snapshot", "/request",
                 "/response/", "/config", "/status")


def _topic_fstrings(path) -> list[str]:  # type: ignore[no-untyped-def]
    """f-strings that build a topic (``f"{base}/{cam}/available"``)."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.JoinedStr):
            text = "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
            if text.startswith("{}/") and text.endswith(TOPIC_ENDINGS):
                out.append(text)
    return out


def test_nothing_publishes_around_the_link_and_topics_have_one_home():
    around = {}
    spelled = {}
    for p in (REPO / "edgekit").rglob("*.py"):
        rel = str(p.relative_to(REPO))
        if rel != "edgekit/delivery/mqtt.py":
            found = _calls(p, ("client", "publish")) + _calls(p, ("client", "subscribe"))
            if found:
                around[rel] = found
        if rel != "edgekit/contract/topics.py":
            hits = _topic_fstrings(p)
            if hits:
                spelled[rel] = hits
    # the assistant service talks to a client protocol: in the daemon that client is the link itself
    around.pop("edgekit/assistant/mqtt_service.py", None)
    assert not around, f"publishing around the link: {around}"
    assert not spelled, f"topics spelled outside alerts/topics.py: {spelled}"
