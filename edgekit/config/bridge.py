"""The ``bridge`` section: a board reaches the central broker through its own Mosquitto (store-and-forward).

The daemon then talks to the board's local Mosquitto (``mqtt.host: 127.0.0.1``); the local broker forwards
``<prefix>/<device>/#`` to the centre with QoS 1 and a persistent session, and keeps the messages on disk while the
link is down. ``edgekit bundle`` writes the broker's bridge file from this section.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class BridgeConfig(BaseModel):
    """Where the board's Mosquitto forwards to, and how it logs in (one user per board)."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field(description="Central broker host name (must match its TLS certificate).")
    port: int = Field(8883, ge=1, le=65535)
    username: str | None = Field(None, description="Per-board login; default: the device name.")
    password_env: str = Field("EDGEKIT_BRIDGE_PASSWORD", pattern=r"^[A-Z][A-Z0-9_]*$",
                              description="Environment variable holding the password when the file is written.")
    ca_certs: str | None = Field(None, description="CA of the central broker; unset: plain TCP, refused off loopback "
                                 "unless insecure_plaintext.")
    insecure_plaintext: bool = Field(False, description="Allow a bridge without TLS to a host off loopback (its "
                                     "password and events cross the network in clear): closed networks only.")
    certfile: str | None = None
    keyfile: str | None = None
    max_queued_messages: int = Field(1_000_000, ge=1000, description="Messages kept while the link is down.")
