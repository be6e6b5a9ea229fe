"""The assistant's MQTT request/response service against a real Mosquitto (the ``broker`` fixture of
tests/conftest.py) and a real llama.cpp model (the tiny random-weight GGUF: its words are noise, the protocol
is what is checked)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from edgekit.assistant.agent import Assistant
from edgekit.assistant.engine import LlamaEngine
from edgekit.assistant.mqtt_service import AssistantMqttService
from edgekit.assistant.settings import LLMSettings
from edgekit.assistant.tiny_gguf import write_tiny_gguf
from edgekit.assistant.tools import ToolBox
from edgekit.events import EventStore
from edgekit.types import Event
from tests.helpers import Subacks, subscribe, wait_until

pytest.importorskip("llama_cpp")
pytest.importorskip("gguf")
mqtt = pytest.importorskip("paho.mqtt.client")

DEVICE = "testdev"
REQ = f"edgekit/{DEVICE}/assistant/request"


class Client:
    """A paho client on the test broker that records what arrives; subscribed (acknowledged) to ``topic`` if given.
    ``subacks`` counts every SUBACK it gets, those of a service subscribing on it included."""

    def __init__(self, port: int, topic: str | None = None) -> None:
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()
        self.connected = threading.Event()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda *_: self.connected.set()
        self.client.on_message = self._on_message
        self.subacks = Subacks(self.client)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not self.connected.wait(10):
            raise TimeoutError("no connection to the test broker")
        if topic is not None:
            subscribe(self.client, topic, acks=self.subacks)

    def _on_message(self, _c: Any, _u: Any, msg: Any) -> None:
        with self.lock:
            self.messages.append((msg.topic, json.loads(msg.payload)))

    def for_id(self, rid: str) -> list[dict[str, Any]]:
        with self.lock:
            return [p for t, p in self.messages if t == f"edgekit/{DEVICE}/assistant/response/{rid}"]

    def wait_final(self, rid: str, timeout: float = 120) -> list[dict[str, Any]]:
        def final() -> list[dict[str, Any]]:
            got = self.for_id(rid)
            return got if got and got[-1].get("done") else []

        return wait_until(final, timeout, what=lambda: f"the final response for {rid}: {self.for_id(rid)}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class RecordingAssistant:
    """The real Assistant, noting the thread each question runs on."""

    def __init__(self, inner: Assistant) -> None:
        self.inner = inner
        self.threads: list[str] = []
        self.go = threading.Event()  # cleared by a test to hold the worker busy (answers take milliseconds)
        self.go.set()

    def ask(self, question: str, *, history: Any = (), on_token: Any = None) -> Any:
        self.threads.append(threading.current_thread().name)
        self.go.wait(60)
        return self.inner.ask(question, history=history, on_token=on_token)


@pytest.fixture(scope="module")
def assistant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Assistant]:
    d = tmp_path_factory.mktemp("mqtt")
    store = EventStore(d / "events.db")
    store.add(Event(rule="r", source="gate", label="Fall", score=0.9, box=(0, 0, 1, 1), start_ts=time.time()))
    engine = LlamaEngine(write_tiny_gguf(d / "tiny.gguf"), LLMSettings(threads=1, n_ctx=8192, n_batch=256))
    yield Assistant(engine, ToolBox(store))
    engine.close()


@pytest.fixture()
def service(broker: Any, assistant: Assistant) -> Iterator[tuple[AssistantMqttService, RecordingAssistant]]:
    rec = RecordingAssistant(assistant)
    host = Client(broker.port)
    svc = AssistantMqttService(host.client, DEVICE, rec, max_pending=2)
    svc.start()
    host.subacks.wait(count=1)  # the service's subscription, the only one on this client
    yield svc, rec
    svc.stop()
    host.close()


def test_question_gets_streamed_chunks_then_a_final_answer(broker: Any, service: Any) -> None:
    svc, rec = service
    asker = Client(broker.port, f"edgekit/{DEVICE}/assistant/response/#")
    asker.client.publish(REQ, json.dumps({"id": "q1", "question": "how many falls?"}), qos=1)
    got = asker.wait_final("q1")
    *chunks, final = got
    assert final["done"] is True and final["id"] == "q1" and "error" not in final
    assert [c["seq"] for c in chunks] == list(range(len(chunks))) == list(range(final["chunks"]))
    assert "".join(c["chunk"] for c in chunks) == final["answer"]
    assert final["answer"] == "1 Fall event in total." and final["outcome"] == "answered"
    assert final["tool_calls"][0]["result"]["count"] == 1
    assert final["llm"]["calls"] == 0  # the question stated everything: no model call
    assert rec.threads == ["assistant-mqtt"]  # generation ran on the worker, not paho's network thread
    assert svc.counters["answered"] == 1
    asker.close()


@pytest.mark.parametrize(
    ("payload", "reply"),
    [
        (b"not json at all", None),
        (b'{"question": "no id"}', None),
        (b'{"id": "a/b/#", "question": "bad id"}', None),  # would escape its topic level: dropped
        (b'{"id": "m1"}', "question: Field required"),
        (b'{"id": "m2", "question": ""}', "question: String should have at least 1 character"),
        (b'{"id": "m3", "question": "x", "sql": "DROP TABLE"}', "sql: Extra inputs are not permitted"),
        (json.dumps({"id": "m4", "question": "x" * 5000}).encode(), "question: String should have at most 2000"),
    ],
)
def test_malformed_requests_are_counted_not_answered(
    broker: Any, service: Any, payload: bytes, reply: str | None
) -> None:
    svc, rec = service
    asker = Client(broker.port, f"edgekit/{DEVICE}/assistant/response/#")
    asker.client.publish(REQ, payload, qos=1)
    wait_until(lambda: svc.counters["malformed"] >= 1, 10, what="the request counted as malformed")
    assert svc.counters["malformed"] == 1
    if reply is not None:
        rid = json.loads(payload)["id"]
        (final,) = asker.wait_final(rid, timeout=10)
        assert final["done"] and reply in final["error"]
    assert rec.threads == []  # the model never saw it
    # and the service still answers the next good question
    asker.client.publish(REQ, json.dumps({"id": "ok", "question": "hello"}), qos=1)
    assert asker.wait_final("ok")[-1].get("answer") is not None
    # one worker takes the queue in order: had the bad request been queued, the model would have seen it first
    assert rec.threads == ["assistant-mqtt"]
    asker.close()


def test_full_queue_answers_busy(broker: Any, service: Any) -> None:
    svc, rec = service
    asker = Client(broker.port, f"edgekit/{DEVICE}/assistant/response/#")
    rec.go.clear()
    for i in range(6):
        asker.client.publish(REQ, json.dumps({"id": f"b{i}", "question": "how many falls?"}), qos=1)
    # one running, two queued, the rest busy
    wait_until(lambda: svc.counters["busy"] + 3 >= 6, 30, what=lambda: f"3 busy replies ({svc.counters})")
    rec.go.set()
    finals = [asker.wait_final(f"b{i}")[-1] for i in range(6)]
    busy = [f for f in finals if f.get("error", "").startswith("busy")]
    answered = [f for f in finals if "answer" in f]
    assert busy and answered and len(busy) + len(answered) == 6
    assert svc.counters["busy"] == len(busy)
    assert svc.wait_idle(60)
    asker.close()


def test_a_conversation_id_carries_follow_ups_and_keeps_conversations_apart(broker: Any, service: Any) -> None:
    svc, _ = service
    asker = Client(broker.port, f"edgekit/{DEVICE}/assistant/response/#")

    def ask(rid: str, question: str, conversation: str) -> dict[str, Any]:
        body = {"id": rid, "question": question, "conversation": conversation}
        asker.client.publish(REQ, json.dumps(body), qos=1)
        return asker.wait_final(rid)[-1]

    assert ask("c1", "how many falls today?", "kitchen")["answer"] == "1 Fall event today."
    assert ask("c2", "how many events today?", "hall")["answer"] == "1 event today."
    # each conversation carries its own last query: kitchen's label, hall's none
    final = ask("c3", "and yesterday?", "kitchen")
    assert final["answer"] == "0 Fall events yesterday." and final["conversation"] == "kitchen"
    assert final["llm"]["calls"] == 0  # carried forward by code, not guessed by the model
    assert ask("c4", "only the gate camera", "hall")["answer"] == "1 event on camera gate today."
    # Spanish in, Spanish out, in the same conversation
    es = ask("c5", "¿y hoy?", "kitchen")
    assert (es["answer"], es["lang"]) == ("Hoy hubo 1 evento de tipo Fall.", "es")
    assert len(svc.conversations) == 2
    asker.close()


@pytest.mark.parametrize(("question", "error"), [
    ("   ", "bad question: the question is empty"),
    ("今天有多少次跌倒？", "bad question: the question is written in a script the assistant does not read (cjk)"),
    ("сколько падений сегодня?", "script the assistant does not read (cyrillic)"),
    ("كم عدد حالات السقوط اليوم؟", "script the assistant does not read (arabic)"),
    ("falls? " * 1500, "malformed request: question: String should have at most 2000 characters"),
])
def test_bad_questions_get_one_line_and_never_reach_the_model(broker: Any, service: Any, question: str,
                                                              error: str) -> None:
    _, rec = service
    asker = Client(broker.port, f"edgekit/{DEVICE}/assistant/response/#")
    asker.client.publish(REQ, json.dumps({"id": "bad", "question": question, "conversation": "c"}), qos=1)
    (final,) = asker.wait_final("bad", timeout=10)
    assert final["done"] and error in final["error"] and "\n" not in final["error"]
    assert rec.threads == []  # refused before the queue: no model, no wait
    asker.close()
