"""`edgekit run` stops on SIGTERM/SIGINT or a start-up error long before `--duration` ends, and keeps its state
folder private (0700, files 0600); `run --help` names the state folder and its files."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]


def start(cfg: Path, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "edgekit.cli.main", "run", "--config", str(cfg), *extra],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_before_duration_and_state_is_private(tmp_path: Path, sig: signal.Signals) -> None:
    state = tmp_path / "state"
    cfg = tmp_path / "d.yaml"
    cfg.write_text(yaml.safe_dump({"state_dir": str(state), "mqtt": None, "metrics": {"enabled": False},
                                   "cameras": {"c": {"source": "synthetic", "realtime": True}}}))
    p = start(cfg, "--duration", "900")
    deadline = time.monotonic() + 300
    while not (state / "stats.json").exists() and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert (state / "stats.json").exists(), p.stderr.read() if p.poll() is not None else "no stats"
    p.send_signal(sig)
    # The old timer thread kept the process alive until --duration ended (900 s): this wait would time out.
    rc = p.wait(timeout=120)
    assert rc in (0, 130), p.stderr.read()
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    files = [f for f in state.rglob("*") if f.is_file()]
    assert files and all(stat.S_IMODE(f.stat().st_mode) == 0o600 for f in files), [
        (f.name, oct(f.stat().st_mode)) for f in files]


def test_startup_error_with_duration_exits_at_once(tmp_path: Path) -> None:
    cfg = tmp_path / "d.yaml"
    cfg.write_text(yaml.safe_dump({"state_dir": str(tmp_path / "s"), "mqtt": None, "metrics": {"enabled": False},
                                   "model": "no-such-model", "cameras": {"c": {"source": "synthetic"}}}))
    p = start(cfg, "--duration", "900")
    rc = p.wait(timeout=120)
    err = p.stderr.read().strip().splitlines()
    assert rc == 2 and len(err) == 1 and err[0].startswith("error: ")


def test_run_help_names_the_state_folder_and_files() -> None:
    out = subprocess.run([sys.executable, "-m", "edgekit.cli.main", "run", "--help"], cwd=REPO, capture_output=True,
                         text=True, env={**os.environ, "COLUMNS": "200"}).stdout
    for word in ("EDGEKIT_STATE", "outbox.db", "events.db", "snapshots/", "stats.json", "0700"):
        assert word in out, word
