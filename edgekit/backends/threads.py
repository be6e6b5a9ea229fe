"""Where and how eagerly a CPU runtime's threads run: spin-waiting, CPU affinity, niceness (Linux, per thread)."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from edgekit.backends.base import Spinning

log = logging.getLogger(__name__)

SPIN_KEYS = ("session.intra_op.allow_spinning", "session.inter_op.allow_spinning")


def process_cpus() -> set[int]:
    """The CPUs this process may run on (its affinity where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return set(os.sched_getaffinity(0))
    return set(range(os.cpu_count() or 1))


def spins(spinning: Spinning, threads: int, cpus: int | None = None) -> bool:
    """Whether idle worker threads should spin-wait: ``auto`` spins only when the pool leaves a CPU free.

    >>> spins("auto", threads=2, cpus=2), spins("auto", threads=1, cpus=2), spins("on", 0, 2), spins("auto", 0, 4)
    (False, True, True, False)
    """
    if spinning != "auto":
        return spinning == "on"
    n = cpus if cpus is not None else len(process_cpus())
    return 0 < threads < n


def spin_switch(on: bool) -> Spinning:
    """``BackendOptions.spinning`` for a measured yes/no (a tune trial or plan): ``on`` or ``off``, never ``auto``."""
    return "on" if on else "off"


def spin_entries(spinning: Spinning, threads: int, cpus: int | None = None) -> dict[str, str]:
    """ONNX Runtime session config entries for ``spinning`` (intra- and inter-op pools alike)."""
    value = "1" if spins(spinning, threads, cpus) else "0"
    return dict.fromkeys(SPIN_KEYS, value)


def check_cpus(cpus: Iterable[int]) -> set[int]:
    """``cpus`` as a set, or ValueError naming those this process may not use."""
    want, have = set(cpus), process_cpus()
    if not want:
        raise ValueError("affinity lists no CPU")
    if want - have:
        raise ValueError(f"affinity names CPUs {sorted(want - have)} this process may not use (it has {sorted(have)})")
    return want


def pin_thread(cpus: Iterable[int] | None) -> None:
    """Keep the calling thread on ``cpus`` (None: leave it); threads it starts afterwards inherit that."""
    if cpus is None or not hasattr(os, "sched_setaffinity"):
        return
    os.sched_setaffinity(threading.get_native_id(), check_cpus(cpus))


@contextmanager
def pinned(cpus: Iterable[int] | None) -> Iterator[None]:
    """Run the block with the calling thread on ``cpus``, then give it back its own CPUs: a runtime that starts
    its worker threads inside (an ONNX Runtime session) keeps them there."""
    if cpus is None or not hasattr(os, "sched_setaffinity"):
        yield
        return
    tid = threading.get_native_id()
    before = os.sched_getaffinity(tid)
    os.sched_setaffinity(tid, check_cpus(cpus))
    try:
        yield
    finally:
        os.sched_setaffinity(tid, before)


def thread_cpus(tid: int) -> set[int]:
    """The CPUs thread ``tid`` of this process may run on, as the OS reports it."""
    return set(os.sched_getaffinity(tid))


def thread_ids() -> set[int]:
    """Native ids of every thread of this process (Linux ``/proc/self/task``; empty elsewhere)."""
    try:
        return {int(t) for t in os.listdir("/proc/self/task")}
    except OSError:
        return set()


def lower_priority(nice: int) -> bool:
    """Raise the calling thread's niceness to ``nice`` (never lowers it: that needs privileges). On Linux niceness
    is per thread, and threads started afterwards inherit it. False where the OS refuses or has none."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return False
    tid = threading.get_native_id()
    try:
        if os.getpriority(os.PRIO_PROCESS, tid) < nice:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
    except OSError as e:
        log.debug("cannot lower thread priority: %s", e)
        return False
    return True
