"""Spinning and CPU affinity reach ONNX Runtime's session and threads, read back from what ORT and the OS report."""

from __future__ import annotations

import os

import pytest

from edgekit.backends import BackendOptions, open_backend
from edgekit.backends.onnxruntime import OnnxRuntimeBackend
from edgekit.backends.threads import SPIN_KEYS, spins, thread_cpus, thread_ids
from edgekit.errors import EdgekitError
from tests.helpers import DEFAULT_MODEL

CPUS = sorted(os.sched_getaffinity(0))


@pytest.mark.parametrize(("spinning", "threads", "want"), [("on", 2, "1"), ("off", 2, "0"), ("auto", 2, "0")])
def test_spinning_reaches_the_session(spinning, threads, want):
    be = OnnxRuntimeBackend(DEFAULT_MODEL, BackendOptions(threads=threads, spinning=spinning, affinity=tuple(CPUS[:2])))
    try:
        assert [be.config_entry(k) for k in SPIN_KEYS] == [want, want]
    finally:
        be.close()


def test_extra_entries_win_over_spinning():
    be = OnnxRuntimeBackend(DEFAULT_MODEL, BackendOptions(threads=1, spinning="off",
                                                          extra={SPIN_KEYS[0]: "1"}))
    try:
        assert (be.config_entry(SPIN_KEYS[0]), be.config_entry(SPIN_KEYS[1])) == ("1", "0")
    finally:
        be.close()


def test_auto_spins_only_when_a_cpu_is_left_free():
    assert spins("auto", threads=1, cpus=2) and spins("auto", threads=3, cpus=4)
    assert not spins("auto", threads=2, cpus=2) and not spins("auto", threads=0, cpus=4)


@pytest.mark.skipif(len(CPUS) < 2, reason="needs two CPUs to tell a pinned thread from a free one")
def test_affinity_reaches_the_worker_threads_and_the_caller_gets_its_cpus_back():
    before, mine = thread_ids(), os.sched_getaffinity(0)
    be = open_backend(DEFAULT_MODEL, BackendOptions(threads=2, affinity=(CPUS[-1],)))
    try:
        started = thread_ids() - before
        assert started, "ORT started no worker thread for a 2-thread pool"
        assert {t: thread_cpus(t) for t in started} == {t: {CPUS[-1]} for t in started}
        assert os.sched_getaffinity(0) == mine
    finally:
        be.close()


def test_an_affinity_outside_this_process_is_one_clear_error():
    with pytest.raises(EdgekitError, match=r"affinity names CPUs \[4096\] this process may not use"):
        open_backend(DEFAULT_MODEL, BackendOptions(threads=1, affinity=(4096,)))
