"""The SQLite event store: the daemon writes events into it, the assistant and the CLI read them."""

from edgekit.events.store import EVENT_FIELDS, EventStore

__all__ = ["EVENT_FIELDS", "EventStore"]
