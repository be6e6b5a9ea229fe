"""``cameras.<id>.objects``: per-label object masks and filters applied to detections before tracking."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from edgekit.config.polygons import Point, verify_polygon


class ObjectFilterConfig(BaseModel):
    """Bounds a detection of one label must meet to be kept (box area in square frame pixels, width/height ratio)."""

    model_config = ConfigDict(extra="forbid")

    min_area: float = Field(0.0, ge=0, description="Least box area (px²): drops far-away or tiny false hits.")
    max_area: float | None = Field(None, gt=0, description="Largest box area (px²): drops whole-frame blobs.")
    min_score: float = Field(0.0, ge=0, le=1, description="Least detector score for this label.")
    min_ratio: float = Field(0.0, ge=0, description="Least box width/height (a standing person is ~0.3-0.6).")
    max_ratio: float | None = Field(None, gt=0, description="Largest box width/height.")

    @model_validator(mode="after")
    def verify_bounds(self) -> ObjectFilterConfig:
        if self.max_area is not None and self.min_area > self.max_area:
            raise ValueError(f"min_area {self.min_area:g} is larger than max_area {self.max_area:g}")
        if self.max_ratio is not None and self.min_ratio > self.max_ratio:
            raise ValueError(f"min_ratio {self.min_ratio:g} is larger than max_ratio {self.max_ratio:g}")
        return self


class ObjectsConfig(BaseModel):
    """Per label: polygons where a detection is dropped (its bottom-centre inside, like zones) and filters."""

    model_config = ConfigDict(extra="forbid")

    masks: dict[str, list[list[Point]]] = Field(
        default_factory=dict, description="Label → polygons (frame pixels) where that label is ignored.")
    filters: dict[str, ObjectFilterConfig] = Field(default_factory=dict, description="Label → filter.")

    @field_validator("masks")
    @classmethod
    def verify_masks(cls, masks: dict[str, list[list[Point]]]) -> dict[str, list[list[Point]]]:
        for label, polys in masks.items():
            for i, p in enumerate(polys):
                try:
                    verify_polygon(p)
                except ValueError as e:
                    raise ValueError(f"mask {i} of {label!r}: {e}") from None
        return masks

    def labels(self) -> set[str]:
        """Every label named by a mask or a filter (checked against the model at start-up)."""
        return set(self.masks) | set(self.filters)
