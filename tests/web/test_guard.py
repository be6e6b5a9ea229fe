"""The dashboard against a hostile web page and a hostile client, as the security review reproduced it on loopback:
DNS rebinding (a foreign Host), a cross-site ``text/plain`` POST, a 60 MiB body, a deeply nested body, framing, and
the token in the address bar. Each ran against a real uvicorn server and got 200 (or a 500 with a traceback) before
the guard."""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path

import httpx
import psutil
import pytest

from edgekit.types import Event
from edgekit.web.guard import CSP, MAX_BODY, RequestGuard, json_depth_ok
from tests.web.conftest import TOKEN, Served


def _stored_event(served: Served, tmp_path: Path) -> Event:
    snap = tmp_path / "snap.jpg"
    snap.write_bytes(b"\xff\xd8\xff\xd9")
    ev = Event(rule="door", source="cam1", label="Normal", score=0.9, box=(1.0, 1.0, 9.0, 9.0),
               start_ts=time.time(), snapshot=str(snap))
    served.dash.store.add(ev)
    return ev


def test_a_foreign_host_cannot_read_events_or_snapshots(served: Served, tmp_path: Path) -> None:
    """DNS rebinding: the attacker's name in Host. Before the guard: 200 for the events and the snapshot."""
    ev = _stored_event(served, tmp_path)
    for path in ("/api/events", f"/api/events/{ev.id}/snapshot.jpg", "/api/stats", "/api/cameras", "/"):
        r = httpx.get(served.base + path, headers={"Host": "evil.example"})
        assert r.status_code == 403, path
        assert "allowed_hosts" in r.json()["error"] and r.content.count(b"\n") == 0
    port = served.server.port
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", f"{socket.gethostname()}:{port}"):
        assert httpx.get(served.base + "/api/events", headers={"Host": host}).status_code == 200, host


def test_configured_names_are_let_through(tmp_path: Path) -> None:
    guard = RequestGuard(app=None, allowed_hosts=["Porch.Example.lan"])  # type: ignore[arg-type]
    assert guard.host_allowed("porch.example.lan:8971") and guard.host_allowed("192.168.1.20:8971")
    assert not guard.host_allowed("porch.example.lan.evil.example") and not guard.host_allowed("")


def test_ask_refuses_cross_site_and_non_json_posts(served: Served) -> None:
    """A cross-site form or fetch with text/plain needs no preflight; before the guard it reached the assistant."""
    url = served.base + "/api/ask"
    plain = httpx.post(url, content=b'{"question": "how many falls?"}', headers={"Content-Type": "text/plain"})
    assert plain.status_code == 415
    foreign = httpx.post(url, json={"question": "how many falls?"}, headers={"Origin": "http://evil.example"})
    assert foreign.status_code == 403 and "cross-origin" in foreign.json()["error"]
    own = httpx.post(url, json={"question": "how many falls?"},
                     headers={"Origin": f"http://127.0.0.1:{served.server.port}"})
    assert own.status_code == 503  # it got through to the route: no assistant configured here


def _raw_post(port: int, length: int, chunks: int = 0) -> bytes:
    """POST /api/ask announcing ``length`` bytes and sending ``chunks`` MiB of them; returns what came back."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        s.sendall(f"POST /api/ask HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
                  f"Content-Length: {length}\r\n\r\n".encode())
        try:
            for _ in range(chunks):
                s.sendall(b" " * (1 << 20))
        except OSError:
            pass  # the server answered and closed: that is the point
        return s.recv(4096)


def test_a_60_mib_body_is_refused_without_being_read(served: Served) -> None:
    served.dash.assistant = object()  # type: ignore[assignment]  # present, so the route reads the body
    rss = psutil.Process().memory_info().rss
    assert b" 413 " in _raw_post(served.server.port, 60 << 20, chunks=60).split(b"\r\n")[0]
    chunked = httpx.post(served.base + "/api/ask", content=(b"x" * 65536 for _ in range(16)),
                         headers={"Content-Type": "application/json"})  # no Content-Length: counted while read
    assert chunked.status_code == 413
    assert psutil.Process().memory_info().rss - rss < 16 << 20  # before: the process grew from 68 to 250 MB


def test_a_deeply_nested_body_is_a_400_with_no_traceback(served: Served, caplog: pytest.LogCaptureFixture) -> None:
    served.dash.assistant = object()  # type: ignore[assignment]  # present, so the body is parsed
    caplog.set_level(logging.DEBUG)
    for _ in range(3):
        r = httpx.post(served.base + "/api/ask", content=b"[" * 20000 + b"]" * 20000,
                       headers={"Content-Type": "application/json"})
        assert r.status_code == 400 and "nested" in r.json()["error"] and "Traceback" not in r.text
    assert not any(rec.exc_info for rec in caplog.records)


def test_every_answer_carries_the_security_headers(served: Served) -> None:
    for path, code in (("/", 200), ("/api/events", 200), ("/api/events/nope", 404), ("/static/app.js", 200)):
        r = httpx.get(served.base + path)
        assert r.status_code == code
        assert r.headers["content-security-policy"] == CSP and "frame-ancestors 'none'" in CSP
        assert r.headers["x-frame-options"] == "DENY" and r.headers["referrer-policy"] == "no-referrer"
    refused = httpx.get(served.base + "/", headers={"Host": "evil.example"})
    assert refused.headers["x-frame-options"] == "DENY"


@pytest.mark.parametrize("served", [TOKEN], indirect=True)
def test_the_token_moves_from_the_address_into_an_http_only_cookie(served: Served) -> None:
    r = httpx.get(served.base + "/", params={"token": TOKEN, "tab": "events"})
    assert r.status_code == 303 and r.headers["location"] == "/?tab=events"
    cookie = r.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and TOKEN in cookie
    assert httpx.get(served.base + "/api/events", headers={"Cookie": f"edgekit_token={TOKEN}"}).status_code == 200
    assert httpx.get(served.base + "/api/events", headers={"Cookie": "edgekit_token=wrong"}).status_code == 401


def test_server_errors_are_one_line_each_and_rate_limited(served: Served,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    served.dash.store.close()  # every query now fails inside the route
    caplog.set_level(logging.WARNING, logger="edgekit.web")
    for _ in range(25):
        r = httpx.get(served.base + "/api/events")
        assert r.status_code == 500 and "Traceback" not in r.text and "internal error" in r.json()["error"]
    lines = [rec for rec in caplog.records if "failed" in rec.getMessage()]
    assert 1 <= len(lines) <= 10 and not any(rec.exc_info for rec in lines)
    assert all("\n" not in rec.getMessage() for rec in lines)


@pytest.mark.parametrize(("body", "ok"), [
    (b'{"a": [1, 2, {"b": 3}]}', True),
    (b'"[[[[[[[[[[[[[[[[[[[[[[[[[[[["', True),  # brackets inside a string do not nest
    (b'["\\"[[[[[[[[[[[[[[[[[[[[[["]', True),  # nor after an escaped quote
    (b"[" * 17 + b"]" * 17, False),
    (b"{" * 16 + b"}" * 16, True),
])
def test_json_depth_is_counted_outside_strings(body: bytes, ok: bool) -> None:
    assert json_depth_ok(body) is ok


def test_the_body_limit_fits_what_the_page_sends() -> None:
    assert MAX_BODY >= 4 * 500  # a 500-character question in UTF-8, with room for the JSON around it
