"""Per-stage wall-clock timings with bounded memory, shared by detectors, pipelines and benchmarks."""

from __future__ import annotations

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
