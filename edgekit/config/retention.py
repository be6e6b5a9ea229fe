"""Retention section of the daemon config: how much the state folder may hold, so a board's SD card never fills."""

from __future__ import annotations

from pydantic import Field

from edgekit.config.base import Strict


class RetentionConfig(Strict):
    """Bounds on event clips, snapshots, the event store and the outbox, plus a free-disk watermark.

    Under the watermark the oldest clips go first, then snapshots, then the oldest stored events, and undelivered
    events (the outbox) last. Every deletion is counted (``edgekit_retention_deleted_total``).
    """

    interval_s: float = Field(30.0, gt=0, description="Seconds between two checks.")
    snapshots_max_age_days: float | None = Field(30.0, gt=0, description="Delete older snapshots; null = keep.")
    snapshots_max_mb: float | None = Field(1024.0, gt=0, description="Oldest snapshots go beyond this total.")
    clips_max_age_days: float | None = Field(14.0, gt=0, description="Delete older event clips; null = keep.")
    clips_max_mb: float | None = Field(2048.0, gt=0, description="Oldest event clips go beyond this total.")
    events_max_age_days: float | None = Field(90.0, gt=0, description="Delete older events from the event store.")
    events_max_rows: int | None = Field(200_000, gt=0, description="Oldest stored events go beyond this count.")
    outbox_max_age_days: float | None = Field(
        7.0, gt=0, description="Undelivered events older than this are given up (counted)."
    )
    min_free_mb: float = Field(
        100.0, ge=0, description="Free space to keep on the state folder's file system (0 disables the watermark)."
    )
