"""The capture thread can step aside for inference: SCHED_IDLE for that thread only, not the process."""

from __future__ import annotations

import os
import threading

import pytest

from edgekit.sources.latest import set_idle_priority


@pytest.mark.skipif(not hasattr(os, "SCHED_IDLE"), reason="Linux scheduling classes only")
def test_idle_priority_applies_to_the_calling_thread_only() -> None:
    seen: dict[str, int] = {}

    def capture() -> None:
        seen["ok"] = int(set_idle_priority())
        seen["policy"] = os.sched_getscheduler(0)

    t = threading.Thread(target=capture)
    t.start()
    t.join()
    assert seen["ok"] == 1 and seen["policy"] == os.SCHED_IDLE
    assert os.sched_getscheduler(0) != os.SCHED_IDLE  # the inference thread keeps its normal class
