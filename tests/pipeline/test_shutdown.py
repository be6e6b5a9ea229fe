"""StopGuard: SIGTERM/SIGINT and a duration set the stop event; a main thread that never comes back (a native call
that does not return) is cut short by the hard exit instead of keeping the process alive."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from tests.helpers import REPO

SCRIPT = textwrap.dedent("""
    import logging, sys, time
    logging.basicConfig(level=logging.INFO)
    from edgekit.pipeline.shutdown import StopGuard
    mode = sys.argv[1]
    with StopGuard(duration_s=0.5 if mode == "duration" else None) as guard:
        print("ready", flush=True)
        if mode == "stuck":
            time.sleep(3600)  # a stage that never returns to the loop: only the hard exit ends this process
        else:
            guard.stop.wait(600)
            print("stopped:", guard.reason, flush=True)
""")


def start(mode: str) -> subprocess.Popen[str]:
    p = subprocess.Popen([sys.executable, "-c", SCRIPT, mode], cwd=REPO, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert p.stdout is not None and p.stdout.readline().strip() == "ready"
    return p


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_sets_stop_and_the_command_ends_cleanly(sig: signal.Signals) -> None:
    p = start("wait")
    p.send_signal(sig)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0 and f"stopped: {sig.name}" in out, err
    assert "exiting now" not in err and "Traceback" not in err


def test_duration_sets_stop() -> None:
    p = start("duration")
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0 and "stopped: --duration 0.5 s" in out, err


def test_a_main_thread_that_never_returns_is_cut_short() -> None:
    p = start("stuck")
    p.send_signal(signal.SIGTERM)
    # time.sleep(3600) resumes after the Python handler ran (PEP 475): without the hard exit this waits an hour
    _, err = p.communicate(timeout=120)
    assert p.returncode == 0 and "exiting now" in err, err
