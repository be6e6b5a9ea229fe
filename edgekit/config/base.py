"""The base of every config model: unknown keys are errors, so a typo never passes silently."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Strict(BaseModel):
    """A pydantic model that forbids unknown keys."""

    model_config = ConfigDict(extra="forbid")
