"""Home Assistant MQTT discovery: one binary sensor per camera × rule, plus a camera-online sensor.

Topic names come from :class:`edgekit.alerts.topics.Topics`, like everything the link publishes.
"""

from __future__ import annotations

import json
from typing import Any

from edgekit import __version__
from edgekit.alerts.topics import Topics
from edgekit.config.daemon import DaemonConfig


def topics_of(cfg: DaemonConfig) -> Topics:
    """The topic layout a daemon config gives (defaults when MQTT is off)."""
    if cfg.mqtt is None:
        return Topics(device=cfg.device)
    return Topics(cfg.mqtt.topic_prefix, cfg.device, cfg.mqtt.discovery_prefix)


def discovery_messages(cfg: DaemonConfig) -> list[tuple[str, str]]:
    """(topic, retained JSON payload) pairs that announce the daemon's entities to Home Assistant."""
    if cfg.mqtt is None:
        return []
    t = topics_of(cfg)
    node = f"edgekit_{cfg.device}"
    device: dict[str, Any] = {"identifiers": [node], "name": f"edgekit {cfg.device}", "manufacturer": "edgekit",
                              "model": cfg.profile or "edgekit", "sw_version": __version__}
    out: list[tuple[str, str]] = []
    for cam in cfg.cameras:
        cam_avail = [{"topic": t.available}, {"topic": t.camera_available(cam)}]
        out.append((t.discovery("binary_sensor", node, f"{cam}_online"), json.dumps({
            "name": f"{cam} online", "unique_id": f"{node}_{cam}_online", "device_class": "connectivity",
            "state_topic": t.camera_available(cam), "payload_on": "online", "payload_off": "offline",
            "availability_topic": t.available, "device": device,
        })))
        for rule in cfg.rules:
            if cam not in cfg.cameras_of(rule):
                continue
            out.append((t.discovery("binary_sensor", node, f"{cam}_{rule.name}"), json.dumps({
                "name": f"{cam} {rule.name}", "unique_id": f"{node}_{cam}_{rule.name}",
                "device_class": "occupancy" if not rule.pose else "safety",
                "state_topic": t.rule_state(cam, rule.name), "payload_on": "ON", "payload_off": "OFF",
                "off_delay": max(5, int(rule.cooldown_s) or 5),
                "json_attributes_topic": t.rule_attributes(cam, rule.name),
                "availability": cam_avail, "availability_mode": "all", "device": device,
            })))
    return out
