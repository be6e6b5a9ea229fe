"""MQTT connection config shared by the daemon and the hub (broker, login, TLS, topic prefix), and the daemon's
``mqtt:`` section on top of it (topic layout, discovery, delivery)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from edgekit.config.base import Strict


class TLSConfig(Strict):
    """TLS to the broker: its certificate is always verified (``ca_certs``, else the system's CAs)."""

    ca_certs: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    insecure: bool = Field(False, description="Skip host-name verification (self-signed test brokers only).")


class MQTTConnection(Strict):
    """How a client reaches its broker and logs in; the password is usually a ``{NAME}`` placeholder."""

    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    tls: TLSConfig | None = None
    client_id: str | None = None
    keepalive: int = Field(30, ge=5, le=3600)
    # no leading `/`: it would make an empty first topic level that the other side's prefix never matches
    topic_prefix: str = Field("edgekit", pattern=r"^[^#+/][^#+]*$")


class MQTTConfig(MQTTConnection):
    """The daemon's broker connection and topic layout (Frigate-style: everything under `<prefix>/<device>/`)."""

    snapshots: Literal["path", "topic"] = Field(
        "path", description="`path`: events carry the JPEG path; `topic`: also publish the JPEG bytes."
    )
    discovery: bool = Field(True, description="Publish Home Assistant MQTT discovery for each camera/rule.")
    discovery_prefix: str = "homeassistant"
    stats_interval_s: float = Field(10.0, gt=0)
    wait_for_broker: bool = Field(
        False, description="Let `edgekit config check` pass while the broker is unreachable. The daemon always starts "
        "without its broker (alerts wait in the outbox until it answers)."
    )
    connect_timeout_s: float = Field(5.0, gt=0)
    max_backlog_s: float = Field(
        120.0, gt=0, description="/healthz turns unhealthy when the oldest undelivered event is older than this."
    )
