"""The daemon's `scheduling` section: its defaults, its checks, and that it reaches the detector's session, the
camera threads and the capture threads; two cameras share one detector and never run it at once."""

from __future__ import annotations

import os
import threading
from typing import Any

import pytest

from edgekit.backends.threads import SPIN_KEYS, thread_cpus
from edgekit.config.daemon import parse_config
from edgekit.device.host import probe_host
from edgekit.device.plan import plan_runtime
from edgekit.device.profiles import load_profile
from edgekit.errors import EdgekitError
from edgekit.pipeline.camera import CameraWorker
from edgekit.pipeline.services import load_cameras
from edgekit.sources import LatestFrameReader, open_source
from tests.helpers import DEFAULT_MODEL, wait_until

CPUS = sorted(os.sched_getaffinity(0))
TWO = "cameras:\n  a: {source: 'synthetic:1'}\n  b: {source: 'synthetic:2'}\nmqtt: null\n"


def test_defaults_leave_the_profile_in_charge():
    s = parse_config("cameras: {a: {source: synthetic}}").scheduling
    assert (s.threads, s.spinning, s.affinity, s.capture_nice) == (None, None, None, 5)
    prof = load_profile("desktop")
    assert prof.runtime.spinning == "auto"
    assert plan_runtime(prof, probe_host(), DEFAULT_MODEL).to_dict()["spinning"] == "auto"


@pytest.mark.parametrize(("section", "said"), [
    ("{spinning: fast}", "spinning"), ("{affinity: [0, 0]}", "distinct CPU numbers"), ("{threads: 0}", "threads"),
    ("{capture_nice: 25}", "capture_nice"),
])
def test_bad_scheduling_is_one_line_naming_the_key(section, said):
    with pytest.raises(EdgekitError, match=said) as e:
        parse_config(f"cameras: {{a: {{source: synthetic}}}}\nscheduling: {section}\n", "d.yaml")
    assert "\n" not in str(e.value) and "d.yaml:2" in str(e.value)


class CountsOverlap:
    """Not a stand-in: the real backend, wrapped to record how many of its inferences ran at once."""

    def __init__(self, real: Any) -> None:
        self.real, self.name, self.inside, self.most, self.calls = real, real.name, 0, 0, 0
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)

    def infer(self, inputs: list[Any]) -> list[Any]:
        with self._lock:
            self.inside += 1
            self.most, self.calls = max(self.most, self.inside), self.calls + 1
        try:
            return self.real.infer(inputs)
        finally:
            with self._lock:
                self.inside -= 1


def test_two_cameras_share_one_detector_with_the_sections_settings(tmp_path):
    cfg = parse_config(TWO + "scheduling: {threads: 1, spinning: 'off'}\n")
    plans = load_cameras(cfg, tmp_path)
    det = plans["a"].detector
    try:
        assert plans["b"].detector is det
        assert det.plan is not None and (det.plan.options.threads, det.plan.options.spinning) == (1, "off")
        assert [det.backend.config_entry(k) for k in SPIN_KEYS] == ["0", "0"]  # type: ignore[attr-defined]
    finally:
        det.close()


def test_cameras_on_one_detector_take_turns_and_run_on_the_sections_cpus(tmp_path):
    cfg = parse_config(TWO + f"scheduling: {{threads: 1, affinity: [{CPUS[-1]}]}}\n")
    plans = load_cameras(cfg, tmp_path)
    det = plans["a"].detector
    counter = CountsOverlap(det.backend)
    det.backend = counter  # type: ignore[assignment]
    workers = [CameraWorker(c, p.cfg, det, p.rules, lambda *a: None, affinity=cfg.scheduling.cpus)
               for c, p in plans.items()]
    for w in workers:
        w.start()
    try:
        wait_until(lambda: all(w.stats.processed >= 3 for w in workers), 300, what="both cameras to process frames")
        assert counter.most == 1 and counter.calls >= 6
        assert [thread_cpus(w.native_id or 0) for w in workers] == [{CPUS[-1]}, {CPUS[-1]}]
    finally:
        for w in workers:
            w.stop()
        for w in workers:
            w.join(10)
        det.close()


def test_capture_nice_reaches_the_capture_thread():
    if os.getpriority(os.PRIO_PROCESS, 0) >= 7:
        pytest.skip("this process already runs at niceness 7 or more")
    reader = LatestFrameReader(open_source("synthetic:0", realtime=True), nice=7)
    try:
        wait_until(lambda: reader.captured >= 1, 60, what="a captured frame")
        tid = next(t.native_id for t in threading.enumerate() if t.name.startswith("capture-"))
        assert tid is not None and os.getpriority(os.PRIO_PROCESS, tid) == 7
    finally:
        reader.close()


def test_an_affinity_beyond_this_machine_stops_the_start_with_one_line(tmp_path):
    from edgekit.pipeline.startup import check_startup

    cfg = parse_config(f"state_dir: {tmp_path}\nmqtt: null\ncameras: {{a: {{source: synthetic}}}}\n"
                       "scheduling: {affinity: [4096]}\n")
    with pytest.raises(EdgekitError, match=r"^scheduling.affinity: affinity names CPUs \[4096\]"):
        check_startup(cfg)


def test_edgekit_run_refuses_a_cpu_it_may_not_use_in_one_line_exit_2(tmp_path):
    from tests.helpers import run_cli

    cfg = tmp_path / "d.yaml"
    cfg.write_text(f"state_dir: {tmp_path}\nmqtt: null\ncameras: {{a: {{source: synthetic}}}}\n"
                   "scheduling: {affinity: [4096]}\n")
    r = run_cli("run", "--config", str(cfg), "--duration", "5", timeout=120)
    assert r.returncode == 2, r.stderr
    assert "scheduling.affinity: affinity names CPUs [4096]" in r.stderr and "Traceback" not in r.stderr
