"""One SSH connection target: runs the board-side steps (``board.sh``) with OpenSSH's ``ssh`` client.

OpenSSH is used as is (the user's ``~/.ssh/config``, agent and known hosts apply); ``BatchMode`` makes a missing
or refused key fail at once instead of prompting. Errors of ssh itself (exit 255) become one line that says whether
the host was unreachable, refused the key or failed host-key verification.
"""

from __future__ import annotations

import re
import shlex
import subprocess
from dataclasses import dataclass, field
from importlib.resources import files
from urllib.parse import urlsplit

from edgekit.errors import EdgekitError

BOARD_SCRIPT = files("edgekit.deploy").joinpath("board.sh").read_text(encoding="utf-8")


class BoardError(EdgekitError):
    """A step failed on (or on the way to) a board; the message is one line naming the host and the step."""


@dataclass
class SSHTarget:
    """``ssh://user@host[:port]`` plus options for the ``ssh`` command."""

    user: str | None
    host: str
    port: int | None = None
    options: list[str] = field(default_factory=list)  # `-o Key=Value` pairs, -i FILE etc. as ssh arguments
    connect_timeout_s: int = 10

    @classmethod
    def parse(cls, url: str, options: list[str] | None = None) -> SSHTarget:
        parts = urlsplit(url if "://" in url else f"ssh://{url}")
        if parts.scheme != "ssh" or not parts.hostname:
            raise EdgekitError(f"target {url!r}: use ssh://user@host[:port]")
        try:
            port = parts.port
        except ValueError:
            raise EdgekitError(f"target {url!r}: the port is not a number") from None
        if parts.hostname.startswith("-") or (parts.username or "").startswith("-"):
            # ssh would read it as an option (-oProxyCommand=... runs a command here)
            raise EdgekitError(f"target {url!r}: a host or user may not start with '-'")
        return cls(user=parts.username, host=parts.hostname, port=port, options=list(options or []))

    @property
    def name(self) -> str:
        return f"{self.user + '@' if self.user else ''}{self.host}{':' + str(self.port) if self.port else ''}"

    def ssh_argv(self) -> list[str]:
        argv = ["ssh", "-o", "BatchMode=yes", "-o", f"ConnectTimeout={self.connect_timeout_s}",
                "-o", "ServerAliveInterval=15", "-o", "LogLevel=ERROR"]
        if self.port:
            argv += ["-p", str(self.port)]
        if self.user:
            argv += ["-l", self.user]
        # `--` ends ssh's options: the destination is never read as one (e.g. -oProxyCommand=...)
        return [*argv, *self.options, "--", self.host]

    def board(self, action: str, base: str, *args: str, stdin: bytes | None = None, timeout: float = 1800,
              check: bool = True) -> str:
        """Run ``board.sh ACTION BASE ARGS`` on the board; returns stdout; raises BoardError on failure."""
        remote = " ".join(shlex.quote(a) for a in ("sh", "-c", BOARD_SCRIPT, "edgekit-board", action, base, *args))
        try:
            res = subprocess.run([*self.ssh_argv(), remote], input=stdin if stdin is not None else b"",
                                 capture_output=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise BoardError(f"{self.name}: {action} did not finish in {timeout:.0f} s") from None
        out, err = res.stdout.decode(errors="replace"), res.stderr.decode(errors="replace")
        if res.returncode == 255:
            raise BoardError(f"{self.name}: {ssh_failure(err)}")
        if res.returncode != 0 and check:
            last = last_line(err)
            if last.startswith("board: "):  # board.sh's own message says what failed
                raise BoardError(f"{self.name}: {last.removeprefix('board: ')}")
            raise BoardError(f"{self.name}: {action} failed: {last or f'exit {res.returncode}'}")
        return out.strip()


def last_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    useful = [ln for ln in lines if not ln.startswith(("Traceback", "File "))]
    return (useful or lines or [""])[-1]


def ssh_failure(stderr: str) -> str:
    """ssh's own error (exit 255) as one line a user can act on."""
    s = stderr.strip()
    if re.search(r"Permission denied \(", s):
        return "the board refused the SSH key (Permission denied): add your public key to its ~/.ssh/authorized_keys"
    if "Host key verification failed" in s or "REMOTE HOST IDENTIFICATION HAS CHANGED" in s:
        return "host key verification failed: check the board's host key in ~/.ssh/known_hosts"
    if re.search(r"Connection refused|timed out|No route to host|Could not resolve|Network is unreachable"
                 r"|Connection closed|Connection reset", s):
        return f"unreachable over SSH ({last_line(s)})"
    return f"ssh failed: {last_line(s) or 'exit 255'}"
