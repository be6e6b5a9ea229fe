"""Configuration of the camera daemon (`edgekit run --config FILE`).

One YAML file names the device profile, cameras, zones/lines, rules and the MQTT broker; each section's model
lives in its own module of ``edgekit.config`` (cameras, rules, mqtt, metrics, pose, assistant) and is re-exported
here. Every model forbids unknown keys; cross-field checks are named ``verify_*`` functions whose errors name the
camera/rule and say what to fix; the one YAML loader (``edgekit.config.loader``) maps errors to their YAML line and
fills ``{ENV_NAME}`` placeholders from the environment so secrets stay out of the file.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field, model_validator

from edgekit.config.assistant import AssistantConfig
from edgekit.config.base import Strict
from edgekit.config.bridge import BridgeConfig
from edgekit.config.cameras import CameraConfig, LineConfig, ZoneConfig
from edgekit.config.dashboard import DashboardConfig
from edgekit.config.loader import parse_yaml_model
from edgekit.config.metrics import MetricsConfig
from edgekit.config.mqtt import MQTTConfig, TLSConfig
from edgekit.config.polygons import Point
from edgekit.config.pose import PoseConfig
from edgekit.config.retention import RetentionConfig
from edgekit.config.rules import Day, RuleConfig, ScheduleWindow
from edgekit.config.scheduling import SchedulingConfig
from edgekit.config.storage import StorageConfig
from edgekit.errors import EdgekitError

__all__ = [
    "AssistantConfig", "CameraConfig", "DaemonConfig", "Day", "LineConfig", "MQTTConfig", "MetricsConfig", "Point",
    "PoseConfig", "RetentionConfig", "RuleConfig", "ScheduleWindow", "SchedulingConfig", "StorageConfig",
    "TLSConfig", "ZoneConfig",
    "config_schema", "load_config", "parse_config",
]


class DaemonConfig(Strict):
    """The whole daemon: `edgekit config schema` prints this model's JSON schema."""

    device: str = Field("edgekit", pattern=r"^[A-Za-z0-9_-]+$", description="Device id used in MQTT topics.")
    profile: str | None = Field(None, description="Device profile name or YAML path.")
    model: str = Field("yolov8s-fall", description="Default model card for cameras.")
    state_dir: str | None = Field(None, description="Outbox, event store and snapshots; default the user state dir.")
    stats_file: str | None = Field(None, description="Live stats JSON; default `<state_dir>/stats.json`.")
    cameras: dict[str, CameraConfig] = Field(min_length=1)
    rules: list[RuleConfig] = Field(default_factory=list)
    mqtt: MQTTConfig | None = Field(default_factory=MQTTConfig, description="null disables MQTT.")
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    pose: PoseConfig = Field(default_factory=PoseConfig)
    assistant: AssistantConfig = Field(default_factory=AssistantConfig)
    dashboard: DashboardConfig = Field(default_factory=DashboardConfig)
    scheduling: SchedulingConfig = Field(
        default_factory=SchedulingConfig, description="Detector threads, spinning, CPU affinity, capture priority.")
    snapshot_quality: int = Field(85, ge=10, le=100)
    retention: RetentionConfig = Field(default_factory=RetentionConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig,
                                   description="Optional upload of snapshots and event JSON to S3-compatible storage.")
    bridge: BridgeConfig | None = Field(
        None, description="Reach the fleet's central broker through this board's Mosquitto (`edgekit fleet bridge`)."
    )

    @model_validator(mode="before")
    @classmethod
    def board_overrides(cls, data: Any) -> Any:
        """Per-board values from the environment over the file (see ``apply_board_env``)."""
        return apply_board_env(dict(data)) if isinstance(data, dict) else data

    @model_validator(mode="after")
    def verify_references(self) -> DaemonConfig:
        names = [r.name for r in self.rules]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"rule names must be unique, repeated: {sorted(dup)}")
        for cam_id in self.cameras:
            if not re.fullmatch(r"[A-Za-z0-9_-]+", cam_id):
                raise ValueError(f"camera id {cam_id!r} may use only letters, digits, '_' and '-'")
        for r in self.rules:
            cams = r.cameras if r.cameras is not None else list(self.cameras)
            for c in cams:
                if c not in self.cameras:
                    raise ValueError(f"rule {r.name!r} names camera {c!r}; cameras are {sorted(self.cameras)}")
                cam = self.cameras[c]
                if r.zone and r.zone not in cam.zones:
                    raise ValueError(f"rule {r.name!r}: camera {c!r} has no zone {r.zone!r} ({sorted(cam.zones)})")
                if r.line and r.line not in cam.lines:
                    raise ValueError(f"rule {r.name!r}: camera {c!r} has no line {r.line!r} ({sorted(cam.lines)})")
            if r.pose and not self.pose.enabled:
                raise ValueError(f"rule {r.name!r} uses a pose condition: set `pose: {{enabled: true}}`")
        if self.bridge is not None and (self.mqtt is None or self.mqtt.host not in ("127.0.0.1", "localhost", "::1")):
            raise ValueError("with `bridge:`, the daemon publishes to the board's own Mosquitto: set mqtt.host to "
                             "127.0.0.1 (the bridge forwards to bridge.host)")
        return self

    def cameras_of(self, rule: RuleConfig) -> list[str]:
        """Camera ids a rule applies to."""
        return list(rule.cameras) if rule.cameras is not None else list(self.cameras)

    def model_of(self, cam_id: str) -> str:
        """The model card a camera uses."""
        return self.cameras[cam_id].model or self.model


