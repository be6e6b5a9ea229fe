"""What every dashboard request passes before a route runs: the Host and Origin checks, the body limit, and the
security headers on every answer.

A dashboard on loopback has no token (the README recommends it, behind an SSH tunnel). Without a Host check any web
page the user visits could read it through DNS rebinding: ``evil.example`` resolves to 127.0.0.1 a second after the
page loaded, and the browser then treats the dashboard as that page's own origin. A rebinding request always carries
the attacker's name in ``Host``, so only names that are this machine's are let through: IP literals (a browser sends
one only when the user typed it), ``localhost``, the machine's host name (and ``.local``), and the names the
operator configured (``dashboard.allowed_hosts``). Requests that change state or run the model must also come from
the page itself (``Origin`` equal to ``Host`` when a browser sends one) and be JSON, which a cross-site form or a
``text/plain`` "simple request" cannot be.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from edgekit.timing import RateLimitedLog

log = logging.getLogger(__name__)

MAX_BODY = 64 * 1024
"""Largest request body (bytes): a question is at most 500 characters; nothing the page sends comes near it."""
MAX_JSON_DEPTH = 16

# The page's own assets satisfy this: one script file, one style sheet, images from this server, blob: URLs for the
# explain view and data: for small icons; nothing may frame the page.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; "
       "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-content-type-options", b"nosniff"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
]
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def own_host_names(configured: Iterable[str] = ()) -> frozenset[str]:
    """The host names (lower case, no port) a request to this machine may carry besides IP literals."""
    name = socket.gethostname().lower()
    return frozenset({"localhost", name, f"{name}.local", *(h.lower().strip(".") for h in configured)})


def host_name(value: str) -> str:
    """An authority without its port, lower case: ``[::1]:8971`` → ``::1``, ``Porch.local:80`` → ``porch.local``."""
    if value.startswith("["):
        return value[1:value.find("]")].lower()
    return value.rsplit(":", 1)[0].lower() if value.count(":") == 1 else value.lower()


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def json_depth_ok(raw: bytes, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """True when no array or object in ``raw`` nests deeper than ``max_depth`` (strings are skipped), checked
    before parsing, since a deep body would otherwise end in a RecursionError inside the parser."""
    depth, in_str, escaped = 0, False, False
    for ch in raw.decode("utf-8", "replace"):
        if in_str:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_str = False
        elif ch == '"':
            in_str = True
        elif ch in "[{":
            depth += 1
            if depth > max_depth:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def parse_json(raw: bytes, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """The body as JSON, or ValueError with one line saying what is wrong with it."""
    if not json_depth_ok(raw, max_depth):
        raise ValueError(f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"not JSON ({e.msg if isinstance(e, json.JSONDecodeError) else 'not UTF-8'})") from None


class RequestGuard:
    """ASGI middleware: Host check, Origin and JSON-only on state-changing methods, body limit, security headers.

    A refused request gets one JSON line and a 4xx status; the log gets one line per refusal, rate-limited.
    """

    def __init__(self, app: ASGIApp, allowed_hosts: Iterable[str] = (), max_body: int = MAX_BODY) -> None:
        self.app, self.max_body = app, max_body
        self.names = own_host_names(allowed_hosts)
        self.log = RateLimitedLog(log)

    def host_allowed(self, host: str) -> bool:
        name = host_name(host)
        return bool(name) and (name in self.names or _is_ip(name))

    def refusal(self, scope: Scope) -> tuple[int, str] | None:
        """(status, reason) when the request is refused before it reaches a route, else None."""
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers") or []}
        host = headers.get("host", "")
        if not self.host_allowed(host):
            return 403, (f"Host {host!r} is not this dashboard's name: add it to dashboard.allowed_hosts if you "
                         "reach the board by that name")
        if scope.get("method", "GET") in _SAFE_METHODS:
            return None
        origin = headers.get("origin")
        if origin is not None and (origin == "null" or urlsplit(origin).netloc.lower() != host.lower()):
            return 403, f"cross-origin request from {origin!r} refused"
        if headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
            return 415, "send the body as application/json"
        length = headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            return 413, f"request body over {self.max_body} bytes"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = self.refusal(scope)
        if refused is not None:
            await self._refuse(scope, send, *refused)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            msg = await receive()
            if msg["type"] == "http.request":
                received += len(msg.get("body", b""))
                if received > self.max_body:  # chunked, or a Content-Length that lied
                    raise BodyTooLarge
            return msg

        async def send_with_headers(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                names = {k.lower() for k, _ in msg.get("headers", [])}
                msg["headers"] = [*msg.get("headers", []), *(h for h in SECURITY_HEADERS if h[0] not in names)]
            await send(msg)

        try:
            await self.app(scope, limited_receive, send_with_headers)
        except BodyTooLarge:
            await self._refuse(scope, send, 413, f"request body over {self.max_body} bytes")

    async def _refuse(self, scope: Scope, send: Send, status: int, reason: str) -> None:
        self.log.warning("dashboard: refused %s %s: %s", scope.get("method"), scope.get("path"), reason)
        body = json.dumps({"error": reason}).encode()
        await send({"type": "http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"), *SECURITY_HEADERS]})
        await send({"type": "http.response.body", "body": body})


class BodyTooLarge(Exception):
    """The body grew past the limit while it was read."""
