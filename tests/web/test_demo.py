"""`edgekit run` (the README's first command) serves the dashboard and prints its URL."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.helpers import REPO, run_cli


@pytest.mark.slow
def test_demo_prints_the_dashboard_url_and_serves_it(tmp_path: Path) -> None:
    env = {**os.environ, "EDGEKIT_STATE": str(tmp_path / "state"), "PYTHONPATH": str(REPO)}
    p = subprocess.Popen([sys.executable, "-m", "edgekit.cli.main", "run", "--quiet", "--duration", "600"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=tmp_path)
    try:
        assert p.stdout is not None
        lines = []
        for line in p.stdout:
            lines.append(line)
            if m := re.search(r"dashboard: (http://127\.0\.0\.1:\d+/)", line):
                break
        else:
            pytest.fail("no dashboard URL in: " + "".join(lines))
        cams = httpx.get(m.group(1) + "api/cameras", timeout=30).json()
        assert [c["id"] for c in cams["cameras"]] == ["demo"]
        assert httpx.get(m.group(1), timeout=30).status_code == 200
    finally:
        p.send_signal(signal.SIGTERM)
        assert p.wait(60) == 0


def test_run_refuses_an_exposed_dashboard_without_a_token(tmp_path: Path) -> None:
    cfg = tmp_path / "d.yaml"
    cfg.write_text("device: x\ncameras: {a: {source: synthetic}}\nmqtt: null\n"
                   "dashboard: {enabled: true, host: 0.0.0.0}\n")
    for cmd in (["config", "check", str(cfg)], ["run", "--config", str(cfg)]):
        r = run_cli(*cmd, timeout=120)
        assert r.returncode == 2
        out = (r.stdout + r.stderr).strip()
        assert out.startswith("error:") and "dashboard.token" in out and len(out.splitlines()) == 1
        assert "Traceback" not in out
