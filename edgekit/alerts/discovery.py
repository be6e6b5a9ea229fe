"""Home Assistant MQTT discovery: one binary sensor per camera × rule, plus a camera-online sensor."""

from __future__ import annotations

import json
from typing import Any

from edgekit import __version__
from edgekit.config.daemon import DaemonConfig


def discovery_messages(cfg: DaemonConfig) -> list[tuple[str, str]]:
    """(topic, retained JSON payload) pairs that announce the daemon's entities to Home Assistant."""
    if cfg.mqtt is None:
        return []
    m = cfg.mqtt
    base = f"{m.topic_prefix}/{cfg.device}"
    node = f"edgekit_{cfg.device}"
    device: dict[str, Any] = {"identifiers": [node], "name": f"edgekit {cfg.device}", "manufacturer": "edgekit",
                              "model": cfg.profile or "edgekit", "sw_version": __version__}
    out: list[tuple[str, str]] = []
    for cam in cfg.cameras:
        cam_avail = [{"topic": f"{base}/available"}, {"topic": f"{base}/{cam}/available"}]
        out.append((f"{m.discovery_prefix}/binary_sensor/{node}/{cam}_online/config", json.dumps({
            "name": f"{cam} online", "unique_id": f"{node}_{cam}_online", "device_class": "connectivity",
            "state_topic": f"{base}/{cam}/available", "payload_on": "online", "payload_off": "offline",
            "availability_topic": f"{base}/available", "device": device,
        })))
        for rule in cfg.rules:
            if cam not in cfg.cameras_of(rule):
                continue
            out.append((f"{m.discovery_prefix}/binary_sensor/{node}/{cam}_{rule.name}/config", json.dumps({
                "name": f"{cam} {rule.name}", "unique_id": f"{node}_{cam}_{rule.name}",
                "device_class": "occupancy" if not rule.pose else "safety",
                "state_topic": f"{base}/{cam}/{rule.name}/state", "payload_on": "ON", "payload_off": "OFF",
                "off_delay": max(5, int(rule.cooldown_s) or 5),
                "json_attributes_topic": f"{base}/{cam}/{rule.name}/attributes",
                "availability": cam_avail, "availability_mode": "all", "device": device,
            })))
    return out
