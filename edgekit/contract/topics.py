"""Every MQTT topic of the daemon, built in one place (the link, discovery and the assistant service use it).

Layout (Frigate-style, everything under ``<prefix>/<device>/``):

- ``available``: retained ``online``/``offline`` (the last will says ``offline``)
- ``<camera>/available``: retained ``online``/``offline`` per camera
- ``events``: Event JSON, QoS 1, through the outbox (at least once; de-duplicate by ``id``)
- ``stats``: periodic stats JSON, QoS 0
- ``<camera>/<rule>/state``: ``ON`` when a rule fires (Home Assistant turns it off after ``off_delay``)
- ``<camera>/<rule>/attributes``: the last Event of the rule, JSON
- ``<camera>/<rule>/set``: command ``ON``/``OFF`` enables/disables a rule
- ``<camera>/snapshot``: latest annotated JPEG, retained (when ``mqtt.snapshots: topic``)
- ``<camera>/count/<zone>/<label>``: retained number of objects of a label in a zone
- ``<camera>/clip``: an event's clip is written (JSON: event id, path, duration)
- ``assistant/request`` and ``assistant/response/<id>``: questions to the local assistant
- ``<discovery prefix>/<component>/<node>/<object>/config`` and ``<discovery prefix>/status``: Home Assistant

Examples:
    >>> t = Topics("edgekit", "gate-pi")
    >>> t.events, t.rule_state("front", "door"), t.parse_rule_set("edgekit/gate-pi/front/door/set")
    ('edgekit/gate-pi/events', 'edgekit/gate-pi/front/door/state', ('front', 'door'))
    >>> t.parse_rule_set("edgekit/gate-pi/front/set") is None
    True
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topics:
    """The topic names of one device."""

    prefix: str = "edgekit"
    device: str = "edgekit"
    discovery_prefix: str = "homeassistant"

    @property
    def base(self) -> str:
        return f"{self.prefix}/{self.device}"

    @property
    def available(self) -> str:
        return f"{self.base}/available"

    @property
    def events(self) -> str:
        return f"{self.base}/events"

    @property
    def stats(self) -> str:
        return f"{self.base}/stats"

    def camera_available(self, camera: str) -> str:
        return f"{self.base}/{camera}/available"

    def snapshot(self, camera: str) -> str:
        return f"{self.base}/{camera}/snapshot"

    def zone_count(self, camera: str, zone: str, label: str) -> str:
        """Retained number of objects of one label in one zone."""
        return f"{self.base}/{camera}/count/{zone}/{label}"

    def clip(self, camera: str) -> str:
        """An event's clip was written: ``{"event_id", "clip", "duration_s"}``."""
        return f"{self.base}/{camera}/clip"

    def rule_state(self, camera: str, rule: str) -> str:
        return f"{self.base}/{camera}/{rule}/state"

    def rule_attributes(self, camera: str, rule: str) -> str:
        return f"{self.base}/{camera}/{rule}/attributes"

    def rule_set(self, camera: str = "+", rule: str = "+") -> str:
        """A rule's command topic; with no arguments the subscription filter for all of them."""
        return f"{self.base}/{camera}/{rule}/set"

    def parse_rule_set(self, topic: str) -> tuple[str, str] | None:
        """(camera, rule) of a command topic, None for anything else."""
        if not topic.startswith(self.base + "/"):
            return None
        parts = topic[len(self.base) + 1:].split("/")
        if len(parts) != 3 or parts[2] != "set" or not parts[0] or not parts[1]:
            return None
        return parts[0], parts[1]

    @property
    def assistant_request(self) -> str:
        return f"{self.base}/assistant/request"

    @property
    def assistant_response_prefix(self) -> str:
        return f"{self.base}/assistant/response/"

    @property
    def discovery_status(self) -> str:
        """Home Assistant says ``online`` here when it (re)starts: announce again."""
        return f"{self.discovery_prefix}/status"

    def discovery(self, component: str, node: str, object_id: str) -> str:
        return f"{self.discovery_prefix}/{component}/{node}/{object_id}/config"
