"""Configuration of the fleet hub (`edgekit hub --config hub.yaml`): central broker, PostgreSQL, limits.

Secrets stay out of the file: ``{ENV_NAME}`` in the DSN or the broker password is filled from the environment.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from edgekit.config.loader import load_yaml_model
from edgekit.config.storage import S3Config
from edgekit.errors import EdgekitError

_ENV_RE = re.compile(r"\{([A-Z][A-Z0-9_]*)\}")


def fill_env(text: str) -> str:
    """Replace ``{NAME}`` with the environment variable NAME; a missing one is an error that names it."""

    def sub(m: re.Match[str]) -> str:
        if m.group(1) not in os.environ:
            raise ValueError(f"environment variable {m.group(1)} is not set")
        return os.environ[m.group(1)]

    return _ENV_RE.sub(sub, text)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HubTLS(_Strict):
    ca_certs: str | None = None
    certfile: str | None = None
    keyfile: str | None = None


class HubMQTT(_Strict):
    """The central broker and how the hub subscribes to it."""

    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    tls: HubTLS | None = None
    client_id: str = Field("edgekit-hub-1", description="Unique per hub: the broker keeps its session by this id.")
    topic_prefix: str = Field("edgekit", pattern=r"^[^#+/][^#+]*$")
    share_group: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]+$",
        description="Set the same name on several hubs to split the load ($share/<group>/...). Unset: one hub, "
        "plain subscription. Mosquitto 2.0 does not restore shared subscriptions after a broker restart, so events "
        "published before the hubs reconnect are dropped there: share only on a broker that keeps them.")
    keepalive: int = Field(30, ge=5, le=3600)
    session_expiry_s: int = Field(7 * 24 * 3600, ge=0,
                                  description="How long the broker keeps queueing for a hub that is down.")
    receive_maximum: int = Field(1000, ge=1, le=65535,
                                 description="Unacknowledged messages the broker may send at once.")

    @field_validator("password")
    @classmethod
    def verify_password(cls, v: str | None) -> str | None:
        return None if v is None else fill_env(v)


class HubDatabase(_Strict):
    dsn: str = Field(description="postgresql://user[:password]@host:port/dbname ({ENV} placeholders allowed).")
    connect_timeout_s: float = Field(5.0, gt=0)

    @field_validator("dsn")
    @classmethod
    def verify_dsn(cls, v: str) -> str:
        v = fill_env(v)
        if not re.match(r"^postgres(ql)?://", v):
            raise ValueError("dsn must start with postgresql://")
        return v


class HubLimits(_Strict):
    """What a board may send: bigger or deeper messages are rejected (counted, logged, acknowledged)."""

    max_payload_bytes: int = Field(64 * 1024, ge=256)
    max_json_depth: int = Field(16, ge=2, le=200)
    batch_max: int = Field(500, ge=1, le=10000, description="Messages committed in one transaction at most.")
    batch_wait_ms: float = Field(20.0, ge=0, description="Longest wait to fill a batch.")
    offline_after_s: float = Field(120.0, gt=0, description="A board with no message for this long shows as stale.")


class HubConfig(_Strict):
    mqtt: HubMQTT = Field(default_factory=HubMQTT)
    database: HubDatabase
    limits: HubLimits = Field(default_factory=HubLimits)
    s3: S3Config | None = Field(None, description="Where boards upload snapshots (to show their URLs).")
    retention_days: float | None = Field(None, gt=0, description="Delete events, rejects and (with s3) the boards' "
                                         "objects older than this, hourly; unset: keep everything.")


def load_hub_config(path: str | Path) -> HubConfig:
    """Read and validate ``hub.yaml``; one-line ``EdgekitError`` on any problem."""
    p = Path(path)
    if not p.is_file():
        raise EdgekitError(f"hub config {p} not found")
    return load_yaml_model(p, HubConfig, "hub config")
