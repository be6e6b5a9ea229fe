"""A ``.pt`` is a pickle and can run code when loaded (issue 24): edgekit warns before reading one, and refuses a
checkpoint that asks for anything but model classes before Ultralytics unpickles it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edgekit.errors import EdgekitError
from tests.helpers import run_cli


def test_a_pt_file_is_announced_as_code_before_it_is_read(tmp_path: Path) -> None:
    pt = tmp_path / "best.pt"
    pt.write_bytes(b"not a checkpoint")
    r = run_cli("export", str(pt), "--to", "onnx", "--out", str(tmp_path / "out"), timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    lines = [ln for ln in r.stderr.splitlines() if ln.strip()]
    warning = next(i for i, ln in enumerate(lines) if "WARNING" in ln)
    assert "can run code" in lines[warning] and "trust" in lines[warning]
    # then one line: ultralytics missing (this venv), or the file refused (where ultralytics and torch are)
    assert len(lines) == warning + 2 and lines[-1].startswith("error: ")


def test_a_checkpoint_that_asks_for_code_is_refused_before_it_runs(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch", reason="needs torch (not an edgekit dependency)")
    from edgekit.export.pt_screen import screen_checkpoint

    marker = tmp_path / "ran"

    class Payload:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (os.system, (f"touch {marker}",))

    evil = tmp_path / "evil.pt"
    torch.save({"model": Payload()}, evil)
    with pytest.raises(EdgekitError, match=r"asks to load posix\.system"):
        screen_checkpoint(evil)
    assert not marker.exists()
    good = tmp_path / "good.pt"
    torch.save({"model": torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.SiLU()).half()}, good)
    screen_checkpoint(good)
