"""Configuration of the fleet hub (`edgekit hub --config hub.yaml`): central broker, PostgreSQL, limits.

Loaded by the one YAML loader (errors name the file's line); secrets stay out of the file: ``{ENV_NAME}``
placeholders (in the DSN, the broker password, anywhere) are filled from the environment by its one rule
(``edgekit.config.env``). The broker connection and its TLS are the daemon's types (``edgekit.config.mqtt``).
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import Field, field_validator

from edgekit.config.base import Strict
from edgekit.config.loader import load_yaml_model
from edgekit.config.mqtt import MQTTConnection
from edgekit.config.storage import S3Config


class HubMQTT(MQTTConnection):
    """The central broker and how the hub subscribes to it."""

    client_id: str = Field("edgekit-hub-1", description="Unique per hub: the broker keeps its session by this id.")
    share_group: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]+$",
        description="Set the same name on several hubs to split the load ($share/<group>/...). Unset: one hub, "
        "plain subscription. Mosquitto 2.0 does not restore shared subscriptions after a broker restart, so events "
        "published before the hubs reconnect are dropped there: share only on a broker that keeps them.")
    session_expiry_s: int = Field(7 * 24 * 3600, ge=0,
                                  description="How long the broker keeps queueing for a hub that is down.")
    receive_maximum: int = Field(1000, ge=1, le=65535,
                                 description="Unacknowledged messages the broker may send at once.")


class HubDatabase(Strict):
    dsn: str = Field(description="postgresql://user[:password]@host:port/dbname ({ENV} placeholders allowed).")
    connect_timeout_s: float = Field(5.0, gt=0)

    @field_validator("dsn")
    @classmethod
    def verify_dsn(cls, v: str) -> str:
        if not re.match(r"^postgres(ql)?://", v):
            raise ValueError("dsn must start with postgresql://")
        return v


class HubLimits(Strict):
    """What a board may send: bigger or deeper messages are rejected (counted, logged, acknowledged)."""

    max_payload_bytes: int = Field(64 * 1024, ge=256)
    max_json_depth: int = Field(16, ge=2, le=200)
    batch_max: int = Field(500, ge=1, le=10000, description="Messages committed in one transaction at most.")
    batch_wait_ms: float = Field(20.0, ge=0, description="Longest wait to fill a batch.")
    offline_after_s: float = Field(120.0, gt=0, description="A board with no message for this long shows as stale.")


class HubConfig(Strict):
    mqtt: HubMQTT = Field(default_factory=HubMQTT)
    database: HubDatabase
    limits: HubLimits = Field(default_factory=HubLimits)
    s3: S3Config | None = Field(None, description="Where boards upload snapshots (to show their URLs).")
    retention_days: float | None = Field(None, gt=0, description="Delete events, rejects and (with s3) the boards' "
                                         "objects older than this, hourly; unset: keep everything.")


def load_hub_config(path: str | Path) -> HubConfig:
    """Read and validate ``hub.yaml``; one-line ``EdgekitError`` on any problem."""
    return load_yaml_model(Path(path), HubConfig, "hub config")
