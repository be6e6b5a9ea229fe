"""Per-stage wall-clock timings with bounded memory, shared by detectors, pipelines and benchmarks; a log that
writes at most so many lines a minute."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np


class StageTimer:
    """Keeps the last ``window`` durations (ms) of each named stage.

    Examples:
        >>> t = StageTimer()
        >>> with t.stage("pre"):
        ...     pass
        >>> t.last("pre") >= 0
        True
    """

    def __init__(self, window: int = 1000) -> None:
        self.window = window
        self._ms: dict[str, deque[float]] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter_ns()
        try:
            yield
        finally:
            self.add(name, (time.perf_counter_ns() - t0) / 1e6)

    def add(self, name: str, ms: float) -> None:
        """Record one duration in milliseconds."""
        q = self._ms.get(name)
        if q is None:
            q = self._ms[name] = deque(maxlen=self.window)
        q.append(ms)

    def last(self, name: str) -> float:
        """The most recent duration of ``name`` (ms), 0 if none yet."""
        q = self._ms.get(name)
        return q[-1] if q else 0.0

    def samples(self, name: str) -> list[float]:
        """All kept durations of ``name`` (ms), oldest first."""
        return list(self._ms.get(name, ()))

    def stages(self) -> list[str]:
        return list(self._ms)

    def clear(self) -> None:
        self._ms.clear()

    def summary(self) -> dict[str, dict[str, float]]:
        """p50/p90/p99/mean per stage, in ms."""
        return {name: percentiles(list(q)) for name, q in self._ms.items() if q}


def percentiles(ms: list[float]) -> dict[str, float]:
    """p50/p90/p99/mean/min/max of a list of milliseconds (empty → zeros)."""
    if not ms:
        return {"p50": 0.0, "p90": 0.0, "p99": 0.0, "mean": 0.0, "min": 0.0, "max": 0.0, "n": 0}
    a = np.asarray(ms, dtype=np.float64)
    p50, p90, p99 = np.percentile(a, [50, 90, 99])
    return {
        "p50": round(float(p50), 3),
        "p90": round(float(p90), 3),
        "p99": round(float(p99), 3),
        "mean": round(float(a.mean()), 3),
        "min": round(float(a.min()), 3),
        "max": round(float(a.max()), 3),
        "n": len(ms),
    }


class RateLimitedLog:
    """At most ``per_minute`` lines a minute; the lines dropped are counted in the next one that is written."""

    def __init__(self, logger: logging.Logger, per_minute: int = 10) -> None:
        self._log, self._per_minute = logger, per_minute
        self._window, self._written, self._dropped = float("-inf"), 0, 0
        self._lock = threading.Lock()

    def warning(self, msg: str, *args: object) -> None:
        with self._lock:
            now = time.monotonic()
            if now - self._window >= 60:
                self._window, self._written = now, 0
            if self._written >= self._per_minute:
                self._dropped += 1
                return
            self._written += 1
            dropped, self._dropped = self._dropped, 0
        self._log.warning(msg + (f" ({dropped} more not logged)" if dropped else ""), *args)
