"""The SQLite event store (the daemon writes events into it, the assistant and the CLI read them), and the
protocol the assistant reads any event store through."""

from edgekit.events.reader import EventReader, TimeArg
from edgekit.events.store import EVENT_FIELDS, EventStore, timestamp

__all__ = ["EVENT_FIELDS", "EventReader", "EventStore", "TimeArg", "timestamp"]
