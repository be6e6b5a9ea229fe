"""Every board profile gets the model it names: the hint `edgekit detect` prints is the command that makes it, and
after it `edgekit detect --profile P` — from another folder, and from `/` like a systemd service — runs the
profile's input size and precision with no model or input-size substitution (runtime substitutions on this
desktop, e.g. TensorRT → ONNX Runtime, stay listed). Real exports, real gate, real runtimes; slow (the TFLite
conversion dominates), so the exports are shared through one session cache and the Coral profiles share theirs.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import stat
from pathlib import Path

import pytest

from edgekit.device.cpu import cpu_features
from edgekit.device.profiles import load_profile
from tests.helpers import IMAGES, run_cli

BOARDS = ["rpi4", "jetson-nano", "jetson-orin-nano", "rpi5", "coral-usb", "coral-devboard"]
HINT = re.compile(r"`(edgekit [^`]+)`")


@pytest.fixture(scope="session")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for the session; ``EDGEKIT_TEST_PROFILE_CACHE`` keeps it between runs (its exports are then reused,
    as `edgekit export` reuses them, except coral-devboard's, whose compile step is checked)."""
    keep = os.environ.get("EDGEKIT_TEST_PROFILE_CACHE")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        return Path(keep)
    return tmp_path_factory.mktemp("profile-cache")


def _fake_compiler(folder: Path) -> tuple[Path, Path]:
    """A stand-in for Coral's edgetpu_compiler (not installable here): records what it was given, writes the
    output the real one writes, and prints its operation table."""
    calls = folder / "compiler-calls.txt"
    exe = folder / "edgetpu_compiler"
    exe.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {shlex.quote(str(calls))}\n'
        'out="$3"; src="$4"; name=$(basename "$src" .tflite)\n'
        'cp "$src" "$out/${name}_edgetpu.tflite"\n'
        'echo "Operator                       Count      Status"\n'
        'echo "CONV_2D                        64         Mapped to Edge TPU"\n'
        'echo "SOFTMAX                        1          Operation is otherwise supported, but not mapped"\n'
    )
    exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return exe, calls


def _plan(profile: str, cwd: Path, env: dict[str, str]) -> dict[str, object]:
    r = run_cli("detect", str(IMAGES / "bus.jpg"), "--profile", profile, "--json", cwd=cwd, env=env, timeout=600)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["frames"][0]["detections"], "the profile's model finds the people on bus.jpg"
    plan: dict[str, object] = out["plan"]
    return plan


@pytest.mark.slow
@pytest.mark.timeout(3600)  # a TFLite conversion took ~15 min on 2 loaded cores
@pytest.mark.parametrize("profile", BOARDS)
def test_profile_export_then_detect_runs_what_the_profile_names(
    cache: Path, tmp_path: Path, profile: str
) -> None:
    env = {"EDGEKIT_CACHE": str(cache)}
    if profile == "coral-devboard":
        exe, calls = _fake_compiler(tmp_path)
        env["EDGEKIT_EDGETPU_COMPILER"] = str(exe)
    else:
        env["EDGEKIT_EDGETPU_COMPILER"] = ""  # not installed here: the step says what to install
    prof = load_profile(profile)
    here, elsewhere = tmp_path / "here", tmp_path / "elsewhere"
    here.mkdir()
    elsewhere.mkdir()

    # Before: the plan says what it substituted, and each hint it prints is the command that makes the model.
    plan = _plan(profile, here, env)
    hints = {h for s in plan["substitutions"] for h in HINT.findall(str(s))}  # type: ignore[union-attr]
    exported = plan["imgsz"] == prof.runtime.imgsz and plan["precision"] == prof.runtime.precision
    assert hints == (set() if exported else {f"edgekit export --profile {profile}"}), plan
    again = ["--force"] if profile == "coral-devboard" else []  # the fake compiler must see this run's call
    r = run_cli(*shlex.split(f"edgekit export --profile {profile} --json")[1:], *again, cwd=here, env=env, timeout=3600)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["passed"] is True and rep["imgsz"] == prof.runtime.imgsz and rep["precision"] == prof.runtime.precision
    assert rep["artifact"].startswith(str(cache))
    assert rep["validation"]["images"] > 0 and rep["accuracy"]["per_class"]["Normal"]["boxes"] > 0
    assert set(rep["validation"]["real"]).isdisjoint((rep["calibration"] or {}).get("real", []))
    assert any("smoke test" in n for n in rep["notes"])
    if (prof.runtime.backend, prof.runtime.precision) == ("onnxruntime", "int8"):  # the board's CPU picks the width
        w = rep["int8_weights"]
        assert profile in w["cpu"]
        if not prof.board.dot_product:
            assert w["bits"] == 7
        elif cpu_features(Path("/proc/cpuinfo").read_text()).dot_product:  # this host can judge 8-bit weights
            assert w["bits"] == 8 and "dot product" in w["why"]
        else:  # the board could run 8-bit, but the gate runs here, without VNNI: 7-bit, and the reason says why
            assert w["bits"] == 7 and "the gate runs the model on" in w["why"]
    if prof.runtime.backend == "tensorrt":  # no TensorRT here: the gated ONNX stands in, and that is said
        assert rep["skipped"] and "TensorRT" in rep["skipped"][0] and "not built here" in r.stderr
    if prof.runtime.backend == "edgetpu":
        assert any(a["passed"] for a in rep["attempts"]) and rep["attempts"][0]["name"] == "tflite-int8-full"
        if profile == "coral-devboard":  # the compile step gets the attempt that passed the gate
            assert calls.read_text().split()[-1] == rep["artifact"].replace("_edgetpu.tflite", ".tflite")
            assert rep["extra"]["edgetpu"]["cpu_op_names"][0].startswith("SOFTMAX")
        else:
            assert "edgetpu_compiler" in rep["skipped"][0] and "apt-get install edgetpu-compiler" in r.stderr

    # After: from another folder, and from / like a systemd unit.
    for cwd in (elsewhere, Path("/")):
        plan = _plan(profile, cwd, env)
        assert (plan["imgsz"], plan["precision"]) == (prof.runtime.imgsz, prof.runtime.precision), plan
        assert str(plan["model"]).startswith(str(cache)), plan
        subs = " | ".join(map(str, plan["substitutions"]))  # type: ignore[call-overload]
        assert "model →" not in subs and "input " not in subs and "`edgekit" not in subs, subs
        if prof.runtime.backend != "onnxruntime":
            assert plan["backend"] in ("onnxruntime", "litert") and "→" in subs  # emulated runtime, said so
