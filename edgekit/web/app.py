"""The dashboard's Starlette app: the page, its static assets, and a small JSON/MJPEG/SSE API.

Every error is a JSON ``{"error": "..."}`` with a 4xx status that says what was wrong (unknown camera or event,
malformed filter, wrong token); an unexpected failure is logged and answered with a bare 500, never a traceback.
"""

from __future__ import annotations

import asyncio
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from edgekit.assistant.agent import HistoryAsker as Answerer
from edgekit.assistant.agent import ask_in, check_question
from edgekit.assistant.conversation import Conversations
from edgekit.errors import EdgekitError
from edgekit.events.store import EventStore
from edgekit.timing import RateLimitedLog
from edgekit.types import Event
from edgekit.web.auth import TokenAuth
from edgekit.web.feeds import CameraFeed, FrameHub
from edgekit.web.guard import RequestGuard, parse_json
from edgekit.web.live import EventBroadcaster, StatsHistory
from edgekit.web.zones import ZoneEditor, editor_routes

log = logging.getLogger(__name__)

BOUNDARY = "frame"


@dataclass
class Dashboard:
    """What the dashboard shows; the daemon fills it, tests build one from real parts."""

    store: EventStore
    hub: FrameHub = field(default_factory=FrameHub)
    events: EventBroadcaster = field(default_factory=EventBroadcaster)
    history: StatsHistory = field(default_factory=StatsHistory)
    cameras: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Per camera: what it runs (model, input size, precision, backend, source)."""
    model_files: dict[str, Path] = field(default_factory=dict)
    """Per camera: the ONNX file the explain view runs EigenCAM on (absent: no explain for that camera)."""
    assistant: Answerer | None = None
    device: str = "edgekit"
    explain_threads: int = 1
    _explainers: dict[Path, Any] = field(default_factory=dict)
    _explained: OrderedDict[str, bytes] = field(default_factory=OrderedDict)
    _explain_lock: threading.Lock = field(default_factory=threading.Lock)
    _ask_lock: threading.Lock = field(default_factory=threading.Lock)
    asks: list[dict[str, Any]] = field(default_factory=list)
    """Timing of the questions asked on this page (the assistant box's own LLM analytics)."""
    editor: ZoneEditor | None = None
    """The zone editor (a daemon's dashboard has one; absent, the page has no Zones tab)."""
    conversations: Conversations[Any] = field(default_factory=lambda: Conversations(max_conversations=64))
    """The assistant box's conversations, one per browser tab (its id is the page's), for follow-ups."""

    def _model_of(self, cam_id: str) -> Path:
        model = self.model_files.get(cam_id)
        if model is None:
            raise HTTPException(409, f"camera {cam_id!r} runs no ONNX model: the explain view needs one")
        return model

    def _explain(self, model: Path, image: Any, boxes: Any) -> bytes:
        """EigenCAM overlay of ``image`` with ``boxes`` outlined; call with ``_explain_lock`` held."""
        import cv2

        from edgekit.contract.jpeg import encode_jpeg
        from edgekit.vision.explain import EigenCam

        cam = self._explainers.get(model)
        if cam is None:
            cam = self._explainers[model] = EigenCam(model, threads=self.explain_threads)
        out = cam.explain(image).overlay(image)
        for x1, y1, x2, y2 in boxes:
            cv2.rectangle(out, (round(x1), round(y1)), (round(x2), round(y2)), (255, 255, 255), 2)
        return encode_jpeg(out, 85)

    def explain_jpeg(self, event: Event) -> bytes:
        """The EigenCAM overlay of an event's frame (cached: the same event is computed once)."""
        model = self._model_of(event.source)
        with self._explain_lock:  # one at a time: it is a full extra inference
            if event.id in self._explained:
                return self._explained[event.id]
            jpeg = self._explain(model, _event_image(event), [event.box])
            self._explained[event.id] = jpeg
            while len(self._explained) > 32:
                self._explained.popitem(last=False)
            return jpeg

    def explain_live(self, cam_id: str) -> bytes:
        """The EigenCAM overlay of the frame a camera's stream shows now, its detections outlined."""
        model = self._model_of(cam_id)
        latest = self.hub.feeds[cam_id].latest
        if latest is None:
            raise HTTPException(409, f"camera {cam_id!r} has no frame to explain: open its live view first")
        frame, dets = latest
        with self._explain_lock:
            return self._explain(model, frame.image, dets.xyxy.tolist())


def raw_frame_path(snapshot: Path) -> Path:
    """Where the daemon keeps the un-annotated frame of a snapshot (what the explain view runs on)."""
    return snapshot.with_name(snapshot.stem + ".raw.jpg")


def _event_image(event: Event) -> Any:
    import cv2

    if not event.snapshot:
        raise HTTPException(404, f"event {event.id} has no snapshot")
    snap = Path(event.snapshot)
    raw = raw_frame_path(snap)
    image = cv2.imread(str(raw if raw.is_file() else snap))
    if image is None:
        raise HTTPException(404, f"the snapshot of event {event.id} is gone")
    return image


# -- request parsing ---------------------------------------------------------------------------------------------
def _time(name: str, value: str | None) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        raise HTTPException(400, f"{name}={value!r} is not a time: use epoch seconds or ISO 8601") from None


def _filters(req: Request) -> dict[str, Any]:
    q = req.query_params
    allowed = {"camera", "label", "rule", "since", "until", "limit", "token"}
    unknown = sorted(set(q) - allowed)
    if unknown:
        raise HTTPException(400, f"unknown filter {unknown[0]!r}: use camera, label, rule, since, until, limit")
    try:
        limit = int(q.get("limit", "100"))
    except ValueError:
        raise HTTPException(400, f"limit={q.get('limit')!r} is not a whole number") from None
    if not 1 <= limit <= 1000:
        raise HTTPException(400, f"limit must be between 1 and 1000, got {limit}")
    since, until = _time("since", q.get("since")), _time("until", q.get("until"))
    if since is not None and until is not None and since >= until:
        raise HTTPException(400, "since must be before until")
    return {"source": q.get("camera") or None, "label": q.get("label") or None, "rule": q.get("rule") or None,
            "since": since, "until": until, "limit": limit}


def _event_dict(e: Event) -> dict[str, Any]:
    d = e.to_dict()
    d["snapshot_url"] = f"/api/events/{e.id}/snapshot.jpg" if e.snapshot else None
    d["clip_url"] = f"/api/events/{e.id}/clip.mp4" if e.clip else None
    # The event carries its clip's path at once; the file appears after the post-roll (and retention removes it).
    d["clip_ready"] = bool(e.clip) and Path(str(e.clip)).is_file()
    return d


def _download(req: Request) -> bool:
    q = req.query_params
    unknown = sorted(set(q) - {"download", "token"})
    if unknown:
        raise HTTPException(400, f"unknown parameter {unknown[0]!r}: a clip takes only download=1")
    value = q.get("download", "0")
    if value not in ("0", "1"):
        raise HTTPException(400, f"download={value!r}: use download=1 (a file to save) or leave it out (to play)")
    return value == "1"


def _clip_file(ev: Event) -> Path:
    if not ev.clip:
        raise HTTPException(404, f"event {ev.id} has no clip: clips are off for camera {ev.source!r}")
    path = Path(ev.clip)
    if path.suffix != ".mp4":  # only ever a clip: a store edited by hand must not make this serve any file
        raise HTTPException(404, f"event {ev.id} names no MP4 clip")
    if not path.is_file():
        raise HTTPException(404, f"the clip of event {ev.id} is not on disk: still being recorded (its post-roll), "
                                 "or removed by retention")
    return path


# -- app ---------------------------------------------------------------------------------------------------------
def create_app(dash: Dashboard, token: str | None = None, allowed_hosts: Sequence[str] = ()) -> Starlette:
    """The ASGI app; ``token`` set: every request must carry it (Bearer header, the page's cookie or ``?token=``).
    Requests pass :class:`~edgekit.web.guard.RequestGuard` first (Host, Origin, JSON-only, body size, headers)."""

    def feed_of(req: Request) -> CameraFeed:
        cam = req.path_params["cam"]
        feed = dash.hub.feeds.get(cam)
        if feed is None:
            raise HTTPException(404, f"unknown camera {cam!r}; cameras: {sorted(dash.hub.feeds)}")
        return feed

    async def event_of(req: Request) -> Event:
        eid = req.path_params["eid"]
        ev = await run_in_threadpool(dash.store.get, eid)
        if ev is None:
            raise HTTPException(404, f"unknown event id {eid!r}")
        return ev

    async def index(_: Request) -> Response:
        return FileResponse(str(_static_dir() / "index.html"), headers={"Cache-Control": "no-store"})

    async def cameras(_: Request) -> Response:
        latest = dash.history.latest or {}
        last = await run_in_threadpool(lambda: {c: dash.store.query(source=c, limit=1) for c in dash.hub.feeds})
        out = []
        for cam_id in dash.hub.feeds:
            live = latest.get("cameras", {}).get(cam_id, {})
            out.append({"id": cam_id, **dash.cameras.get(cam_id, {}), "status": live.get("status"),
                        "process_fps": live.get("process_fps"), "explain": cam_id in dash.model_files,
                        "zones": dash.editor is not None and cam_id in dash.editor.cfg.cameras,
                        "last_event": _event_dict(last[cam_id][0]) if last[cam_id] else None})
        return JSONResponse({"device": dash.device, "cameras": out})

    async def stream(req: Request) -> Response:
        feed = feed_of(req)
        return StreamingResponse(_mjpeg(feed), media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}",
                                 headers={"Cache-Control": "no-store"})

    async def events(req: Request) -> Response:
        f = _filters(req)
        rows = await run_in_threadpool(lambda: dash.store.query(**f))
        return JSONResponse({"events": [_event_dict(e) for e in rows]})

    async def event_stream(_: Request) -> Response:
        return StreamingResponse(dash.events.stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})

    async def event(req: Request) -> Response:
        return JSONResponse(_event_dict(await event_of(req)))

    async def snapshot(req: Request) -> Response:
        ev = await event_of(req)
        if not ev.snapshot or not Path(ev.snapshot).is_file():
            raise HTTPException(404, f"event {ev.id} has no snapshot on disk")
        return FileResponse(ev.snapshot, media_type="image/jpeg")

    async def clip(req: Request) -> Response:
        # FileResponse answers Range requests (206), which is how a <video> element seeks.
        download = _download(req)
        ev = await event_of(req)
        path = _clip_file(ev)
        name = f"{ev.source}-{time.strftime('%Y%m%d-%H%M%S', time.localtime(ev.start_ts))}-{ev.id[:8]}.mp4"
        return FileResponse(path, media_type="video/mp4", filename=name,
                            content_disposition_type="attachment" if download else "inline")

    async def explain(req: Request) -> Response:
        ev = await event_of(req)
        jpeg = await run_in_threadpool(dash.explain_jpeg, ev)
        return Response(jpeg, media_type="image/jpeg", headers={"X-Explain-Method": "EigenCAM"})

    async def explain_live(req: Request) -> Response:
        feed_of(req)
        jpeg = await run_in_threadpool(dash.explain_live, req.path_params["cam"])
        return Response(jpeg, media_type="image/jpeg", headers={"X-Explain-Method": "EigenCAM"})

    async def stats(_: Request) -> Response:
        return JSONResponse({"latest": dash.history.latest, "history": dash.history.items(), "asks": dash.asks})

    async def ask(req: Request) -> Response:
        if dash.assistant is None:
            raise HTTPException(503, "the assistant is off: set assistant.enabled in the daemon config")
        q, cid = _ask_body(await req.body())
        if not dash._ask_lock.acquire(blocking=False):
            raise HTTPException(409, "the assistant is answering another question: try again in a moment")
        try:
            if cid is None:
                t = await run_in_threadpool(dash.assistant.ask, q)
            else:
                t = await run_in_threadpool(ask_in, dash.assistant, dash.conversations.get(cid), q)
        finally:
            dash._ask_lock.release()
        out = t.to_dict()
        llm = out.get("llm") or {}  # the model's time to first token (the transcript's own ttft_s is the answer's)
        dash.asks.append({"ts": time.time(), "ttft_s": llm.get("ttft_s"), "total_s": out.get("total_s"),
                          "outcome": out.get("outcome"), "tokens_out": llm.get("tokens_out", 0)})
        del dash.asks[:-200]
        return JSONResponse(out)

    routes = [
        Route("/", index),
        Route("/api/cameras", cameras),
        Route("/api/cameras/{cam}/stream.mjpg", stream),
        Route("/api/cameras/{cam}/explain.jpg", explain_live),
        Route("/api/events", events),
        Route("/api/events/stream", event_stream),
        Route("/api/events/{eid}", event),
        Route("/api/events/{eid}/snapshot.jpg", snapshot),
        Route("/api/events/{eid}/clip.mp4", clip),
        Route("/api/events/{eid}/explain.jpg", explain),
        Route("/api/stats", stats),
        Route("/api/ask", ask, methods=["POST"]),
        *(editor_routes(dash.editor) if dash.editor is not None else []),
        Mount("/static", StaticFiles(directory=str(_static_dir())), name="static"),
    ]
    middleware = [Middleware(RequestGuard, allowed_hosts=allowed_hosts),
                  *([Middleware(TokenAuth, token=token)] if token else [])]
    return Starlette(routes=routes, middleware=middleware,
                     exception_handlers={HTTPException: _http_error, Exception: _server_error})


