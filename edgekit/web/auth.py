"""Token check for a dashboard bound beyond loopback: ``Authorization: Bearer TOKEN`` or ``?token=TOKEN``.

The query form exists because an ``<img>`` (the MJPEG stream) and ``EventSource`` cannot send headers.
"""

from __future__ import annotations

import hmac
import json
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Receive, Scope, Send


class TokenAuth:
    """ASGI middleware: a request without the right token gets 401 and one JSON line, nothing else runs."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        if not token:
            raise ValueError("TokenAuth needs a non-empty token")
        self.app, self._token = app, token.encode()

    def _ok(self, scope: Scope) -> bool:
        headers = dict(scope.get("headers") or [])
        auth = headers.get(b"authorization", b"")
        given = auth[7:].strip() if auth[:7].lower() == b"bearer " else b""
        if not given:
            qs = parse_qs(scope.get("query_string", b"").decode("latin-1"))
            given = (qs.get("token") or [""])[0].encode()
        return bool(given) and hmac.compare_digest(given, self._token)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self._ok(scope):
            await self.app(scope, receive, send)
            return
        body = json.dumps({"error": "missing or wrong token: send Authorization: Bearer TOKEN or ?token=TOKEN"})
        await send({"type": "http.response.start", "status": 401,
                    "headers": [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]})
        await send({"type": "http.response.body", "body": body.encode()})
