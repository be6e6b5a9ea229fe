"""The fleet hub: every board's events, availability and stats from a central MQTT broker into PostgreSQL."""

from edgekit.hub.messages import Incoming, Parsed, parse
from edgekit.hub.schema import migrate
from edgekit.hub.service import Hub
from edgekit.hub.store import FleetStore

__all__ = ["FleetStore", "Hub", "Incoming", "Parsed", "migrate", "parse"]
