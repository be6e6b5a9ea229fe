"""The dashboard's HTTP side on a real uvicorn server: pages, filters, bad input, tokens, MJPEG and SSE lifetimes."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import httpx
import numpy as np
import pytest

from edgekit.config.dashboard import DashboardConfig
from edgekit.errors import EdgekitError
from edgekit.types import Event
from edgekit.web.app import create_app
from edgekit.web.server import DashboardServer
from tests.helpers import wait_until
from tests.web.conftest import TOKEN, Served


def _event(**kw: object) -> Event:
    base: dict[str, object] = {"rule": "door", "source": "cam1", "label": "Normal", "score": 0.9,
                               "box": (10.0, 10.0, 50.0, 80.0), "start_ts": time.time()}
    return Event(**{**base, **kw})  # type: ignore[arg-type]


def test_page_and_assets_load(served: Served) -> None:
    r = httpx.get(served.base + "/")
    assert r.status_code == 200 and "EigenCAM" in r.text and "static/app.js" in r.text
    js = httpx.get(served.base + "/static/app.js")
    assert js.status_code == 200 and "EventSource" in js.text
    assert "http" not in httpx.get(served.base + "/static/style.css").text  # no CDN, nothing fetched elsewhere
    cams = httpx.get(served.base + "/api/cameras").json()
    assert [c["id"] for c in cams["cameras"]] == ["cam1"]


def test_event_filters(served: Served) -> None:
    t0 = time.time()
    served.dash.store.add_many([
        _event(label="Fall", rule="fall", start_ts=t0 - 100),
        _event(label="Normal", start_ts=t0 - 50),
        _event(label="Normal", source="cam2", start_ts=t0 - 10),
    ])
    get = lambda **p: httpx.get(served.base + "/api/events", params=p)
    assert len(get().json()["events"]) == 3
    assert [e["label"] for e in get(label="Fall").json()["events"]] == ["Fall"]
    assert {e["source"] for e in get(camera="cam2").json()["events"]} == {"cam2"}
    assert [e["rule"] for e in get(rule="fall").json()["events"]] == ["fall"]
    assert len(get(since=str(t0 - 60)).json()["events"]) == 2
    iso = time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(t0 - 60))
    assert len(get(until=iso).json()["events"]) == 1


@pytest.mark.parametrize("path,code,words", [
    ("/api/events?limit=abc", 400, "limit"),
    ("/api/events?limit=0", 400, "between"),
    ("/api/events?since=yesterday", 400, "since"),
    ("/api/events?since=20&until=10", 400, "before"),
    ("/api/events?colour=red", 400, "unknown filter"),
    ("/api/events/no-such-id", 404, "unknown event"),
    ("/api/events/no-such-id/snapshot.jpg", 404, "unknown event"),
    ("/api/events/no-such-id/explain.jpg", 404, "unknown event"),
    ("/api/cameras/nope/stream.mjpg", 404, "unknown camera"),
    ("/no/such/page", 404, "Not Found"),
])
def test_bad_input_is_a_clear_4xx(served: Served, path: str, code: int, words: str) -> None:
    r = httpx.get(served.base + path)
    assert r.status_code == code
    assert r.headers["content-type"].startswith("application/json")
    assert words in r.json()["error"] and "Traceback" not in r.text


def test_ask_without_assistant_and_malformed_questions(served: Served) -> None:
    r = httpx.post(served.base + "/api/ask", json={"question": "how many falls?"})
    assert r.status_code == 503 and "assistant" in r.json()["error"]
    served.dash.assistant = object()  # type: ignore[assignment]  # present, so the body is checked first
    for body in (b"not json", b'{"question": ""}', b'{"question": 5}', b"[1]"):
        r = httpx.post(served.base + "/api/ask", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400
        assert "question" in r.json()["error"] or "JSON" in r.json()["error"]


@pytest.mark.parametrize("served", [TOKEN], indirect=True)
def test_token_is_required(served: Served) -> None:
    assert httpx.get(served.base + "/api/cameras").status_code == 401
    r = httpx.get(served.base + "/", params={"token": "wrong"})
    assert r.status_code == 401 and "token" in r.json()["error"] and "Traceback" not in r.text
    assert httpx.get(served.base + "/api/cameras", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert httpx.get(served.base + "/api/cameras", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    first = httpx.get(served.base + "/", params={"token": TOKEN})
    assert first.status_code == 303 and first.headers["location"] == "/"  # the token leaves the address bar
    with httpx.Client(base_url=served.base, follow_redirects=True) as page:
        assert page.get("/", params={"token": TOKEN}).status_code == 200
        assert page.get("/api/cameras").status_code == 200  # the page's own calls carry the cookie
    assert TOKEN not in served.server.url  # the printed address (terminal, journal) never holds the token


def test_beyond_loopback_needs_a_token(served: Served) -> None:
    with pytest.raises(EdgekitError, match=r"dashboard\.token"):
        DashboardServer(create_app(served.dash), host="0.0.0.0", port=0)
    with pytest.raises(ValueError, match=r"dashboard\.token"):
        DashboardConfig(enabled=True, host="0.0.0.0")
    with pytest.raises(ValueError):
        DashboardConfig(enabled=True, host="0.0.0.0", token="short")
    assert DashboardConfig(enabled=True, host="0.0.0.0", token=TOKEN).token == TOKEN


def test_busy_port_is_one_clear_error(served: Served) -> None:
    with pytest.raises(EdgekitError, match=f"127.0.0.1:{served.server.port} is not usable"):
        DashboardServer(create_app(served.dash), port=served.server.port)


def _read_parts(chunks: Iterator[bytes], n: int) -> list[bytes]:
    """The next ``n`` JPEGs of a multipart/x-mixed-replace stream (``chunks`` stays open: closing it hangs up)."""
    buf, parts = b"", []
    for chunk in chunks:
        buf += chunk
        while True:
            head = buf.find(b"\r\n\r\n")
            if head < 0 or not buf.startswith(b"--frame"):
                break
            length = int(next(ln.split(b":")[1] for ln in buf[:head].split(b"\r\n")
                              if ln.lower().startswith(b"content-length")))
            if len(buf) < head + 4 + length + 2:
                break
            parts.append(buf[head + 4:head + 4 + length])
            buf = buf[head + 4 + length + 2:]
        if len(parts) >= n:
            return parts[:n]
    return parts


def test_stream_sends_changing_jpegs_and_a_viewer_leaves_nothing_behind(served: Served) -> None:
    feed = served.dash.hub.feeds["cam1"]
    threads_before = {t.name for t in threading.enumerate()}
    assert feed.viewers == 0 and not feed.encoding
    for _ in range(5):  # connect, watch, hang up: again and again
        with httpx.stream("GET", served.base + "/api/cameras/cam1/stream.mjpg", timeout=30) as r:
            assert r.headers["content-type"].startswith("multipart/x-mixed-replace")
            chunks = r.iter_bytes()
            parts = _read_parts(chunks, 3)
            assert len(parts) == 3 and all(p[:2] == b"\xff\xd8" for p in parts)  # JPEG magic
            assert len(set(parts)) == 3  # the picture moves
            assert feed.viewers == 1 and feed.encoding
        wait_until(lambda: feed.viewers == 0 and not feed.encoding, 10, what="viewer gone and encoder stopped")
        assert feed._latest is None and feed.jpeg is None  # no frame or JPEG is kept for nobody
    assert not [t for t in threading.enumerate() if t.name.startswith("mjpeg")]
    assert {t.name for t in threading.enumerate()} - threads_before <= {"AnyIO worker thread"}


def test_encoding_is_capped_and_only_while_watched(served: Served) -> None:
    feed = served.dash.hub.feeds["cam1"]
    assert feed.encoded == 0  # nobody watched: nothing was encoded
    with httpx.stream("GET", served.base + "/api/cameras/cam1/stream.mjpg", timeout=30) as r:
        t0 = time.monotonic()
        chunks = r.iter_bytes()
        _read_parts(chunks, 6)
        elapsed = time.monotonic() - t0
    # 10 fps cap: 6 parts need at least 5 periods (the first may be ready at once)
    assert elapsed >= 5 * feed.period * 0.9


def test_sse_delivers_new_events_and_unsubscribes(served: Served) -> None:
    ev = _event(label="Fall")
    with httpx.stream("GET", served.base + "/api/events/stream", timeout=30) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        lines = r.iter_lines()
        wait_until(lambda: served.dash.events.subscribers == 1, 10, what="subscribed")
        served.dash.events.publish(ev)
        data = next(ln for ln in lines if ln.startswith("data: "))
        assert json.loads(data[6:])["id"] == ev.id
    wait_until(lambda: served.dash.events.subscribers == 0, 10, what="unsubscribed")


def test_explain_an_event_on_its_raw_frame(served: Served, tmp_path) -> None:
    import cv2

    from edgekit.web.app import raw_frame_path
    from tests.helpers import DEFAULT_MODEL, IMAGES, yolo_labels

    img = cv2.imread(str(IMAGES / "zidane.jpg"))
    snap = tmp_path / "snaps" / "cam1" / "e1.jpg"
    snap.parent.mkdir(parents=True)
    cv2.imwrite(str(snap), cv2.rectangle(img.copy(), (0, 0), (100, 100), (0, 0, 255), 5))  # annotated
    cv2.imwrite(str(raw_frame_path(snap)), img)
    ev = _event(box=tuple(float(v) for v in yolo_labels("zidane.jpg", img.shape)[0]), snapshot=str(snap))
    served.dash.store.add(ev)
    r = httpx.get(f"{served.base}/api/events/{ev.id}/explain.jpg", timeout=300)
    assert r.status_code == 409 and "ONNX" in r.json()["error"]  # this camera has no ONNX model registered
    served.dash.model_files["cam1"] = DEFAULT_MODEL
    r = httpx.get(f"{served.base}/api/events/{ev.id}/explain.jpg", timeout=300)
    assert r.status_code == 200 and r.headers["x-explain-method"] == "EigenCAM"
    shown = cv2.imdecode(np.frombuffer(r.content, np.uint8), cv2.IMREAD_COLOR)
    assert shown.shape == img.shape
    assert httpx.get(f"{served.base}/api/events/{ev.id}/snapshot.jpg").content == snap.read_bytes()


def test_stats_history_keeps_json_and_device_state(served: Served) -> None:
    from pydantic import BaseModel

    from edgekit.web.attach import device_extras

    class Stats(BaseModel):  # the daemon's stats may be a pydantic model
        ts: float
        cameras: dict[str, dict[str, float]]

    served.dash.history.add({"ts": 1.0, "cameras": {"cam1": {"process_fps": 2.0}}})
    served.dash.history.add(Stats(ts=2.0, cameras={"cam1": {"process_fps": 3.0}}), device=device_extras())
    body = httpx.get(served.base + "/api/stats").json()
    assert [h["ts"] for h in body["history"]] == [1.0, 2.0]
    assert body["latest"]["cameras"]["cam1"]["process_fps"] == 3.0
    assert set(body["latest"]["device_state"]) == {"throttled", "cur_mhz", "max_mhz", "governor"}


def test_explain_the_live_frame(served: Served) -> None:
    from tests.helpers import DEFAULT_MODEL

    r = httpx.get(served.base + "/api/cameras/nope/explain.jpg")
    assert r.status_code == 404 and "unknown camera" in r.json()["error"]
    r = httpx.get(served.base + "/api/cameras/cam1/explain.jpg")
    assert r.status_code == 409 and "ONNX" in r.json()["error"]
    served.dash.model_files["cam1"] = DEFAULT_MODEL
    r = httpx.get(served.base + "/api/cameras/cam1/explain.jpg")
    assert r.status_code == 409 and "live view" in r.json()["error"]  # nobody watches: no frame is kept
    feed = served.dash.hub.feeds["cam1"]
    with httpx.stream("GET", served.base + "/api/cameras/cam1/stream.mjpg", timeout=30) as s:
        chunks = s.iter_bytes()
        next(chunks)
        wait_until(lambda: feed.latest is not None, 30, what="a frame kept for the viewer")
        r = httpx.get(served.base + "/api/cameras/cam1/explain.jpg", timeout=300)
    assert r.status_code == 200 and r.headers["x-explain-method"] == "EigenCAM"
    shown = cv2_decode(r.content)
    assert shown.shape == (720, 1280, 3)


def cv2_decode(data: bytes) -> np.ndarray:
    import cv2

    img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None
    return img


def test_ask_follow_ups_per_conversation_and_bad_questions(served: Served) -> None:
    """The assistant box's conversations: a follow-up carries the last question's filters within its own
    conversation id only; a bad question is one 400 line before any reading or model call."""
    from edgekit.assistant.agent import Assistant
    from edgekit.assistant.tools import ToolBox

    served.dash.store.add_many([_event(label="Fall", rule="fall"), _event(label="Fall", source="cam2"),
                                _event(label="Normal")])
    served.dash.assistant = Assistant(None, ToolBox(served.dash.store))  # code alone reads these: no model
    ask = lambda q, cid=None: httpx.post(served.base + "/api/ask", json={"question": q, "conversation": cid})
    assert ask("how many falls today?", "tab-a").json()["answer"] == "2 Fall events today."
    assert ask("how many events today?", "tab-b").json()["answer"] == "3 events today."
    assert ask("only the cam2 camera", "tab-a").json()["answer"] == "1 Fall event on camera cam2 today."
    assert ask("only the cam1 camera", "tab-b").json()["answer"] == "2 events on camera cam1 today."
    es = ask("¿y ayer?", "tab-a").json()
    assert (es["answer"], es["lang"]) == ("Ayer hubo 0 eventos de tipo Fall en la cámara cam2.", "es")
    assert len(served.dash.conversations) == 2
    for body, words in ((("今天有多少次跌倒？", "tab-a"), "script the assistant does not read (cjk)"),
                        (("كم عدد حالات السقوط اليوم؟", None), "(arabic)"),
                        (("   ", None), "non-empty"), (("x" * 10_000, None), "at most 500"),
                        (("falls?", "a/b"), "conversation must be an id")):
        r = ask(*body)
        assert r.status_code == 400 and words in r.json()["error"] and "\n" not in r.json()["error"], r.text
