"""Event clips over HTTP on a real server: the URLs an event carries, Range requests (how <video> seeks), the
download variant, and one clear JSON 404 for a clip that is not there."""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from edgekit.types import Event
from tests.web.conftest import Served, record_clip


def _event(**kw: object) -> Event:
    base: dict[str, object] = {"rule": "door", "source": "cam1", "label": "Normal", "score": 0.9,
                               "box": (10.0, 10.0, 50.0, 80.0), "start_ts": time.time()}
    return Event(**{**base, **kw})  # type: ignore[arg-type]


@pytest.fixture
def clip_event(served: Served, tmp_path: Path) -> Event:
    ev = _event(id="ev-with-a-clip")
    ev = replace(ev, clip=str(record_clip(tmp_path / "clips", "cam1", ev.id, seconds=1.0)))
    served.dash.store.add(ev)
    return ev


def test_event_carries_its_clip_url(served: Served, clip_event: Event) -> None:
    served.dash.store.add(_event(clip=None, start_ts=clip_event.start_ts - 60))  # older: not the last
    events = {e["id"]: e for e in httpx.get(served.base + "/api/events").json()["events"]}
    mine = events.pop(clip_event.id)
    assert mine["clip_url"] == f"/api/events/{clip_event.id}/clip.mp4" and mine["clip_ready"] is True
    (other,) = events.values()
    assert other["clip_url"] is None and other["clip_ready"] is False
    cams = httpx.get(served.base + "/api/cameras").json()["cameras"]
    assert cams[0]["last_event"]["clip_url"] == mine["clip_url"]  # a grid tile's "last event"


def test_clip_plays_and_seeks_with_range(served: Served, clip_event: Event) -> None:
    data = Path(str(clip_event.clip)).read_bytes()
    url = served.base + f"/api/events/{clip_event.id}/clip.mp4"
    whole = httpx.get(url)
    assert whole.status_code == 200 and whole.content == data
    assert whole.headers["content-type"] == "video/mp4" and whole.headers["accept-ranges"] == "bytes"
    assert whole.headers["content-disposition"].startswith("inline;")
    part = httpx.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == data[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{len(data)}"
    tail = httpx.get(url, headers={"Range": f"bytes={len(data) - 10}-"})
    assert tail.status_code == 206 and tail.content == data[-10:]
    assert httpx.get(url, headers={"Range": f"bytes={len(data) + 5}-"}).status_code == 416


def test_clip_download(served: Served, clip_event: Event) -> None:
    r = httpx.get(served.base + f"/api/events/{clip_event.id}/clip.mp4", params={"download": "1"})
    assert r.status_code == 200 and r.content == Path(str(clip_event.clip)).read_bytes()
    disp = r.headers["content-disposition"]
    assert disp.startswith("attachment;") and "cam1-" in disp and disp.endswith(f'{clip_event.id[:8]}.mp4"')


@pytest.mark.parametrize("case,code,words", [
    ("no-clip", 404, "has no clip"),
    ("gone", 404, "not on disk"),
    ("unknown", 404, "unknown event id"),
    ("not-mp4", 404, "names no MP4 clip"),
    ("bad-download", 400, "download='yes'"),
    ("bad-param", 400, "unknown parameter 'x'"),
])
def test_missing_clip_is_one_clear_json_404(served: Served, tmp_path: Path, case: str, code: int,
                                            words: str) -> None:
    (tmp_path / "secret.txt").write_text("not for the dashboard")
    clip = {"no-clip": None, "not-mp4": str(tmp_path / "secret.txt")}.get(case, str(tmp_path / "gone.mp4"))
    ev = _event(clip=clip)
    served.dash.store.add(ev)
    eid = "nope" if case == "unknown" else ev.id
    params = {"download": "yes"} if case == "bad-download" else {"x": "1"} if case == "bad-param" else {}
    r = httpx.get(served.base + f"/api/events/{eid}/clip.mp4", params=params)
    assert r.status_code == code and r.headers["content-type"] == "application/json"
    assert list(r.json()) == ["error"] and words in r.json()["error"], r.text
    assert "Traceback" not in r.text
