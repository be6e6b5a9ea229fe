"""Answer assistant questions over MQTT, for the daemon.

Request on ``edgekit/<device>/assistant/request``::

    {"id": "abc123", "question": "how many falls today?", "conversation": "kitchen-tablet"}

``conversation`` (optional, same pattern as ``id``) names a conversation: a question with one sees the turns asked
before under the same name, so a follow-up ("and yesterday?") carries the last query forward. The service keeps at
most ``max_conversations`` of them, each forgotten ``conversation_ttl_s`` after its last question. Without it every
question stands alone.

Responses on ``edgekit/<device>/assistant/response/<id>``, in order (QoS 1): zero or more chunks
``{"id", "seq", "chunk", "done": false}`` while the answer streams, then one final message
``{"id", "done": true, "answer", "outcome", "tool_calls", "grounded"}`` or ``{"id", "done": true, "error"}``.

A question the assistant refuses before reading it (empty, too long, in a script it does not read) gets
``{"id", "done": true, "error": "bad question: …"}`` at once, without waiting for or calling the model.

Generation runs in one worker thread (never on paho's network thread); requests wait in a bounded queue and
are refused with ``"error": "busy"`` when it is full. Malformed requests are counted and logged (at most 10 lines a
minute: any client on the broker can send them); those with a usable id also get an error reply, the rest are
dropped. Size (``MAX_PAYLOAD``) and JSON nesting (``MAX_DEPTH``)
are checked before parsing, and nothing a message does escapes into paho's network thread. Requests that arrive
while the model is still loading are logged and answered once it is ready.
"""

from __future__ import annotations

import json
import logging
import queue
import re
import threading
from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from edgekit.assistant.agent import OnToken, Transcript, ask_in, check_question
from edgekit.assistant.conversation import Conversations
from edgekit.contract.payload import json_too_deep
from edgekit.contract.topics import Topics
from edgekit.errors import EdgekitError
from edgekit.timing import RateLimitedLog

log = logging.getLogger(__name__)

ID_PATTERN = r"^[A-Za-z0-9_.-]{1,64}$"  # safe as one MQTT topic level: no '/', '+' or '#'
MAX_PAYLOAD = 16 * 1024  # a question is at most 2000 characters: anything much bigger is not a request
MAX_DEPTH = 8  # a request is one flat object; deep nesting would only exhaust the parser's recursion
_ID_PEEK = re.compile(rb'"id"\s*:\s*"([A-Za-z0-9_.-]{1,64})"')


