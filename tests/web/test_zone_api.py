"""The zone editor's API over HTTP, on real parts (a served dashboard, a synthetic camera's frames, the real
RuleEngine and config file): the latest frame, valid proposals as YAML, the bad ones refused in one line with nothing
changed (outside the frame, self-crossing, too few points, a rule's zone removed, writes off, a read-only config), a
save that keeps the rest of the file and swaps the new zones into the running rules. The Chromium side:
``test_browser_zones.py``."""

from __future__ import annotations

import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import httpx
import numpy as np
import pytest

from edgekit.config.daemon import DaemonConfig, load_config
from edgekit.events.store import EventStore
from edgekit.tracking.rules import RuleEngine
from edgekit.types import Detections
from edgekit.web.app import Dashboard, create_app
from edgekit.web.feeds import FrameHub, camera_overlay
from edgekit.web.server import DashboardServer
from edgekit.web.zones import ZoneEditor
from tests.web.conftest import TOKEN, SyntheticFeeder

CONFIG = """\
# the porch camera (this comment must survive a save)
device: zonetest
cameras:
  porch:
    source: synthetic:1   # people walking by
    zones:
      corner:             # top left, where no feet ever are
        polygon: [[0, 0], [200, 0], [200, 150], [0, 150]]
rules:
  - name: person_in_corner
    labels: [Normal, Fall]
    zone: corner
mqtt: null
"""
LAWN = [[20, 340], [1260, 340], [1260, 715], [20, 715]]


@dataclass
class Editor:
    client: httpx.Client
    path: Path
    engine: RuleEngine
    dash: Dashboard

    def post(self, body: dict[str, Any], save: bool = False) -> httpx.Response:
        return self.client.post("/api/cameras/porch/zones", json={**body, "save": save})


def serve(tmp_path: Path, allow_writes: bool, token: str | None = None) -> Iterator[Editor]:
    path = tmp_path / "daemon.yaml"
    path.write_text(CONFIG)
    cfg: DaemonConfig = load_config(path)
    engine = RuleEngine("porch", cfg.cameras["porch"], cfg.rules, ["Normal", "Fall"])
    hub = FrameHub(fps=5, width=320)
    hub.add("porch", ["Normal", "Fall"], camera_overlay(cfg.cameras["porch"]))
    store = EventStore(tmp_path / "events.db")
    dash = Dashboard(store=store, hub=hub, editor=ZoneEditor(cfg, hub, {"porch": engine}, path, allow_writes))
    feeder = SyntheticFeeder(hub, "porch")
    server = DashboardServer(create_app(dash, token), port=0, token=token)
    server.start()
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", headers=headers, timeout=30) as client:
            yield Editor(client, path, engine, dash)
    finally:
        hub.stop()
        dash.events.close()
        server.stop()
        feeder.close()
        store.close()


@pytest.fixture
def editor(tmp_path: Path) -> Iterator[Editor]:
    yield from serve(tmp_path, allow_writes=True)


def test_the_latest_frame_full_size_and_the_geometry(editor: Editor) -> None:
    r = editor.client.get("/api/cameras/porch/frame.jpg")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    img = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape == (720, 1280, 3)  # the frame's own pixels, not the stream's 320
    st = editor.client.get("/api/cameras/porch/zones").json()
    assert st["geometry"]["zones"]["corner"]["polygon"][2] == [200, 150]
    assert st["frame_size"] == [1280, 720] and st["writes"]["enabled"] is True
    assert editor.client.get("/api/cameras/nope/zones").status_code == 404


def test_check_shows_the_yaml_and_changes_nothing(editor: Editor) -> None:
    before = editor.path.read_text()
    r = editor.post({"zones": {"corner": {"polygon": LAWN}}, "lines": {"gate": {"start": [640, 0], "end": [640, 720]}}})
    assert r.status_code == 200, r.text
    assert "polygon: [[20, 340], [1260, 340], [1260, 715], [20, 715]]" in r.json()["yaml"]
    assert "start: [640, 0]" in r.json()["yaml"]
    assert editor.path.read_text() == before
    assert editor.engine.zones["corner"].polygon.tolist()[2] == [200, 150]


