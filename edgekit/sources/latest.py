"""A capture thread in front of a source: decoding overlaps processing, and stale frames are dropped."""

from __future__ import annotations

import logging
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from edgekit.backends.threads import lower_priority
from edgekit.sources.base import Source
from edgekit.types import Frame

log = logging.getLogger(__name__)


def set_idle_priority() -> bool:
    """Put the calling thread in Linux's idle scheduling class; False where the OS has none."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))  # pid 0: this thread only
    except (AttributeError, OSError) as e:
        log.debug("idle priority not available: %s", e)
        return False
    return True


class LatestFrameReader:
    """Reads ``source`` on its own thread.

    With ``drop`` (the default for live sources) it keeps only the newest frame: a consumer that falls behind skips
    the frames it missed (counted in ``dropped``) and never works on a stale one. Without ``drop`` it keeps up to
    ``depth`` frames and blocks the reader, so a file is processed frame by frame with decoding overlapped.
    ``prepare`` runs on the capture thread for each kept frame (e.g. a detector's pre-processing), and its result
    comes out next to the frame. ``background`` runs the capture thread at idle priority (Linux ``SCHED_IDLE``):
    on a board whose cores inference already fills, decoding then takes only the cycles inference leaves, instead
    of preempting it. ``nice`` (0: unchanged) lowers the capture thread's priority less drastically: it still gets
    its share beside a process that fills the cores, where an idle-class thread would starve.
    """

    def __init__(
        self,
        source: Source,
        drop: bool | None = None,
        depth: int = 2,
        prepare: Callable[[Frame], Any] | None = None,
        background: bool = False,
        nice: int = 0,
    ) -> None:
        self.source = source
        self.drop = source.live if drop is None else drop
        self._buf: deque[tuple[Frame, Any]] = deque(maxlen=1 if self.drop else depth)
        self._depth = 1 if self.drop else depth
        self._cond = threading.Condition()
        self._prepare = prepare
        self._background = background
        self._nice = nice
        self._ended = False
        self._stop = threading.Event()
        self.error: BaseException | None = None
        self.captured = 0
        self.dropped = 0
        self._thread = threading.Thread(target=self._run, name=f"capture-{source.id}", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        if self._background:
            set_idle_priority()
        lower_priority(self._nice)
        try:
            while not self._stop.is_set():
                frame = self.source.read()
                if frame is None:
                    break
                item = (frame, self._prepare(frame) if self._prepare else None)
                with self._cond:
                    if self.drop:
                        if self._buf:
                            self.dropped += 1
                    else:
                        while len(self._buf) >= self._depth and not self._stop.is_set():
                            self._cond.wait(0.1)
                    self._buf.append(item)
                    self.captured += 1
                    self._cond.notify_all()
        except BaseException as e:  # handed to the consumer, which raises it on its own thread
            self.error = e
            log.debug("capture thread of %s failed", self.source.id, exc_info=True)
        finally:
            with self._cond:
                self._ended = True
                self._cond.notify_all()

    def get(self, timeout: float | None = None) -> tuple[Frame, Any] | None:
        """The next (frame, prepared) pair; ``None`` at the end of the stream or after ``timeout`` seconds."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._buf or self._ended, timeout):
                return None
            if self._buf:
                item = self._buf.popleft()
                self._cond.notify_all()
                return item
        if self.error is not None:
            raise self.error
        return None

    def __iter__(self) -> Iterator[tuple[Frame, Any]]:
        while (item := self.get()) is not None:
            yield item

    @property
    def ended(self) -> bool:
        return self._ended and not self._buf

    def close(self) -> None:
        """Stop the thread and close the source."""
        self._stop.set()
        self.source.close()
        with self._cond:
            self._cond.notify_all()
        self._thread.join(timeout=5)
