"""Pose section of the daemon config: MediaPipe on the detections of some labels."""

from __future__ import annotations

from pydantic import Field

from edgekit.config.base import Strict


class PoseConfig(Strict):
    enabled: bool = False
    labels: list[str] = Field(default_factory=list, description="Run pose on these labels; empty = all.")
    model_complexity: int = Field(1, ge=0, le=2)
    min_visibility: float = Field(
        0.5, ge=0, le=1, description="Keypoints a pose condition reads must be at least this visible."
    )
