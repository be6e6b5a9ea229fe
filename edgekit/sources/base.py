"""The source protocol: anything that yields ``Frame``s."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from edgekit.errors import EdgekitError
from edgekit.types import Frame


class SourceError(EdgekitError):
    """A source could not be opened or read (missing file, unreadable camera, bad URI)."""


@runtime_checkable
class Source(Protocol):
    """Yields frames until the stream ends (``read`` returns ``None``)."""

    @property
    def id(self) -> str: ...

    @property
    def live(self) -> bool:
        """True for cameras and streams (frames should be dropped when processing falls behind)."""
        ...

    @property
    def fps(self) -> float | None: ...

    def read(self) -> Frame | None:
        """The next frame, or ``None`` at the end of the stream."""
        ...

    def close(self) -> None: ...

    @property
    def status(self) -> str:
        """``ok``, ``reconnecting`` or ``ended``."""
        ...