class AssistantRequest(BaseModel):
    """One question; ``id`` names the response topic."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=ID_PATTERN)
    question: str = Field(min_length=1, max_length=2000)
    conversation: str | None = Field(None, pattern=ID_PATTERN)


class Answerer(Protocol):
    def ask(self, question: str, *, history: Sequence[Transcript] = (),
            on_token: OnToken | None = None) -> Transcript: ...


class MqttClient(Protocol):
    """The part of ``paho.mqtt.client.Client`` (2.x) used here."""

    def subscribe(self, topic: str, qos: int = ...) -> Any: ...
    def unsubscribe(self, topic: str) -> Any: ...
    def publish(self, topic: str, payload: str | bytes | None = ..., qos: int = ..., retain: bool = ...) -> Any: ...
    def message_callback_add(self, sub: str, callback: Any) -> None: ...
    def message_callback_remove(self, sub: str) -> None: ...


_STOP = object()


class AssistantMqttService:
    """Bind an assistant to a connected (or connecting) paho client.

    Call :meth:`start` once, and :meth:`subscribe` again from the client's ``on_connect`` (a clean session
    forgets subscriptions). ``counters`` holds received / answered / failed / malformed / refused / busy.

    Examples:
        >>> service = AssistantMqttService(client, "gate-pi", assistant)  # doctest: +SKIP
        >>> service.start()                                               # doctest: +SKIP
    """

    def __init__(
        self,
        client: MqttClient,
        device: str,
        assistant: Answerer | None,
        *,
        max_pending: int = 4,
        qos: int = 1,
        topic_prefix: str = "edgekit",
        max_conversations: int = 256,
        conversation_ttl_s: float = 1800.0,
    ) -> None:
        self.client = client
        self.conversations: Conversations[Transcript] = Conversations(max_conversations, conversation_ttl_s)
        self.assistant = assistant
        self._ready = threading.Event()
        if assistant is not None:
            self._ready.set()
        self.qos = qos
        topics = Topics(topic_prefix, device)
        self.request_topic = topics.assistant_request
        self.response_prefix = topics.assistant_response_prefix
        self.counters: Counter[str] = Counter()
        # what any client on the broker sends must not flood the board's log: these lines are rate-limited (the
        # counters still count every message)
        self._sender_log = RateLimitedLog(log)
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=max_pending)
        self._worker = threading.Thread(target=self._run, name="assistant-mqtt", daemon=True)
        self._lock = threading.Lock()
        self._pending = 0
        self._idle = threading.Event()
        self._idle.set()

    # lifecycle ----------------------------------------------------------------------------------------------
    def start(self) -> None:
        self.client.message_callback_add(self.request_topic, self._on_message)
        self.subscribe()
        self._worker.start()

    def set_assistant(self, assistant: Answerer) -> None:
        """The model is loaded: answer the requests that waited, and the next ones."""
        self.assistant = assistant
        self._ready.set()

    @property
    def alive(self) -> bool:
        """The worker thread runs (or has not been started)."""
        return self._worker.ident is None or self._worker.is_alive()

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def subscribe(self) -> None:
        self.client.subscribe(self.request_topic, qos=1)

    def stop(self, timeout: float = 30.0) -> None:
        """Stop taking requests, finish the one in progress (bounded by ``timeout``), end the worker."""
        self.client.message_callback_remove(self.request_topic)
        self.client.unsubscribe(self.request_topic)
        if self._worker.is_alive():
            self._queue.put(_STOP)
            self._ready.set()  # a worker still waiting for the model stops too
            self._worker.join(timeout)

    def wait_idle(self, timeout: float) -> bool:
        """True once no request is queued or running (for tests and clean shutdowns)."""
        return self._idle.wait(timeout)

    # network thread: validate and enqueue only ----------------------------------------------------------------
    def _on_message(self, _client: Any, _userdata: Any, msg: Any) -> None:
        try:
            self._take(bytes(msg.payload))
        except Exception as e:  # paho's network thread carries the alerts too: it must survive any message
            self._count("errors")
            self._sender_log.warning("assistant request handling failed on a %d-byte message: %s",
                                     len(msg.payload), repr(e)[:200])
            log.debug("assistant request handling failed", exc_info=True)

    def _take(self, payload: bytes) -> None:
        self._count("received")
        data: Any = None
        try:
            if len(payload) > MAX_PAYLOAD:
                raise ValueError(f"request too large ({len(payload)} bytes, at most {MAX_PAYLOAD})")
            if json_too_deep(payload, MAX_DEPTH):
                raise ValueError(f"request nested deeper than {MAX_DEPTH} levels")
            data = json.loads(payload)
            req = AssistantRequest.model_validate(data)
        except ValueError as e:  # pydantic's ValidationError is a ValueError too
            self._count("malformed")
            reason = _reason(e)
            self._sender_log.warning("malformed assistant request: %s", reason)
            rid = data.get("id") if isinstance(data, dict) else _peek_id(payload)
            if isinstance(rid, str) and re.fullmatch(ID_PATTERN, rid):
                self._publish(rid, {"id": rid, "done": True, "error": f"malformed request: {reason}"})
            return
        try:
            check_question(req.question)
        except EdgekitError as e:  # no model helps: answered at once, without queueing
            self._count("refused")
            self._publish(req.id, {"id": req.id, "done": True, "error": f"bad question: {e}"})
            return
        if not self._ready.is_set():
            log.info("assistant request %s arrived while the model is loading; it is answered once ready", req.id)
        with self._lock:
            try:
                self._queue.put_nowait(req)
            except queue.Full:
                self.counters["busy"] += 1
                busy = True
            else:
                self._pending += 1
                self._idle.clear()
                busy = False
        if busy:
            self._publish(req.id, {"id": req.id, "done": True, "error": "busy: too many questions waiting"})

    # worker thread ------------------------------------------------------------------------------------------
    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            self._ready.wait()
            try:
                self._answer(item)
            finally:
                with self._lock:
                    self._pending -= 1
                    if self._pending == 0:
                        self._idle.set()

    def _answer(self, req: AssistantRequest) -> None:
        seq = 0

        def chunk(piece: str) -> None:
            nonlocal seq
            self._publish(req.id, {"id": req.id, "seq": seq, "chunk": piece, "done": False})
            seq += 1

        try:
            if self.assistant is None:
                raise RuntimeError("the assistant stopped before its model was loaded")
            if req.conversation is None:
                t = self.assistant.ask(req.question, on_token=chunk)
            else:
                t = ask_in(self.assistant, self.conversations.get(req.conversation), req.question, on_token=chunk)
        except Exception as e:  # one bad question must not kill the service; the asker is told
            self._count("failed")
            log.exception("assistant failed on request %s", req.id)
            self._publish(req.id, {"id": req.id, "done": True, "error": f"{type(e).__name__}: {e}"})
            return
        self._count("answered")
        self._publish(
            req.id,
            {
                "id": req.id,
                "done": True,
                "answer": t.answer,
                "outcome": t.outcome,
                "lang": t.lang,
                "conversation": req.conversation,
                "grounded": t.grounded,
                "tool_calls": [c.__dict__ for c in t.tool_calls],
                "llm": t.llm.__dict__,  # tokens in/out, TTFT, tokens/s of this request
                "chunks": seq,
            },
        )

    def _publish(self, rid: str, payload: dict[str, Any]) -> None:
        self.client.publish(self.response_prefix + rid, json.dumps(payload), qos=self.qos)

    def _count(self, key: str) -> None:
        with self._lock:
            self.counters[key] += 1


def _reason(e: Exception) -> str:
    if isinstance(e, ValidationError):
        return "; ".join(f"{'.'.join(map(str, x['loc'])) or 'body'}: {x['msg']}" for x in e.errors())
    if isinstance(e, (json.JSONDecodeError, UnicodeDecodeError)):
        return f"not JSON ({e})"
    return str(e)


def _peek_id(payload: bytes) -> str | None:
    """The request id of a message too big or too deep to parse, when it is near the start."""
    m = _ID_PEEK.search(payload[:512])
    return m.group(1).decode() if m else None
