"""Assistant section of the daemon config: answer questions over MQTT with a local GGUF model."""

from __future__ import annotations

from edgekit.config.base import Strict


class AssistantConfig(Strict):
    enabled: bool = False
    model: str | None = None
