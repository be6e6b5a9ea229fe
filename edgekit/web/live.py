"""Live data for the dashboard: new events fanned out to Server-Sent-Event subscribers, and a short stats history.

Both are fed from daemon threads (the camera's event sink, the stats loop) and read from the server's event loop;
a subscriber's queue is bounded, so a slow browser loses its oldest updates instead of growing memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

from edgekit.types import Event


class EventBroadcaster:
    """``publish(event)`` from any thread; ``stream()`` yields SSE messages to one subscriber."""

    def __init__(self, max_queued: int = 100) -> None:
        self.max_queued = max_queued
        self._subs: set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[str | None]]] = set()
        self._lock = threading.Lock()
        self.closed = False

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def publish(self, event: Event) -> None:
        self._send(f"event: event\ndata: {event.to_json()}\n\n")

    def close(self) -> None:
        """End every open stream (server shutdown)."""
        self.closed = True
        self._send(None)

    def _send(self, msg: str | None) -> None:
        with self._lock:
            subs = list(self._subs)
        for loop, q in subs:
            with contextlib.suppress(RuntimeError):  # that subscriber's loop has closed
                loop.call_soon_threadsafe(_put_drop_oldest, q, msg)

    async def stream(self, keepalive_s: float = 15.0) -> AsyncIterator[str]:
        """SSE text for one subscriber until it disconnects (the server then cancels this generator)."""
        q: asyncio.Queue[str | None] = asyncio.Queue(self.max_queued)
        key = (asyncio.get_running_loop(), q)
        with self._lock:
            self._subs.add(key)
        try:
            yield "retry: 2000\n: connected\n\n"
            while not self.closed:
                try:
                    msg = await asyncio.wait_for(q.get(), keepalive_s)
                except asyncio.TimeoutError:
                    yield ": keep-alive\n\n"  # proxies close idle connections
                    continue
                if msg is None:
                    return
                yield msg
        finally:
            with self._lock:
                self._subs.discard(key)


def _put_drop_oldest(q: asyncio.Queue[str | None], msg: str | None) -> None:
    if q.full():
        q.get_nowait()
    q.put_nowait(msg)


class StatsHistory:
    """The last ``size`` stats snapshots the daemon reported (what the charts draw)."""

    def __init__(self, size: int = 360) -> None:
        self._items: deque[dict[str, Any]] = deque(maxlen=size)
        self._lock = threading.Lock()

    def add(self, stats: Any, device: dict[str, Any] | None = None) -> None:
        """Keep one snapshot (a dict, or a pydantic model of the stats); ``device`` goes under ``"device_state"``."""
        if hasattr(stats, "model_dump_json"):
            stats = json.loads(stats.model_dump_json())
        # Round-trip through JSON: the page gets exactly what the stats file and topic carry.
        snap = json.loads(json.dumps(stats, default=str))
        if device:
            snap["device_state"] = json.loads(json.dumps(device, default=str))
        with self._lock:
            self._items.append(snap)

    def items(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._items)

    @property
    def latest(self) -> dict[str, Any] | None:
        with self._lock:
            return self._items[-1] if self._items else None
