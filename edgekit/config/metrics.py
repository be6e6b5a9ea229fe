"""Metrics section of the daemon config: the loopback HTTP port of ``/metrics`` and ``/healthz``."""

from __future__ import annotations

from pydantic import Field

from edgekit.config.base import Strict


class MetricsConfig(Strict):
    enabled: bool = True
    host: str = "127.0.0.1"
    port: int = Field(9108, ge=0, le=65535)
