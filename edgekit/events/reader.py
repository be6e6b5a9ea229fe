"""What the assistant reads events through: the board's SQLite store or the fleet's PostgreSQL store.

Both take the same filters (label, camera as ``source``, rule, board as ``device``, a ``[since, until)`` window on
``start_ts``) and group only on :data:`~edgekit.events.store.EVENT_FIELDS`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from edgekit.types import Event

TimeArg = float | int | datetime | None


class EventReader(Protocol):
    """The read side of an event store."""

    def query(self, label: str | None = None, source: str | None = None, rule: str | None = None,
              since: TimeArg = None, until: TimeArg = None, limit: int = 100, oldest_first: bool = False,
              device: str | None = None) -> list[Event]:
        """Matching events, newest first (or oldest first), at most ``limit``."""
        ...

    def count(self, label: str | None = None, source: str | None = None, rule: str | None = None,
              since: TimeArg = None, until: TimeArg = None, device: str | None = None) -> int:
        """How many events match."""
        ...

    def count_by(self, field: str, label: str | None = None, source: str | None = None, rule: str | None = None,
                 since: TimeArg = None, until: TimeArg = None, device: str | None = None) -> dict[str, int]:
        """Counts of matching events grouped by ``field``, largest first."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...
