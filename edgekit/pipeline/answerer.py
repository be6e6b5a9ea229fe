"""The daemon's one assistant, shared by everyone who asks it (the MQTT service, the dashboard).

It exists from the start, so each asker gets it in its constructor; the model is loaded into it later
(:meth:`SharedAssistant.load`, in ``Daemon.start``). Until then a question waits.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Protocol

from edgekit.assistant.agent import OnToken, Transcript
from edgekit.assistant.analytics import AssistantAnalytics
from edgekit.errors import EdgekitError


class Asker(Protocol):
    """What :class:`SharedAssistant` wraps (:class:`edgekit.assistant.agent.Assistant`)."""

    def ask(self, question: str, *, history: Sequence[Transcript] = (),
            on_token: OnToken | None = None) -> Transcript: ...


class SharedAssistant:
    """Answers one question at a time, whoever asks (one llama.cpp context), and records each in ``analytics``."""

    def __init__(self, analytics: AssistantAnalytics | None = None) -> None:
        self.analytics = analytics or AssistantAnalytics()
        self._assistant: Asker | None = None
        self._ready = threading.Event()
        self._lock = threading.Lock()

    @property
    def ready(self) -> bool:
        return self._ready.is_set() and self._assistant is not None

    def load(self, assistant: Asker) -> None:
        """The model is loaded: answer the questions that waited, and the next ones."""
        self._assistant = assistant
        self._ready.set()

    def close(self) -> None:
        """No more answers: waiting and later questions get an error (one being answered finishes)."""
        self._assistant = None
        self._ready.set()

    def ask(self, question: str, *, history: Sequence[Transcript] = (),
            on_token: OnToken | None = None) -> Transcript:
        """Answer ``question`` (``history``: the earlier turns of its conversation, for follow-ups)."""
        self._ready.wait()
        with self._lock:
            assistant = self._assistant
            if assistant is None:
                raise EdgekitError("the assistant has stopped")
            t = assistant.ask(question, history=history, on_token=on_token)
        self.analytics.record(t)  # per-request tokens, TTFT, outcome → the daemon's stats
        return t
