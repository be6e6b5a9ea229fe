"""Run the dashboard app with uvicorn on its own thread, off the cameras' hot path.

The socket is bound here (not by uvicorn) so a busy port or a bad address is one :class:`EdgekitError` at
start-up. A non-loopback address without a token is refused: the page shows camera images.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import TYPE_CHECKING

from edgekit.config.dashboard import is_loopback
from edgekit.errors import EdgekitError, MissingDependencyError

if TYPE_CHECKING:
    from starlette.types import ASGIApp

log = logging.getLogger(__name__)


class DashboardServer:
    """Serves an ASGI app on ``host:port`` (port 0: a free one) until :meth:`stop`.

    Examples:
        >>> srv = DashboardServer(create_app(dash), port=0)  # doctest: +SKIP
        >>> srv.start(); srv.url                             # doctest: +SKIP
        'http://127.0.0.1:40117/'
    """

    def __init__(self, app: ASGIApp, host: str = "127.0.0.1", port: int = 8971, token: str | None = None) -> None:
        if not is_loopback(host) and not token:
            raise EdgekitError(f"dashboard.host {host} is reachable from other machines: set dashboard.token "
                               "(e.g. token: '{EDGEKIT_DASHBOARD_TOKEN}') or bind 127.0.0.1 and use an SSH tunnel")
        try:
            import uvicorn
        except ImportError as e:
            raise MissingDependencyError("uvicorn", "pip install 'edgekit[daemon]'") from e
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            self._sock.bind((host, port))
        except OSError as e:
            self._sock.close()
            raise EdgekitError(f"dashboard address {host}:{port} is not usable ({e.strerror}): "
                               "set dashboard.port") from None
        self._sock.listen(64)
        self.host, self.port, self.token = host, int(self._sock.getsockname()[1]), token
        config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                                timeout_graceful_shutdown=2)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        name="dashboard", daemon=True)

    @property
    def url(self) -> str:
        shown = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        shown = f"[{shown}]" if ":" in shown else shown
        return f"http://{shown}:{self.port}/"  # never the token: this line reaches the terminal and the journal

    @property
    def native_id(self) -> int | None:
        """The server thread's OS id (benchmarks read its CPU time from /proc)."""
        return self._thread.native_id

    def start(self, timeout: float = 15.0) -> None:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise EdgekitError("the dashboard server did not start (see the log above)")
            time.sleep(0.02)
        log.info("dashboard on %s", self.url)

    def stop(self, timeout: float = 5.0) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._sock.close()
