"""Guards of the assistant's MQTT service on the daemon's link (real Mosquitto, real tiny GGUF): no message can stop
the network thread (deep, huge, invalid), bad ones are answered with an error where an id can be read, and requests
that arrive while the model is loading are logged and answered once it is ready."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from edgekit.assistant.mqtt_service import MAX_PAYLOAD, AssistantMqttService
from edgekit.config.mqtt import MQTTConfig
from edgekit.delivery.mqtt import MqttLink
from edgekit.delivery.outbox import Outbox
from tests.alerts.test_delivery import make_event
from tests.assistant.test_mqtt import DEVICE, REQ, Client, assistant  # noqa: F401


def _link(port: int, tmp_path: Any) -> MqttLink:
    return MqttLink(MQTTConfig(port=port, wait_for_broker=True, keepalive=5), DEVICE, Outbox(tmp_path / "ob.db"))


def test_hostile_requests_never_stop_the_link(broker: Any, consumer_factory: Any, assistant: Any,  # noqa: F811
                                              tmp_path: Any) -> None:
    events = consumer_factory([f"edgekit/{DEVICE}/events"])
    link = _link(broker.port, tmp_path)
    svc = AssistantMqttService(link, DEVICE, assistant)
    svc.start()
    link.start()
    assert link.connected.wait(10)
    asker = Client(broker.port, f"edgekit/{DEVICE}/assistant/response/#")
    try:
        asker.client.publish(REQ, b"[" * 200_000, qos=1)  # RecursionError in json.loads without the depth cap
        asker.client.publish(REQ, b'{"id": "deep", "question": ' + b"[" * 5000 + b"]" * 5000 + b"}", qos=1)
        asker.client.publish(REQ, json.dumps({"id": "huge", "question": "x" * (MAX_PAYLOAD + 1)}), qos=1)
        asker.client.publish(REQ, b"\xff\xfe\x00", qos=1)
        (deep,) = asker.wait_final("deep", timeout=30)
        assert "nested deeper" in deep["error"]
        (huge,) = asker.wait_final("huge", timeout=30)
        assert "too large" in huge["error"]
        deadline = time.monotonic() + 30
        while svc.counters["malformed"] < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert svc.counters["malformed"] == 4 and svc.counters["errors"] == 0
        assert link.counters["callback_errors"] == 0
        # the network thread lives: alerts flow and the next question is answered
        link.publish_event(make_event(7, "guards"))
        asker.client.publish(REQ, json.dumps({"id": "ok", "question": "how many falls?"}), qos=1)
        assert asker.wait_final("ok")[-1].get("answer") is not None
        assert events.wait_for(lambda: len(events.events()) == 1, 30)
    finally:
        asker.close()
        svc.stop()
        link.stop()


def test_request_before_the_model_is_ready_is_logged_and_answered(broker: Any, assistant: Any, tmp_path: Any,  # noqa: F811
                                                                  caplog: Any) -> None:
    link = _link(broker.port, tmp_path)
    svc = AssistantMqttService(link, DEVICE, None)
    svc.start()
    link.start()
    assert link.connected.wait(10)
    asker = Client(broker.port, f"edgekit/{DEVICE}/assistant/response/#")
    try:
        with caplog.at_level(logging.INFO, logger="edgekit.assistant.mqtt_service"):
            asker.client.publish(REQ, json.dumps({"id": "early", "question": "how many falls?"}), qos=1)
            deadline = time.monotonic() + 30
            while svc.counters["received"] < 1 and time.monotonic() < deadline:
                time.sleep(0.05)
        assert any("early arrived while the model is loading" in r.getMessage() for r in caplog.records)
        assert not svc.ready and asker.for_id("early") == []
        svc.set_assistant(assistant)
        assert asker.wait_final("early")[-1].get("answer") is not None
    finally:
        asker.close()
        svc.stop()
        link.stop()


def test_a_flood_of_malformed_requests_logs_a_few_lines(broker: Any, tmp_path: Any, caplog: Any) -> None:
    link = _link(broker.port, tmp_path)
    svc = AssistantMqttService(link, DEVICE, None)  # no model needed: malformed requests never reach it
    svc.start()
    link.start()
    assert link.connected.wait(10)
    asker = Client(broker.port, f"edgekit/{DEVICE}/assistant/response/#")
    try:
        with caplog.at_level(logging.WARNING, logger="edgekit.assistant.mqtt_service"):
            for _ in range(200):
                asker.client.publish(REQ, b"not json", qos=1)
            deadline = time.monotonic() + 30
            while svc.counters["malformed"] < 200 and time.monotonic() < deadline:
                time.sleep(0.05)
        assert svc.counters["malformed"] == 200  # every one counted...
        lines = [r.getMessage() for r in caplog.records if "malformed assistant request" in r.getMessage()]
        assert 1 <= len(lines) <= 10, len(lines)  # ...a few logged
    finally:
        asker.close()
        svc.stop()
        link.stop()
