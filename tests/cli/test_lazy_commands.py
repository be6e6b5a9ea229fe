"""`edgekit ask` imports only what answering needs: not the other commands' modules, not the vision stack, and
not llama.cpp for a question the code reads alone (a one-shot question beside the camera daemon on 2 cores)."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from edgekit.cli.main import _command
from edgekit.events import EventStore
from edgekit.types import Event
from tests.helpers import REPO, run_cli

PROBE = """
import json, sys
from edgekit.cli.main import main
try:
    main(sys.argv[1:])
except SystemExit as e:
    code = e.code
else:
    code = 0
heavy = ["cv2", "onnxruntime", "supervision", "llama_cpp", "edgekit.vision", "edgekit.pipeline.daemon",
         "edgekit.device.doctor", "edgekit.cli.run", "edgekit.cli.detect"]
sys.stderr.write("\\nPROBE " + json.dumps({"code": code, "imported": [m for m in heavy if m in sys.modules]}) + "\\n")
"""


def _probe(*args: str) -> tuple[dict[str, object], str]:
    r = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, timeout=300, cwd=REPO)
    line = next(ln for ln in r.stderr.splitlines() if ln.startswith("PROBE "))
    return json.loads(line[len("PROBE "):]), r.stdout


def test_the_command_word_is_found_after_root_options() -> None:
    assert _command(["ask", "how many falls?"]) == "ask"
    assert _command(["-v", "--verbose", "chat", "--threads", "1"]) == "chat"
    assert _command(["--help"]) is None and _command([]) is None


def test_ask_answered_by_code_imports_no_vision_and_no_model(tmp_path: Path) -> None:
    with EventStore(tmp_path / "events.db") as s:
        s.add(Event(rule="fall_alert", source="gate", label="Fall", score=0.9, box=(0.0, 0.0, 5.0, 5.0),
                    start_ts=datetime.now().astimezone().timestamp() - 1))
    probe, out = _probe("ask", "how many Fall events in total?", "--events", str(tmp_path / "events.db"),
                        "--stats", str(tmp_path / "none.json"), "--json")
    assert probe == {"code": 0, "imported": []}, probe
    t = json.loads(out)
    assert t["result"]["count"] == 1 and t["llm"]["calls"] == 0 and t["model_loaded"] is False


def test_every_command_is_still_listed() -> None:
    r = run_cli("--help")
    assert r.returncode == 0
    for cmd in ("ask", "chat", "detect", "run", "doctor", "export", "bench"):
        assert f" {cmd} " in r.stdout, r.stdout
