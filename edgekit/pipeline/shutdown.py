"""Stop a long-running command within a bound: on SIGTERM/SIGINT or at the end of ``--duration``.

A Python signal handler runs only when the main thread gets back to the interpreter, which a long native call (an
ONNX Runtime session being created, a TensorRT engine being built, an inference on a slow board) can delay by
minutes. So the signal also wakes a watcher thread (``signal.set_wakeup_fd``): it sets the stop event at once and
arms a deadline. The command closes what it can in the time left (``StopGuard.left``); if the process is still
there when the deadline passes, it exits anyway (``os._exit``) — alerts are durable in the SQLite outbox and are
sent on the next start, so nothing is lost that a SIGKILL from systemd would not lose too.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any, NoReturn

log = logging.getLogger(__name__)

STOP_WITHIN_S = 2.0
"""What the daemon promises: SIGTERM, Ctrl-C or the end of ``--duration`` → the process is gone within this."""


class StopGuard:
    """The stop event of a command, set by SIGTERM/SIGINT or ``duration_s``, with a hard exit ``grace_s`` later.

    Use it as a context manager in the main thread::

        with StopGuard(duration_s=45) as guard:
            work(guard.stop)                  # returns once guard.stop is set
            close(timeout_s=guard.left())     # bounded clean-up
        if guard.stop.is_set():
            guard.exit_now()                  # no interpreter teardown: it can outlast the bound
    """

    def __init__(self, duration_s: float | None = None, grace_s: float = STOP_WITHIN_S - 0.5,
                 exit_code: int = 0) -> None:
        self.stop = threading.Event()
        self.duration_s, self.grace_s, self.exit_code = duration_s, grace_s, exit_code
        self.reason = ""
        self.requested_at: float | None = None
        self._lock = threading.Lock()
        self._saved: dict[int, Any] = {}
        self._old_fd: int | None = None
        self._write_fd: int | None = None
        self._timer: threading.Timer | None = None

    # -- requests ------------------------------------------------------------------------------------------------
    def request(self, reason: str) -> None:
        """Ask the command to stop (idempotent): sets ``stop`` and arms the hard deadline."""
        with self._lock:
            if self.requested_at is not None:
                return
            self.requested_at = time.monotonic()
            self.reason = reason
        log.info("stopping (%s)", reason)
        self.stop.set()
        threading.Thread(target=self._deadline, name="stop-deadline", daemon=True).start()

    def left(self, floor: float = 0.05) -> float:
        """Seconds left for a clean close before the hard exit (the whole grace when no stop was requested)."""
        if self.requested_at is None:
            return self.grace_s
        return max(floor, self.grace_s - (time.monotonic() - self.requested_at) - 0.2)

    def _deadline(self) -> None:
        time.sleep(self.grace_s)
        log.warning("still busy %.1f s after the stop (%s): exiting now; unsent alerts stay in the outbox for the "
                    "next start", self.grace_s, self.reason)
        self.exit_now()

    def exit_now(self) -> NoReturn:
        """End the process at once (after the command closed what it could). The interpreter's own teardown is
        skipped: with a native thread still inside an inference it takes seconds, or aborts in the runtime's
        destructors; what must persist (outbox, event store) is SQLite, committed as it goes."""
        for h in logging.getLogger().handlers:
            with contextlib.suppress(Exception):
                h.flush()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        os._exit(self.exit_code)

    # -- signals -------------------------------------------------------------------------------------------------
    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.request(signal.Signals(signum).name)

    def _watch(self, fd: int) -> None:
        """Wake on the byte the C-level handler writes for each signal, even while the main thread is busy."""
        try:
            while data := os.read(fd, 16):  # b"": the write end was closed by __exit__
                for signum in data:
                    if signum in (signal.SIGTERM, signal.SIGINT):
                        self.request(signal.Signals(signum).name)
        except OSError:
            pass
        finally:
            os.close(fd)

    def __enter__(self) -> StopGuard:
        if threading.current_thread() is threading.main_thread():  # signals can only be set up there
            for sig in (signal.SIGTERM, signal.SIGINT):
                self._saved[sig] = signal.signal(sig, self._on_signal)
            r, w = os.pipe()
            os.set_blocking(w, False)
            self._write_fd = w
            self._old_fd = signal.set_wakeup_fd(w, warn_on_full_buffer=False)
            threading.Thread(target=self._watch, args=(r,), name="stop-signals", daemon=True).start()
        if self.duration_s is not None:
            self._timer = threading.Timer(self.duration_s, self.request, args=(f"--duration {self.duration_s:g} s",))
            self._timer.daemon = True
            self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._write_fd is None:
            return
        signal.set_wakeup_fd(self._old_fd if self._old_fd is not None else -1)
        for sig, handler in self._saved.items():
            signal.signal(sig, handler)
        os.close(self._write_fd)  # the watcher reads b"", closes its end and ends
        self._write_fd = None
