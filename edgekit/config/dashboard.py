"""``dashboard:``: the live web page the daemon serves (streams, events, stats, assistant, EigenCAM)."""

from __future__ import annotations

import ipaddress

from pydantic import BaseModel, ConfigDict, Field, model_validator


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and ``localhost``; anything else (0.0.0.0 included) is reachable by others."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class DashboardConfig(BaseModel):
    """Where the dashboard listens and what its streams cost. Beyond loopback it needs a token."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(False, description="Serve the dashboard (the demo `edgekit run` turns it on).")
    host: str = Field("127.0.0.1", description="Bind address; anything but loopback requires `token`.")
    port: int = Field(8971, ge=0, le=65535, description="TCP port (0: any free port).")
    token: str | None = Field(
        None, min_length=16,
        description="Required beyond loopback: Bearer token or ?token=; use '{EDGEKIT_DASHBOARD_TOKEN}'.")
    allowed_hosts: list[str] = Field(
        default_factory=list,
        description="Host names the page may be reached by besides IP addresses, localhost and this machine's own "
                    "name (e.g. porch.example.lan); any other Host header is refused (DNS rebinding).")
    stream_fps: float = Field(5.0, gt=0, le=30, description="Most JPEGs per second per watched camera.")
    stream_width: int = Field(640, ge=160, le=3840, description="Streams are scaled down to this width.")
    stream_quality: int = Field(70, ge=10, le=95, description="JPEG quality of the streams.")
    explain: bool = Field(True, description="Offer the EigenCAM explain view (computed on demand, one thread).")

    @model_validator(mode="after")
    def verify_token(self) -> DashboardConfig:
        if self.enabled and not is_loopback(self.host) and not self.token:
            raise ValueError(
                f"dashboard.host {self.host} is reachable from other machines: set dashboard.token (16+ "
                "characters, e.g. token: '{EDGEKIT_DASHBOARD_TOKEN}') or keep 127.0.0.1 and use an SSH tunnel")
        return self
