"""Conversations: the turns a follow-up reads, one conversation per chat, browser tab or MQTT conversation id.

:class:`Conversations` keeps them server-side, keyed by an id the asker chooses, bounded in number (the least
recently used goes first) and forgotten after ``ttl_s`` idle: any client on the broker or the page may open one,
so neither their count nor their age can grow without limit.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Conversation(Generic[T]):
    """The last ``max_turns`` turns of one conversation (what a follow-up carries forward from)."""

    def __init__(self, max_turns: int = 3) -> None:
        self.max_turns = max_turns
        self.turns: list[T] = []

    def add(self, turn: T) -> None:
        self.turns = [*self.turns, turn][-self.max_turns:]

    def clear(self) -> None:
        self.turns = []


class Conversations(Generic[T]):
    """Conversations by id: at most ``max_conversations``, each forgotten ``ttl_s`` after its last turn.

    Examples:
        >>> convs = Conversations(max_conversations=2, ttl_s=600)
        >>> convs.get("tab-1").add("how many falls today?")
        >>> convs.get("tab-1").turns
        ['how many falls today?']
    """

    def __init__(self, max_conversations: int = 256, ttl_s: float = 1800.0, max_turns: int = 3,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.max_conversations = max_conversations
        self.ttl_s = ttl_s
        self.max_turns = max_turns
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, Conversation[T]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, cid: str) -> Conversation[T]:
        """The conversation ``cid`` (a new one when it is unknown or expired); it becomes the most recent."""
        now = self._clock()
        with self._lock:
            self._expire(now)
            conv = self._items.pop(cid, (now, Conversation[T](self.max_turns)))[1]
            self._items[cid] = (now, conv)
            while len(self._items) > self.max_conversations:
                self._items.popitem(last=False)
            return conv

    def __len__(self) -> int:
        return len(self.ids())

    def ids(self) -> set[str]:
        """The ids of the conversations kept now."""
        with self._lock:
            self._expire(self._clock())
            return set(self._items)

    def _expire(self, now: float) -> None:
        while self._items:
            cid, (seen, _) = next(iter(self._items.items()))
            if now - seen < self.ttl_s:
                return
            del self._items[cid]
