"""``cameras.<id>.motion``: the cheap motion stage that decides when the detector runs."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from edgekit.config.polygons import Point, verify_polygon


class MotionConfig(BaseModel):
    """Motion gating: the detector runs only on frames with motion (and briefly after), and now and then while
    objects stand still, so an empty scene costs a small grey-frame difference per frame instead of a model run."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Gate the detector on motion; false runs it on every frame.")
    method: Literal["diff", "mog2"] = Field(
        "diff", description="`diff`: difference to a running-average background (cheapest); `mog2`: OpenCV's "
        "Gaussian-mixture background subtractor (copes better with waving leaves and noise, costs more).")
    width: int = Field(320, ge=32, le=1920, description="Frames are downscaled to this width (grey) first.")
    threshold: int = Field(
        25, ge=1, le=255, description="`diff`: grey-level change that counts as motion; `mog2`: its varThreshold.")
    min_area: float = Field(
        400.0, ge=0, description="Least area of one moving blob, in square pixels of the full frame.")
    background_s: float = Field(
        2.0, gt=0, le=600, description="Time constant (s) in which the background absorbs a change: a parked "
        "car or a person standing still stops counting as motion after about twice this.")
    hold_s: float = Field(
        1.0, ge=0, description="Keep detecting this long after the last motion (tracks continue through "
        "short quiet gaps).")
    stationary_interval_s: float = Field(
        1.0, ge=0, description="While objects are present without motion, detect once every this many seconds "
        "(dwell rules on people standing still keep working); 0 detects every frame.")
    mask: list[list[Point]] = Field(
        default_factory=list, description="Polygons (frame pixels) where motion is ignored: a waving tree, a road.")

    @field_validator("mask")
    @classmethod
    def verify_mask(cls, polys: list[list[Point]]) -> list[list[Point]]:
        for i, p in enumerate(polys):
            try:
                verify_polygon(p)
            except ValueError as e:
                raise ValueError(f"mask {i}: {e}") from None
        return polys