_CONVERSATION_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def _ask_body(body: bytes) -> tuple[str, str | None]:
    """(question, conversation id) of an /api/ask body, or a 400 that says what is wrong (an empty question, one
    too long, or one in a script the assistant does not read is refused here: no model call)."""
    try:
        data = parse_json(body)
    except ValueError as e:
        raise HTTPException(400, f"send JSON {{\"question\": \"...\"}}: {e}") from None
    q = data.get("question") if isinstance(data, dict) else None
    if not isinstance(q, str) or not q.strip() or len(q) > 500:
        raise HTTPException(400, "question must be a non-empty string of at most 500 characters")
    cid = data.get("conversation") if isinstance(data, dict) else None
    if cid is not None and not (isinstance(cid, str) and _CONVERSATION_ID.fullmatch(cid)):
        raise HTTPException(400, "conversation must be an id of 1-64 letters, digits, '.', '_' or '-'")
    try:
        return check_question(q), cid
    except EdgekitError as e:
        raise HTTPException(400, str(e)) from None


async def _mjpeg(feed: CameraFeed) -> AsyncIterator[bytes]:
    """multipart/x-mixed-replace parts while the viewer stays; leaving (cancellation) releases the feed."""
    feed.join()
    try:
        sent = -1
        while not feed.closed:
            jpeg, seq = feed.jpeg, feed.jpeg_seq
            if jpeg is not None and seq != sent:
                sent = seq
                yield (f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n".encode()
                       + jpeg + b"\r\n")
            await asyncio.sleep(min(feed.period / 2, 0.1))
    finally:
        feed.leave()


def _static_dir() -> Path:
    return Path(str(resources.files("edgekit.web") / "static"))


async def _http_error(_: Request, exc: Exception) -> Response:
    code = exc.status_code if isinstance(exc, HTTPException) else 400
    detail = exc.detail if isinstance(exc, HTTPException) else str(exc)
    return JSONResponse({"error": detail}, status_code=code, headers=getattr(exc, "headers", None))


_errors = RateLimitedLog(log)


async def _server_error(req: Request, exc: Exception) -> Response:
    # One line a failure, rate-limited (a client repeating a bad request must not flood the journal); the
    # traceback only at debug level, and never to the client.
    _errors.warning("dashboard: %s %s failed: %s: %s", req.method, req.url.path, type(exc).__name__, exc)
    log.debug("dashboard: traceback of %s %s", req.method, req.url.path, exc_info=exc)
    return JSONResponse({"error": "internal error (see the daemon's log)"}, status_code=500)

