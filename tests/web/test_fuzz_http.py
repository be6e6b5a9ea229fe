"""Property-based fuzz of the dashboard's HTTP API (hypothesis): any method, path, query, header and body gets a
4xx or a 2xx, never a 500 or a traceback, and a long run does not grow the process."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import psutil
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from edgekit.assistant.agent import Transcript
from edgekit.events.store import EventStore
from edgekit.web.app import Dashboard, create_app
from edgekit.web.feeds import FrameHub, Overlay


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    store = EventStore(tmp_path_factory.mktemp("fuzz") / "events.db")
    hub = FrameHub(fps=5, width=320)
    hub.add("cam1", ["Normal", "Fall"], Overlay({}, {}))
    dash = Dashboard(store=store, hub=hub, device="fuzz", assistant=EchoAnswerer())
    with TestClient(create_app(dash), base_url="http://127.0.0.1:8971", raise_server_exceptions=False) as c:
        yield c
    hub.stop()
    dash.events.close()
    store.close()


class EchoAnswerer:
    """Stands in for the assistant (not what is under test here): the body reached it, so the route parsed it."""

    def ask(self, question: str, *, history: Any = (), on_token: Any = None) -> Transcript:
        return Transcript(question=question, answer=f"{len(question)} characters")


segment = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12).map(
    lambda s: quote(s, safe=""))
paths = st.one_of(
    st.sampled_from(["/", "/api/cameras", "/api/events", "/api/stats", "/api/ask", "/static/app.js"]),
    st.builds(lambda s: f"/api/events/{s}", segment),
    st.builds(lambda s: f"/api/events/{s}/snapshot.jpg", segment),
    st.builds(lambda s: f"/api/cameras/{s}/explain.jpg", segment),
    st.builds(lambda a, b: f"/{a}/{b}", segment, segment),
)
json_values = st.recursive(st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20)),
                           lambda kids: st.one_of(st.lists(kids, max_size=3),
                                                  st.dictionaries(st.text(max_size=8), kids, max_size=3)),
                           max_leaves=8)
bodies = st.one_of(st.binary(max_size=200), json_values.map(lambda v: json.dumps(v).encode()),
                   st.integers(1, 5000).map(lambda n: b"[" * n + b"]" * n),
                   st.builds(lambda q: json.dumps({"question": q}).encode(), st.text(max_size=600)))
queries = st.dictionaries(st.sampled_from(["camera", "label", "rule", "since", "until", "limit", "token", "x"]),
                          st.text(max_size=20), max_size=4)
headers = st.fixed_dictionaries({}, optional={
    "content-type": st.sampled_from(["application/json", "text/plain", "application/json; charset=utf-8", "x/y"]),
    "origin": st.sampled_from(["http://127.0.0.1:8971", "http://evil.example", "null"]),
})


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "HEAD"]), path=paths, query=queries,
       hdrs=headers, body=bodies)
def test_no_request_gets_a_500_or_a_traceback(client: TestClient, method: str, path: str, query: dict[str, str],
                                             hdrs: dict[str, str], body: bytes) -> None:
    kw: dict[str, Any] = {"params": query, "headers": hdrs}
    if method in ("POST", "PUT", "DELETE"):
        kw["content"] = body
    r = client.request(method, path, **kw)
    assert r.status_code < 500, (method, path, r.status_code, r.text[:200])
    assert b"Traceback" not in r.content
    if r.status_code >= 400 and method != "HEAD":
        assert "\n" not in r.json()["error"]


def test_a_long_bad_run_does_not_grow_the_process(client: TestClient, tmp_path: Path) -> None:
    bad = [("POST", "/api/ask", b"[" * 4000 + b"]" * 4000), ("GET", "/api/events?limit=x", b""),
           ("GET", "/api/events/nope", b""), ("POST", "/api/ask", b"x" * 60_000)]
    for method, path, body in bad * 50:  # warm up: allocator pools, caches
        client.request(method, path, content=body or None, headers={"content-type": "application/json"})
    rss = psutil.Process().memory_info().rss
    for method, path, body in bad * 250:
        r = client.request(method, path, content=body or None, headers={"content-type": "application/json"})
        assert 400 <= r.status_code < 500
    assert psutil.Process().memory_info().rss - rss < 8 << 20