def apply_board_env(data: dict[str, Any], environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Per-board values from the environment (the board's env file, written by `edgekit deploy`) over the config:
    ``EDGEKIT_DEVICE`` (device name: topics, Home Assistant ids), ``EDGEKIT_MQTT_CLIENT_ID`` and
    ``EDGEKIT_CAMERA_<ID>`` (that camera's source; ID upper-cased, ``-`` as ``_``). One config serves many boards."""
    env = os.environ if environ is None else environ
    if env.get("EDGEKIT_DEVICE"):
        data["device"] = env["EDGEKIT_DEVICE"]
    mqtt = data.get("mqtt", {})
    if env.get("EDGEKIT_MQTT_CLIENT_ID") and isinstance(mqtt, dict):
        data["mqtt"] = {**mqtt, "client_id": env["EDGEKIT_MQTT_CLIENT_ID"]}
    cams = data.get("cameras")
    if isinstance(cams, dict):
        cams = data["cameras"] = {k: dict(v) if isinstance(v, dict) else v for k, v in cams.items()}
        for cam_id, cam in cams.items():
            src = env.get("EDGEKIT_CAMERA_" + re.sub(r"[^A-Z0-9]", "_", str(cam_id).upper()))
            if src and isinstance(cam, dict):
                cam["source"] = src
    return data


def parse_config(text: str, name: str = "<config>", environ: Mapping[str, str] | None = None) -> DaemonConfig:
    """Validate YAML text, placeholders filled from ``environ`` (default ``os.environ``); raises EdgekitError
    ``invalid config NAME:LINE: where: what`` on the first problem."""
    return parse_yaml_model(text, DaemonConfig, name, "config", hint="see `edgekit config schema`", environ=environ)


def load_config(path: str | Path) -> DaemonConfig:
    """Read and validate a daemon config file."""
    p = Path(path)
    if not p.is_file():
        raise EdgekitError(f"config file {p} not found: pass an existing YAML file (see examples/daemon.yaml)")
    return parse_config(p.read_text(encoding="utf-8"), str(p))


def config_schema() -> dict[str, Any]:
    """JSON schema of the daemon config."""
    return DaemonConfig.model_json_schema()
