"""Token check for a dashboard bound beyond loopback: ``Authorization: Bearer TOKEN``, the page's cookie, or
``?token=TOKEN``.

The operator opens the page once with ``?token=``; the page is then answered with a redirect to the same address
without it and an HttpOnly, SameSite=Strict cookie, so the token leaves the address bar (and the history, and any
screenshot of it) and the page's images, ``EventSource`` and ``fetch`` calls carry the cookie instead. Scripts keep the
header.
"""

from __future__ import annotations

import hmac
import json
from http.cookies import SimpleCookie
from urllib.parse import parse_qs, urlencode

from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE = "edgekit_token"


class TokenAuth:
    """ASGI middleware: a request without the right token gets 401 and one JSON line, nothing else runs."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        if not token:
            raise ValueError("TokenAuth needs a non-empty token")
        self.app, self._token = app, token.encode()

    def _matches(self, given: bytes) -> bool:
        return bool(given) and hmac.compare_digest(given, self._token)

    def _ok(self, scope: Scope) -> bool:
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"")
        if auth[:7].lower() == b"bearer ":
            return self._matches(auth[7:].strip())
        morsel = SimpleCookie(headers.get(b"cookie", b"").decode("latin-1")).get(COOKIE)
        if morsel is not None and self._matches(morsel.value.encode()):
            return True
        return self._matches(self._query_token(scope))

    @staticmethod
    def _query_token(scope: Scope) -> bytes:
        qs = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        return (qs.get("token") or [""])[0].encode()

    async def _to_cookie(self, scope: Scope, send: Send) -> None:
        """The page opened with ``?token=``: the same address without it, and the token as a cookie."""
        qs = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        rest = urlencode([(k, v) for k, vs in qs.items() if k != "token" for v in vs])
        location = scope.get("path", "/") + (f"?{rest}" if rest else "")
        cookie = f"{COOKIE}={self._token.decode()}; HttpOnly; SameSite=Strict; Path=/"
        await send({"type": "http.response.start", "status": 303,
                    "headers": [(b"location", location.encode()), (b"set-cookie", cookie.encode()),
                                (b"cache-control", b"no-store")]})
        await send({"type": "http.response.body", "body": b""})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope.get("method") == "GET" and scope.get("path") == "/" and self._matches(self._query_token(scope)):
            await self._to_cookie(scope, send)
            return
        if self._ok(scope):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": "missing or wrong token: send Authorization: Bearer TOKEN or ?token=TOKEN"})
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]})
        await send({"type": "http.response.body", "body": body.encode()})
