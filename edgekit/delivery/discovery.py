"""Home Assistant MQTT discovery: the entities a porch-camera user expects, all on one device per board.

Per board (``device`` in the config): a connectivity sensor for the daemon itself. Per camera: an online sensor,
and a camera entity showing the latest annotated snapshot (with ``mqtt.snapshots: topic``, which publishes them).
Per camera × rule: a binary sensor that turns on when the rule fires, with the last event (label, score, track,
snapshot, clip) as attributes. Per camera × zone × label: a sensor counting the objects in the zone. Unique ids are
built from the device name, so they stay the same across restarts and differ between boards with different names.
Keys follow Home Assistant's documented schema for ``camera``, ``binary_sensor`` and ``sensor`` (checked field by
field in tests/delivery/test_discovery.py). Topic names come from :class:`edgekit.contract.topics.Topics`, like
everything the link publishes.
"""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Mapping, Sequence
from typing import Any

from edgekit import __version__
from edgekit.config.daemon import DaemonConfig
from edgekit.contract.topics import Topics
from edgekit.tracking.counts import counted_labels

_OBJECT_ID = re.compile(r"[^A-Za-z0-9_-]")


def object_id(*parts: str) -> str:
    """An id Home Assistant accepts in a discovery topic (letters, digits, ``_`` and ``-``)."""
    return _OBJECT_ID.sub("_", "_".join(parts))


def dashboard_url(host: str = "0.0.0.0", port: int = 8971) -> str:
    """The dashboard's address as other machines reach it (a wildcard bind address becomes the host name)."""
    if host in ("", "0.0.0.0", "::"):
        host = socket.gethostname()
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}"


def board_model(profile: str | None) -> str:
    """The board's marketing name from its device profile (the profile name when it cannot be read)."""
    if not profile:
        return "edgekit (no profile)"
    try:
        from edgekit.device.profiles import load_profile

        return load_profile(profile).board.model
    except Exception:  # discovery must not fail over a profile: start-up already checked it
        return profile


def topics_of(cfg: DaemonConfig) -> Topics:
    """The topic layout a daemon config gives (defaults when MQTT is off)."""
    if cfg.mqtt is None:
        return Topics(device=cfg.device)
    return Topics(cfg.mqtt.topic_prefix, cfg.device, cfg.mqtt.discovery_prefix)


def discovery_messages(cfg: DaemonConfig, labels: Mapping[str, Sequence[str]] | None = None,
                       configuration_url: str | None = None) -> list[tuple[str, str]]:
    """(topic, retained JSON payload) pairs that announce the daemon's entities to Home Assistant.

    ``labels`` maps a camera to its model's labels (count sensors need them; cameras without an entry get none);
    ``configuration_url`` is the dashboard's address shown on the device page.
    """
    if cfg.mqtt is None:
        return []
    m, t = cfg.mqtt, topics_of(cfg)
    node = object_id("edgekit", cfg.device)
    device: dict[str, Any] = {"identifiers": [node], "name": f"edgekit {cfg.device}", "manufacturer": "edgekit",
                              "model": board_model(cfg.profile), "sw_version": __version__}
    if configuration_url:
        device["configuration_url"] = configuration_url
    daemon_avail = {"availability_topic": t.available}
    out: list[tuple[str, str]] = []

    def add(component: str, oid: str, payload: dict[str, Any]) -> None:
        payload = {"unique_id": f"{node}_{oid}", **payload, "device": device}
        out.append((t.discovery(component, node, oid), json.dumps(payload)))

    add("binary_sensor", "online", {
        "name": "online", "device_class": "connectivity", "entity_category": "diagnostic",
        "state_topic": t.available, "payload_on": "online", "payload_off": "offline",
    })
    for cam, cam_cfg in cfg.cameras.items():
        if not cam_cfg.enabled:
            continue
        cam_avail = {"availability": [{"topic": t.available}, {"topic": t.camera_available(cam)}],
                     "availability_mode": "all"}
        add("binary_sensor", object_id(cam, "online"), {
            "name": f"{cam} online", "device_class": "connectivity", "entity_category": "diagnostic",
            "state_topic": t.camera_available(cam), "payload_on": "online", "payload_off": "offline",
            **daemon_avail,
        })
        if m.snapshots == "topic":  # the camera entity shows the JPEGs published there
            add("camera", object_id(cam, "snapshot"), {
                "name": f"{cam} last event", "topic": t.snapshot(cam), **daemon_avail,
            })
        for rule in cfg.rules:
            if cam not in cfg.cameras_of(rule):
                continue
            add("binary_sensor", object_id(cam, rule.name), {
                "name": f"{cam} {rule.name}", "device_class": "occupancy" if not rule.pose else "safety",
                "state_topic": t.rule_state(cam, rule.name), "payload_on": "ON", "payload_off": "OFF",
                "off_delay": max(5, int(rule.cooldown_s) or 5),
                "json_attributes_topic": t.rule_attributes(cam, rule.name), **cam_avail,
            })
        model_labels = (labels or {}).get(cam)
        if model_labels is None:
            continue
        for zone in cam_cfg.zones:
            rules = [r for r in cfg.rules if cam in cfg.cameras_of(r)]
            for label in counted_labels(rules, model_labels):
                add("sensor", object_id(cam, zone, label, "count"), {
                    "name": f"{cam} {zone} {label} count", "state_topic": t.zone_count(cam, zone, label),
                    "state_class": "measurement", "unit_of_measurement": "objects", "icon": "mdi:account-group",
                    **cam_avail,
                })
    return out
