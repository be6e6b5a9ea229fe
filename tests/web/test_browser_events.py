"""The events view and the camera grid in a real Chromium: an event's clip plays to its end in the page and seeks,
keyboard navigation, filters, a download, a missing clip's message, and four synthetic cameras in the grid at a
desktop's and a phone's width. Screenshots go to ``test-artifacts/web/`` (the docs' copies come from there).

The dashboard is built from real parts (store, frame hub, clips written by the daemon's ClipRecorder), without the
daemon: four cameras running detection would not fit on 2 cores. The one stand-in is the stats snapshot the
daemon's stats loop would report, added to the history as the DaemonStats it is.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import pytest

from edgekit.contract.stats import CameraReport, DaemonStats
from edgekit.events.store import EventStore
from edgekit.sources import SyntheticScene, SyntheticSource
from edgekit.types import Event
from edgekit.web.app import Dashboard, create_app
from edgekit.web.feeds import FrameHub
from edgekit.web.server import DashboardServer
from tests.web.conftest import ARTIFACTS, SyntheticFeeder, needs_chromium, record_clip

pytestmark = [pytest.mark.slow, *needs_chromium]
CAMERAS = ["cam1", "cam2", "cam3", "cam4"]


@dataclass
class Gallery:
    base: str
    store: EventStore
    events: dict[str, Event]
    """By role: ``clip`` (3 s clip), ``fall`` (2 s clip), ``gone`` (its clip was removed), ``none`` (no clip)."""


@pytest.fixture(scope="module")
def gallery(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gallery]:
    tmp = tmp_path_factory.mktemp("gallery")
    store = EventStore(tmp / "events.db")
    now = time.time()
    events: dict[str, Event] = {}
    for i, (role, cam, rule, label) in enumerate([("clip", "cam1", "door", "Normal"), ("fall", "cam2", "fall", "Fall"),
                                                  ("gone", "cam3", "door", "Normal"),
                                                  ("none", "cam4", "door", "Normal")]):
        ev = Event(rule=rule, source=cam, label=label, score=0.9 - i / 10, box=(40, 30, 120, 170),
                   start_ts=now - 600 * (i + 1), id=f"event-{role}")
        snap = tmp / f"{ev.id}.jpg"
        cv2.imwrite(str(snap), cv2.resize(SyntheticScene.random(i, period=8).render(2.0)[0], (320, 180)))
        clip: str | None = None
        if role in ("clip", "fall"):
            clip = str(record_clip(tmp / "clips", cam, ev.id, seconds=3.0 if role == "clip" else 2.0, seed=i))
        elif role == "gone":
            clip = str(tmp / "clips" / cam / f"{ev.id}.mp4")  # retention removed it
        events[role] = replace(ev, snapshot=str(snap), clip=clip)
        store.add(events[role])
    # Small and slow streams: four live cameras share 2 cores with the browser.
    hub = FrameHub(fps=2, width=320)
    for cam in CAMERAS:
        hub.add(cam, ["Normal", "Fall"])
    dash = Dashboard(store=store, hub=hub, device="grid-test")
    dash.history.add(DaemonStats(device="grid-test", cameras={
        cam: CameraReport(process_fps=2.0 + i, capture_fps=5.0, status="ok") for i, cam in enumerate(CAMERAS)}))
    feeders = [SyntheticFeeder(hub, cam, SyntheticSource(seed=i, fps=2, realtime=True, source_id=cam))
               for i, cam in enumerate(CAMERAS)]
    server = DashboardServer(create_app(dash), port=0)
    server.start()
    try:
        yield Gallery(f"http://127.0.0.1:{server.port}", store, events)
    finally:
        hub.stop()
        dash.events.close()
        server.stop()
        for f in feeders:
            f.close()
        store.close()


@contextmanager
def _page(browser: Any, base: str, width: int, height: int = 900) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": width, "height": height}, accept_downloads=True)
    pg = ctx.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    # Only CSP reports: a 404 the page asked for on purpose (a missing clip) is logged by Chromium too.
    pg.on("console", lambda m: errors.append(m.text) if "Content Security Policy" in m.text else None)
    pg.set_default_timeout(60_000)
    pg.goto(base + "/")
    try:
        yield pg
    finally:
        ctx.close()
    assert not errors, f"JavaScript errors or CSP violations on the page: {errors}"


@pytest.fixture
def events_page(chromium_browser: Any, gallery: Gallery) -> Iterator[Any]:
    with _page(chromium_browser, gallery.base, 1280) as pg:
        pg.click("nav button[data-tab=events]")
        pg.wait_for_function("() => document.querySelectorAll('#events tbody tr').length === 4")
        yield pg


def _selected(pg: Any) -> str:
    return str(pg.get_attribute("#events tbody tr.selected", "data-id"))


def test_play_an_event_clip_to_its_end(events_page: Any, gallery: Gallery) -> None:
    pg, ev = events_page, gallery.events["clip"]
    pg.keyboard.press("j")  # the newest event: the one with the 3 s clip
    assert _selected(pg) == ev.id
    pg.evaluate("window.__ended = false; document.getElementById('clip').addEventListener('ended', "
                "() => { window.__ended = true; }, { once: true })")
    pg.keyboard.press("Enter")
    pg.wait_for_function("() => window.__ended === true")  # the video's own `ended` event: it played to its end
    info = pg.evaluate("(() => { const v = document.getElementById('clip'); return {src: v.currentSrc, "
                       "t: v.currentTime, d: v.duration, w: v.videoWidth, e: v.dataset.event}; })()")
    assert f"/api/events/{ev.id}/clip.mp4" in info["src"] and info["e"] == ev.id
    assert info["d"] > 2.5 and info["t"] == pytest.approx(info["d"], abs=0.2) and info["w"] == 320
    assert pg.inner_text("#clip-error") == ""
    assert "door · cam1 · Normal" in pg.inner_text("#clip-caption")
    # Seeking back asks the server for a byte range (206): the player lands where it was sent.
    pg.evaluate("document.getElementById('clip').currentTime = 1.0")
    pg.wait_for_function("() => { const v = document.getElementById('clip'); "
                         "return !v.seeking && Math.abs(v.currentTime - 1.0) < 0.2; }")
    pg.screenshot(path=str(ARTIFACTS / "dashboard-events.png"))


def test_keyboard_moves_between_events(events_page: Any, gallery: Gallery) -> None:
    pg, ev = events_page, gallery.events
    order = pg.eval_on_selector_all("#events tbody tr", "trs => trs.map(t => t.dataset.id)")
    assert order == [ev[r].id for r in ("clip", "fall", "gone", "none")]  # newest first
    for key, want in [("j", 0), ("j", 1), ("ArrowDown", 2), ("k", 1), ("ArrowUp", 0), ("ArrowUp", 0),
                      ("ArrowDown", 1), ("ArrowDown", 2), ("j", 3), ("j", 3)]:
        pg.keyboard.press(key)
        assert _selected(pg) == order[want], key
    pg.keyboard.press("Enter")  # the last event has no clip
    pg.wait_for_function("() => document.getElementById('clip-error').textContent !== ''")
    assert pg.inner_text("#clip-error") == f"event {ev['none'].id} has no clip"
    pg.keyboard.press("k")
    pg.keyboard.press("k")  # the Fall event
    pg.keyboard.press("Enter")
    pg.wait_for_function(f"() => document.getElementById('clip').dataset.event === {ev['fall'].id!r} && "
                         "document.getElementById('clip').currentTime > 0")
    assert pg.inner_text("#clip-error") == ""


def test_missing_clip_gets_one_message_and_changes_nothing(events_page: Any, gallery: Gallery) -> None:
    pg, ev = events_page, gallery.events
    pg.click(f"#events tr[data-id={ev['fall'].id}] button.play")
    pg.wait_for_function("() => document.getElementById('clip').readyState >= 2")
    before = pg.evaluate("(() => { const v = document.getElementById('clip'); "
                         "return [v.getAttribute('src'), v.dataset.event, document.getElementById('clip-caption')"
                         ".textContent, document.querySelectorAll('#events tbody tr').length]; })()")
    pg.click(f"#events tr[data-id={ev['gone'].id}] button.play")
    pg.wait_for_function("() => document.getElementById('clip-error').textContent !== ''")
    msg = pg.inner_text("#clip-error")
    assert msg.startswith("cannot play this clip: the clip of event event-gone is not on disk"), msg
    after = pg.evaluate("(() => { const v = document.getElementById('clip'); "
                        "return [v.getAttribute('src'), v.dataset.event, document.getElementById('clip-caption')"
                        ".textContent, document.querySelectorAll('#events tbody tr').length]; })()")
    assert after == before  # the player still holds the last clip; the list is as it was
    # Its download link says the same, and nothing is saved.
    downloads: list[Any] = []
    pg.on("download", lambda d: downloads.append(d))
    pg.evaluate("document.getElementById('clip-error').textContent = ''")
    pg.click(f"#events tr[data-id={ev['gone'].id}] a.download")
    pg.wait_for_function("() => document.getElementById('clip-error').textContent !== ''")
    assert pg.inner_text("#clip-error").startswith("cannot download this clip: the clip of event event-gone")
    assert downloads == [] and pg.url == gallery.base + "/"


def test_download_an_event_clip(events_page: Any, gallery: Gallery, tmp_path: Path) -> None:
    ev = gallery.events["fall"]
    with events_page.expect_download() as got:
        events_page.click(f"#events tr[data-id={ev.id}] a.download")
    d = got.value
    assert d.suggested_filename.startswith("cam2-") and d.suggested_filename.endswith(f"-{ev.id[:8]}.mp4")
    d.save_as(tmp_path / "saved.mp4")
    assert (tmp_path / "saved.mp4").read_bytes() == Path(str(ev.clip)).read_bytes()
    assert events_page.inner_text("#clip-error") == ""


def test_filter_events(events_page: Any, gallery: Gallery) -> None:
    pg = events_page
    now = gallery.events["clip"].start_ts + 600  # the events are 10, 20, 30 and 40 minutes old

    def shown(**f: str) -> list[str]:
        for name in ("label", "rule", "since", "until"):
            pg.fill(f"#filters input[name={name}]", f.get(name, ""))
        pg.select_option("#filters select[name=camera]", f.get("camera", ""))
        # A stale row, gone once the page has put the filtered list in its place.
        pg.evaluate("(() => { const tr = document.createElement('tr'); tr.dataset.id = 'stale'; "
                    "document.querySelector('#events tbody').replaceChildren(tr); })()")
        pg.click("#filters button[type=submit]")
        pg.wait_for_function("() => !document.querySelector('#events tbody tr[data-id=stale]')")
        assert pg.inner_text("#filter-error") == ""
        return list(pg.eval_on_selector_all("#events tbody tr", "trs => trs.map(t => t.dataset.id)"))

    def local(ts: float) -> str:  # what a datetime-local input holds (the browser's zone is this machine's)
        return time.strftime("%Y-%m-%dT%H:%M", time.localtime(ts))

    assert shown(camera="cam2") == ["event-fall"]
    assert shown(label="Normal") == ["event-clip", "event-gone", "event-none"]
    assert shown(rule="door", camera="cam3") == ["event-gone"]
    assert shown(rule="door", label="Fall") == []
    assert shown(since=local(now - 25 * 60)) == ["event-clip", "event-fall"]
    assert shown(until=local(now - 25 * 60)) == ["event-gone", "event-none"]
    assert shown() == ["event-clip", "event-fall", "event-gone", "event-none"]
    assert shown(camera="cam2") == ["event-fall"]
    pg.click("#events tbody tr td:nth-child(2)")  # a click selects; the keys move within what the filter left
    pg.keyboard.press("j")
    assert _selected(pg) == "event-fall"


_OVERFLOW = "document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _grid(chromium_browser: Any, gallery: Gallery, width: int, shot: str) -> dict[str, Any]:
    with _page(chromium_browser, gallery.base, width, 844 if width < 600 else 900) as pg:
        pg.wait_for_function("() => document.querySelectorAll('#cameras .camera img').length === 4 && "
                             "[...document.querySelectorAll('#cameras .camera img')].every(i => i.naturalWidth > 0)")
        pg.wait_for_function("() => [...document.querySelectorAll('#cameras .status')].every(s => s.textContent === 'ok')")
        tiles = pg.eval_on_selector_all("#cameras .camera", """ts => ts.map(t => ({
            cam: t.dataset.cam, left: Math.round(t.getBoundingClientRect().left),
            top: Math.round(t.getBoundingClientRect().top), width: t.getBoundingClientRect().width,
            status: t.querySelector('.status').textContent, fps: t.querySelector('.fps').textContent,
            last: t.querySelector('.last-event').textContent}))""")
        overflow = pg.evaluate(_OVERFLOW)
        pg.screenshot(path=str(ARTIFACTS / shot), full_page=width < 600)
        pg.click("nav button[data-tab=events]")  # the events view fits too (its table scrolls within itself)
        pg.wait_for_function("() => document.querySelectorAll('#events tbody tr').length === 4")
        return {"tiles": tiles, "overflow": overflow, "events_overflow": pg.evaluate(_OVERFLOW)}


def test_four_cameras_in_the_grid_at_desktop_width(chromium_browser: Any, gallery: Gallery) -> None:
    g = _grid(chromium_browser, gallery, 1280, "dashboard-grid.png")
    tiles = g["tiles"]
    assert [t["cam"] for t in tiles] == CAMERAS
    assert len({t["top"] for t in tiles}) == 1 and len({t["left"] for t in tiles}) == 4  # all four side by side
    assert [t["fps"] for t in tiles] == ["2 fps", "3 fps", "4 fps", "5 fps"]
    assert tiles[0]["last"].startswith("last event: door · Normal ·")
    assert tiles[1]["last"].startswith("last event: fall · Fall ·")
    assert g["overflow"] == 0 and g["events_overflow"] == 0


def test_four_cameras_in_the_grid_at_phone_width(chromium_browser: Any, gallery: Gallery) -> None:
    g = _grid(chromium_browser, gallery, 390, "dashboard-grid-phone.png")
    tiles = g["tiles"]
    assert len({t["left"] for t in tiles}) == 1 and len({t["top"] for t in tiles}) == 4  # one column
    assert all(t["width"] <= 390 and t["status"] == "ok" for t in tiles)
    assert g["overflow"] == 0 and g["events_overflow"] == 0  # nothing wider than the phone: no sideways scrolling
