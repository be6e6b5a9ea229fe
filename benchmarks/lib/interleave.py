"""Raw ``infer`` timings of several backends on one input, interleaved run by run so load drift hits all alike."""

from __future__ import annotations

import time
from collections.abc import Mapping

import numpy as np
import numpy.typing as npt

from edgekit.backends.base import Backend


def interleaved_ms(backends: Mapping[str, Backend], x: npt.NDArray[np.generic], warmup: int,
                   runs: int) -> dict[str, list[float]]:
    """Per backend, ``runs`` latencies in ms: each round runs every backend once, after ``warmup`` rounds."""
    for _ in range(warmup):
        for be in backends.values():
            be.infer([x])
    times: dict[str, list[float]] = {name: [] for name in backends}
    for _ in range(runs):
        for name, be in backends.items():
            t = time.perf_counter_ns()
            be.infer([x])
            times[name].append((time.perf_counter_ns() - t) / 1e6)
    return times

