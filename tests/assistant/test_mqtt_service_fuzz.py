"""Property-based fuzz of the requests that arrive at the assistant's MQTT service (hypothesis): nothing raises into
paho's network thread; a bad request is counted and answered with an error where it carries a usable id. The handler
runs as paho calls it, with paho's own message objects."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from edgekit.assistant.mqtt_service import ID_PATTERN, AssistantMqttService
from tests.delivery.test_mqtt_fuzz import message


class Replies:
    """Collects what the service publishes (the broker is not what is tested here)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def publish(self, topic: str, payload: Any = None, qos: int = 0, retain: bool = False) -> None:
        self.sent.append((topic, json.loads(payload)))

    def subscribe(self, *a: Any, **k: Any) -> None: ...
    def unsubscribe(self, *a: Any, **k: Any) -> None: ...
    def message_callback_add(self, *a: Any) -> None: ...
    def message_callback_remove(self, *a: Any) -> None: ...


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=30)),
    lambda kids: st.one_of(st.lists(kids, max_size=3), st.dictionaries(st.text(max_size=10), kids, max_size=3)),
    max_leaves=10,
)
requests = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"id": st.text(max_size=70), "question": st.text(max_size=50)},
                          optional={"extra": json_values}).map(lambda v: json.dumps(v).encode()),
    st.integers(1, 20_000).map(lambda n: b'{"id": "deep", "question": ' + b"[" * n + b"]" * n + b"}"),
    st.integers(1, 40_000).map(lambda n: json.dumps({"id": "big", "question": "x" * n}).encode()),
)


@settings(max_examples=400, deadline=None)
@given(requests)
def test_assistant_requests_never_escape_and_bad_ones_are_answered(payload: bytes) -> None:
    out = Replies()
    svc = AssistantMqttService(out, "fz", None, max_pending=1000)  # not started: requests wait for a model
    svc._on_message(None, None, message(svc.request_topic, payload))
    assert svc.counters["errors"] == 0
    assert svc.counters["received"] == 1
    # each request ends one way: malformed, refused at once (no model helps: empty, too long, a script the reader
    # does not know), or queued for the model
    assert svc.counters["malformed"] + svc.counters["refused"] + svc._queue.qsize() == 1
    for topic, reply in out.sent:  # only error replies, only on a safe topic level
        rid = topic.removeprefix(svc.response_prefix)
        assert re.fullmatch(ID_PATTERN, rid) and reply["id"] == rid and reply["done"] and "error" in reply
