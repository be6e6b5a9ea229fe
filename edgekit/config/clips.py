"""``cameras.<id>.clips``: a rolling buffer of encoded segments from which every event gets an MP4."""

from __future__ import annotations

import tempfile
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ClipsConfig(BaseModel):
    """Event clips: H.264 segments are encoded once, kept ``buffer_s`` seconds, and cut (not re-encoded) into an
    MP4 per event from ``pre_s`` before the event started to ``post_s`` after it fired."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = False
    pre_s: float = Field(5.0, ge=0, description="Seconds of video before the event starts.")
    post_s: float = Field(5.0, ge=0, description="Seconds of video after the event fired.")
    buffer_s: float = Field(30.0, gt=0, le=3600, description="Seconds of segments kept on disk for pre-roll.")
    segment_s: float = Field(2.0, ge=0.5, le=60, description="Length of one encoded segment (s).")
    width: int = Field(640, ge=64, le=3840, description="Encode at this width (height follows the frame).")
    fps: float | None = Field(
        None, gt=0, le=60, description="Encode at most this many frames per second (a Pi Zero: 2-5); default all.")
    crf: int = Field(28, ge=0, le=51, description="x264 quality (lower is better and larger).")
    folder: str | None = Field(None, description="Where clips and segments go; default `<state_dir>/clips`.")

    @model_validator(mode="after")
    def verify_buffer(self) -> ClipsConfig:
        if self.enabled and self.pre_s + self.segment_s > self.buffer_s:
            raise ValueError(
                f"pre_s {self.pre_s:g} (+ one segment of {self.segment_s:g} s) is longer than buffer_s "
                f"{self.buffer_s:g}: raise buffer_s or shorten pre_s")
        if self.enabled and self.folder is not None:
            verify_writable(Path(self.folder))
        return self


def verify_writable(folder: Path) -> None:
    """Raise ``ValueError`` unless ``folder`` is (or can be made in) a folder this process can write.

    Probes by creating and removing a temporary folder in the nearest existing ancestor: permission bits alone
    would pass for root on a read-only file system or under /proc.
    """
    p = folder
    while not p.exists() and p.parent != p:
        p = p.parent
    if not p.is_dir():
        raise ValueError(f"clip folder {folder}: {p} is not a folder")
    try:
        tempfile.TemporaryDirectory(dir=p, prefix=".edgekit-probe-").cleanup()
    except OSError as e:
        raise ValueError(f"clip folder {folder} is not writable ({e.strerror or e}): fix its permissions or "
                         "choose another folder") from None
