"""Getting events out: snapshots, the outbox (SQLite), the MQTT link, Home Assistant discovery and the event handler."""