@pytest.mark.parametrize(("zones", "says"), [
    ({"corner": {"polygon": [[0, 0], [1400, 0], [200, 150]]}}, "outside the 1280x720 frame"),
    ({"corner": {"polygon": [[0, 0], [200, 150], [200, 0], [0, 150]]}}, "edges 0 and 2 cross"),
    ({"corner": {"polygon": [[0, 0], [200, 150]]}}, "at least 3 points, got 2"),
    ({"lawn": {"polygon": LAWN}}, "camera 'porch' has no zone 'corner'"),
    ({"a zone": {"polygon": LAWN}}, "use 1 to 64 letters"),
])
def test_bad_shapes_get_one_line_and_change_nothing(editor: Editor, zones: dict[str, Any], says: str) -> None:
    editor.client.get("/api/cameras/porch/frame.jpg")  # the editor has seen the frame it draws on
    before = editor.path.read_text()
    r = editor.post({"zones": zones}, save=True)
    assert r.status_code == 400
    err = r.json()["error"]
    assert says in err and "\n" not in err and "Traceback" not in err
    assert editor.path.read_text() == before
    assert editor.engine.zones["corner"].polygon.tolist()[2] == [200, 150]


def test_a_read_only_config_is_one_message_and_nothing_changes(editor: Editor) -> None:
    editor.path.chmod(stat.S_IRUSR | stat.S_IRGRP)
    before = editor.path.read_text()
    r = editor.post({"zones": {"corner": {"polygon": LAWN}}}, save=True)
    assert r.status_code == 409
    assert "is read-only: nothing was changed" in r.json()["error"]
    assert "[20, 340]" in r.json()["yaml"]  # what to paste by hand
    assert editor.path.read_text() == before
    assert editor.engine.zones["corner"].polygon.tolist()[2] == [200, 150]


def test_writes_off_shows_the_yaml_only(tmp_path: Path) -> None:
    for ed in serve(tmp_path, allow_writes=False):
        before = ed.path.read_text()
        r = ed.post({"zones": {"corner": {"polygon": LAWN}}}, save=True)
        assert r.status_code == 409 and "--allow-config-writes" in r.json()["error"]
        assert ed.path.read_text() == before


def test_save_keeps_the_file_and_reloads_the_rules(editor: Editor) -> None:
    person = Detections([[600, 400, 700, 600]], [0.9], [0], tracker_ids=[1])  # feet at (650, 600): on the lawn
    assert editor.engine.update(person, 0.0) == []
    editor.client.get("/api/cameras/porch/frame.jpg")  # as the page does: the mask is checked against its size
    r = editor.post({"zones": {"corner": {"polygon": LAWN}}, "motion_mask": [[[0, 0], [100, 0], [100, 50]]]},
                    save=True)
    assert r.status_code == 200, r.text
    assert r.json()["saved"] is True
    text = editor.path.read_text()
    assert "# the porch camera (this comment must survive a save)" in text and "# people walking by" in text
    assert "polygon: [[20, 340], [1260, 340], [1260, 715], [20, 715]]" in text
    saved = load_config(editor.path)  # the file still passes the loader `config check` runs
    assert saved.cameras["porch"].frame_size == (1280, 720)
    assert saved.cameras["porch"].motion.mask == [[(0, 0), (100, 0), (100, 50)]]
    assert [e.rule for e in editor.engine.update(person, 1.0)] == ["person_in_corner"]  # no restart
    assert editor.engine.motion_mask == [[(0, 0), (100, 0), (100, 50)]]  # for the camera's motion gate
    assert editor.dash.hub.feeds["porch"].overlay.zones["corner"][0] == (20.0, 340.0)
    assert list(editor.path.parent.glob(".daemon.yaml.*")) == []  # no temporary file left beside it


def test_the_editor_answers_only_with_the_token(tmp_path: Path) -> None:
    for ed in serve(tmp_path, allow_writes=True, token=TOKEN):
        bare = httpx.post(f"{ed.client.base_url}/api/cameras/porch/zones", json={"zones": {}})
        assert bare.status_code == 401
        assert ed.client.get("/api/cameras/porch/zones").status_code == 200
        cross = ed.client.post("/api/cameras/porch/zones", json={"zones": {}},
                               headers={"Origin": "http://evil.example"})
        assert cross.status_code == 403
