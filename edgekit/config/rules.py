"""Rules of the daemon config: when an Event is raised (labels, zone or line, pose, frames, dwell, count)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from edgekit.config.base import Strict

Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class ScheduleWindow(Strict):
    """Local-time window in which a rule is active; `end` before `start` wraps past midnight."""

    days: list[Day] = Field(default_factory=lambda: list(DAYS))
    start: str = Field("00:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field("23:59", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")


class RuleConfig(Strict):
    """When to raise an Event. All given conditions must hold for the same object (or count)."""

    name: str = Field(pattern=r"^[A-Za-z0-9_-]+$")
    cameras: list[str] | None = Field(None, description="Camera ids; default all cameras.")
    labels: list[str] = Field(default_factory=list, description="Model labels; empty means any label.")
    min_score: float = Field(0.5, ge=0.0, le=1.0)
    zone: str | None = None
    line: str | None = None
    direction: Literal["in", "out", "any"] = "any"
    pose: Literal["fall", "hands_up"] | None = Field(None, description="Pose condition (needs `pose.enabled`).")
    min_frames: int = Field(
        1, ge=1, description="Frames the condition must hold on within one episode (see max_gap_frames)."
    )
    dwell_s: float = Field(0.0, ge=0.0, description="Seconds the condition must hold.")
    min_count: int | None = Field(
        None, ge=1, description="Fire when at least this many matching objects are present (one event per episode)."
    )
    cooldown_s: float = Field(
        30.0, ge=0.0, description="A track fires again only this long after its last episode ended (count rules: "
        "after the last event)."
    )
    rule_cooldown_s: float = Field(0.0, ge=0.0, description="Least seconds between two events of this rule.")
    max_gap_frames: int = Field(
        2, ge=0, description="An episode (zone, dwell, pose, count) survives this many processed frames in a row "
        "without a match (missed detections); 0 ends it at the first miss."
    )
    max_gap_s: float = Field(
        0.0, ge=0.0, description="An episode also survives a gap of up to this many seconds without a match "
        "(whichever of max_gap_frames and max_gap_s allows more)."
    )
    schedule: list[ScheduleWindow] = Field(default_factory=list, description="Active windows; empty = always.")
    remote_off: Literal["any", "live", "never"] | None = Field(
        None, description="Who may switch this rule off over MQTT (`<camera>/<rule>/set` OFF): `any` message, only a "
        "`live` one (not a retained OFF the broker replays on every connect), or `never`. Default: `live` for "
        "safety rules (pose: fall), `any` for the others.")

    @property
    def off_switch(self) -> Literal["any", "live", "never"]:
        """``remote_off`` with its default filled in."""
        if self.remote_off is not None:
            return self.remote_off
        return "live" if self.pose == "fall" else "any"

    @model_validator(mode="after")
    def verify_shape(self) -> RuleConfig:
        if self.zone and self.line:
            raise ValueError(f"rule {self.name!r}: use either `zone` or `line`, not both")
        if self.line and (self.min_count or self.min_frames > 1 or self.dwell_s > 0):
            raise ValueError(f"rule {self.name!r}: a line crossing is instant: drop min_count/min_frames/dwell_s")
        return self
