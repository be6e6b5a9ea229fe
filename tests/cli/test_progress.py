"""Progress on long commands: Rich progress on stderr when it is a terminal (a real pseudo-terminal from the pty
module), nothing off a terminal, and ``--json`` output that stays pure JSON on stdout."""

from __future__ import annotations

import io
import json
import os
import pty
import subprocess
import sys
import threading
from pathlib import Path

from rich.console import Console

from edgekit.cli._progress import progress
from tests.helpers import DEFAULT_MODEL, REPO


def run_on_pty(*args: str, timeout: float = 600) -> tuple[int, str, str]:
    """``edgekit ARGS`` with stderr on a pseudo-terminal and stdout on a pipe: (exit code, stdout, the terminal's
    text)."""
    master, slave = pty.openpty()
    env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "120"}
    env.pop("NO_COLOR", None)
    proc = subprocess.Popen([sys.executable, "-m", "edgekit.cli.main", *args], cwd=REPO, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the last writer closed the terminal
                return
            if not data:
                return
            chunks.append(data)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    out, _ = proc.communicate(timeout=timeout)
    reader.join(30)
    os.close(master)
    return proc.returncode, out.decode(), b"".join(chunks).decode("utf-8", "replace")


def export_args(out: Path, *extra: str) -> list[str]:
    return ["export", str(DEFAULT_MODEL), "--to", "onnx", "--precision", "fp32", "--imgsz", "160", "--out", str(out),
            *extra]


def test_export_on_a_terminal_shows_its_legs(tmp_path: Path) -> None:
    rc, out, tty = run_on_pty(*export_args(tmp_path))
    assert rc == 0, tty
    assert "convert: ONNX fp32" in tty and "build onnx fp32" in tty  # the progress, on the terminal
    assert "1/1" in tty
    assert "convert:" not in out and out.startswith("onnx fp32: not gated")  # stdout keeps its one summary line


def test_export_json_is_pure_json_and_quiet(tmp_path: Path) -> None:
    rc, out, tty = run_on_pty(*export_args(tmp_path, "--json"))
    assert rc == 0, tty
    report = json.loads(out)
    assert report["target"] == "onnx" and report["precision"] == "fp32"
    assert "convert:" not in tty and "build onnx" not in tty


def test_the_helper_draws_only_on_a_terminal() -> None:
    for terminal in (True, False):
        buf = io.StringIO()
        console = Console(file=buf, force_terminal=terminal, width=100)
        with progress(console=console) as step:
            step("build the edgekit wheel")
            step("board wheels for manylinux2014_aarch64 cp311")
            step("copy files", 2, 4)
            step("copy files", 4, 4)
        text = buf.getvalue()
        if terminal:
            assert "build the edgekit wheel" in text and "board wheels" in text and "4/4" in text
        else:
            assert text == ""
    buf = io.StringIO()
    with progress(enabled=False, console=Console(file=buf, force_terminal=True)) as step:  # --json
        step("resolve")
    assert buf.getvalue() == ""
