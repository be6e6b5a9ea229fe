"""`edgekit tune` on a tiny quick run (ONNX Runtime FP32 at 320 twice, spinning on and off, and an Edge TPU candidate
this host lacks), the plan it writes taken up by `detect` and `run`, and the bad inputs: a runtime not installed,
a foreign plan, and SIGTERM mid-run (the previous plan stays as it was)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO, run_cli

TINY = {"runtime": {"imgsz": 320}, "candidates": [
    {"runtime": "onnxruntime", "precision": "fp32", "spinning": False},
    {"runtime": "edgetpu", "precision": "int8"},  # never here: no Coral on a CI machine
]}


def _start(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "edgekit.cli.main", *args], cwd=REPO, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **env})


def _line_with(p: subprocess.Popen[str], text: str) -> str:
    """The first stderr line of ``p`` holding ``text`` (read as it comes; the process's end fails the test)."""
    assert p.stderr is not None
    seen = []
    for line in p.stderr:
        if text in line:
            return line.strip()
        seen.append(line)
    raise AssertionError(f"{text!r} never came; stderr: {''.join(seen)}")


@pytest.fixture(scope="module")
def where(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tune")
    prof = yaml.safe_load((REPO / "devices" / "desktop.yaml").read_text())
    prof.update(name="tiny", candidates=TINY["candidates"])
    prof["runtime"].update(TINY["runtime"])
    (root / "tiny.yaml").write_text(yaml.safe_dump(prof))
    return {"root": root, "profile": root / "tiny.yaml", "plans": root / "plans", "cache": root / "cache"}


def _env(w: dict[str, Path]) -> dict[str, str]:
    return {"EDGEKIT_PLANS": str(w["plans"]), "EDGEKIT_CACHE": str(w["cache"]), "PYTHONPATH": str(REPO)}


@pytest.fixture(scope="module")
def tuned(where: dict[str, Path]) -> dict[str, object]:
    r = run_cli("tune", "--profile", str(where["profile"]), "--frames", "6", "--json",
                "--plot", str(where["root"] / "tune.png"), env=_env(where))
    assert r.returncode == 0, r.stderr
    data: dict[str, object] = json.loads(r.stdout)
    return data


def test_quick_run_measures_skips_and_writes_the_winner(tuned: dict[str, object], where: dict[str, Path]) -> None:
    rows = tuned["rows"]
    assert isinstance(rows, list)
    assert [(r["runtime"], r["spinning"], r["status"]) for r in rows] == [
        ("onnxruntime", True, "measured"), ("onnxruntime", False, "measured"), ("edgetpu", True, "skipped")]
    assert rows[0]["x_fp32"] == 1.0 and rows[0]["map50_95"] > 0 and rows[0]["pipeline"]["frames"] >= 5
    assert rows[0]["map_drop"] == rows[1]["map_drop"] == 0.0  # the same FP32 export, reused from the cache
    assert len(rows[0]["block_fps"]) == len(rows[1]["block_fps"]) == 2  # two interleaved rounds (quick)
    assert rows[2]["why"] == "not available here: Edge TPU needs a Coral Edge TPU and libedgetpu"
    plan = json.loads((where["plans"] / "tiny--yolov8s-fall.json").read_text())
    winner = max(rows[:2], key=lambda r: r["x_fp32"])
    assert (plan["spinning"], plan["imgsz"], plan["fps"]) == (winner["spinning"], 320, winner["fps"])
    assert tuned["plan_file"] == str(where["plans"] / "tiny--yolov8s-fall.json")
    assert (where["root"] / "tune.png").stat().st_size > 1000


def test_detect_and_run_say_they_use_the_plan(tuned: dict[str, object], where: dict[str, Path]) -> None:
    image = REPO / "edgekit" / "assets" / "valdata"
    first = sorted(p for p in image.rglob("*.jpg"))[0]
    r = run_cli("detect", str(first), "--profile", str(where["profile"]), env=_env(where))
    assert r.returncode == 0, r.stderr
    assert f"plan: tuned plan {where['plans'] / 'tiny--yolov8s-fall.json'}: onnxruntime fp32 320" in r.stderr
    cfg = where["root"] / "run.yaml"
    cfg.write_text(yaml.safe_dump({"profile": str(where["profile"]), "state_dir": str(where["root"] / "state"),
                                   "mqtt": None, "metrics": {"enabled": False},
                                   "cameras": {"c": {"source": "synthetic", "realtime": True}}}))
    p = _start("run", "--config", str(cfg), "--duration", "600", "--quiet", env=_env(where))
    line = _line_with(p, "camera c: ")
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=120)
    assert line.startswith("camera c: tuned plan "), line


def test_a_runtime_not_installed_is_one_line(where: dict[str, Path]) -> None:
    r = run_cli("tune", "--profile", str(where["profile"]), "--runtime", "edgetpu", env=_env(where))
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "error: --runtime edgetpu: not available here: Edge TPU needs a Coral Edge TPU and libedgetpu"]


def test_an_input_size_the_head_cannot_take_is_one_line(where: dict[str, Path]) -> None:
    r = run_cli("tune", "--profile", str(where["profile"]), "--imgsz", "100", env=_env(where))
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == [
        "error: --imgsz 100: the input size must be a multiple of 32 between 160 and 1280"]


def test_a_foreign_plan_is_ignored_with_one_line(tuned: dict[str, object], where: dict[str, Path]) -> None:
    other = where["root"] / "other-plans"
    other.mkdir()
    plan = json.loads((where["plans"] / "tiny--yolov8s-fall.json").read_text())
    (other / "tiny--yolov8s-fall.json").write_text(json.dumps({**plan, "cpu_key": "0" * 16, "cpu": "Intel Xeon"}))
    image = sorted((REPO / "edgekit" / "assets" / "valdata").rglob("*.jpg"))[0]
    r = run_cli("detect", str(image), "--profile", str(where["profile"]),
                env={**_env(where), "EDGEKIT_PLANS": str(other)})
    assert r.returncode == 0, r.stderr
    said = [ln for ln in r.stderr.splitlines() if "ignored" in ln]
    assert len(said) == 1 and "it was tuned on another CPU (Intel Xeon" in said[0], r.stderr


def test_sigterm_mid_run_keeps_the_previous_plan(tuned: dict[str, object], where: dict[str, Path]) -> None:
    plan = where["plans"] / "tiny--yolov8s-fall.json"
    before = plan.read_bytes()
    p = _start("tune", "--profile", str(where["profile"]), "--frames", "400", "--rounds", "1", env=_env(where))
    _line_with(p, "round 1: measure")  # the exports are cached: it is measuring
    p.send_signal(signal.SIGTERM)
    rc = p.wait(timeout=120)
    assert p.stderr is not None
    err = p.stderr.read().strip().splitlines()
    assert rc == 2, err
    assert err == [f"error: tune interrupted by SIGTERM: the previous plan {plan} stays in force"]
    assert plan.read_bytes() == before
    assert [f.name for f in where["plans"].iterdir()] == [plan.name]  # no temporary file either
