"""The tuned plan travels in the bundle: `edgekit bundle` ships the plan for its profile and model with the model it
runs (exported and gated here), inside the signed manifest; on the board, `detect`, `run` and `devices show` take up
the running release's plan when it fits this CPU, and ignore one for another CPU with one line; a bad `--plan` is one
line and exit 2 with nothing written. Fast: the board's wheels are not resolved (no network), and the one export
(ONNX Runtime FP32 at 320) is made once per module into its cache."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from edgekit.config.daemon import parse_config
from edgekit.deploy import bundle as bundle_mod
from edgekit.deploy.bundle import BundleOptions, build_bundle, choose_plan, plan_line, signed_parts, verify_bundle
from edgekit.deploy.manifest import Manifest
from edgekit.deploy.signing import check_signature, key_id, operator_key, public_raw
from edgekit.device import tuned
from edgekit.device.cpu import host_cpu
from edgekit.device.modelcards import resolve_model
from edgekit.device.plan import source_sha256
from edgekit.device.profiles import load_profile
from edgekit.device.tuned import TunedPlan, lookup_plan, plan_path, save_plan
from tests.helpers import REPO, run_cli, tuned_plan

CONFIG = {"device": "porch", "profile": "desktop", "mqtt": None, "metrics": {"enabled": False},
          "cameras": {"c": {"source": "synthetic", "realtime": True}}}
IMAGE = sorted((REPO / "edgekit" / "assets" / "valdata").rglob("*.jpg"))[0]
BOARD_ARTIFACT = "/home/pi/.cache/edgekit/exports/0123456789abcdef/uncalibrated/yolov8s-fall-320_fp32.onnx"


def board_plan(**over: Any) -> TunedPlan:
    """A plan as `edgekit tune` writes it on this CPU at 320 (its artifact where the tuning machine kept it)."""
    return tuned_plan(**{"imgsz": 320, "artifact": BOARD_ARTIFACT, "fps": 4.0, **over})


def fake_wheel(folder: Path) -> Path:
    """An edgekit wheel with metadata only: the lock is not what these tests check (no wheel is resolved)."""
    whl = folder / "edgekit-0.1.0-py3-none-any.whl"
    with zipfile.ZipFile(whl, "w") as z:
        z.writestr("edgekit-0.1.0.dist-info/METADATA", "Metadata-Version: 2.1\nName: edgekit\nVersion: 0.1.0\n"
                   "Requires-Dist: numpy>=1.24\nRequires-Dist: openvino>=2024.0; extra == 'openvino-runtime'\n")
    return whl


@pytest.fixture(scope="module")
def where(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path]]:
    root = tmp_path_factory.mktemp("bundle-plan")
    w = {"root": root, "cache": root / "cache", "plans": root / "plans", "config": root / "porch.yaml"}
    w["config"].write_text(yaml.safe_dump(CONFIG))
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EDGEKIT_CACHE", str(w["cache"]))
        mp.setenv("EDGEKIT_PLANS", str(w["plans"]))
        mp.setattr(bundle_mod, "cached_download", lambda reqs, target, refresh=False: [])
        yield w


def bundle(w: dict[str, Path], out: str, **opts: Any) -> tuple[Path, Manifest]:
    path = w["root"] / out
    m = build_bundle(BundleOptions(config=w["config"], out=path, machine="x86_64", python="3.11", system_site=False,
                                   wheel=fake_wheel(w["root"]), key=operator_key(w["root"] / "signing.key")[0],
                                   **opts))
    return path, m


@pytest.fixture(scope="module")
def shipped(where: dict[str, Path]) -> tuple[Path, Manifest]:
    """A bundle of the store's plan (tuned on this CPU, e.g. on a board of this kind and copied back)."""
    save_plan(board_plan())
    return bundle(where, "porch.tar.gz")


def unpack(b: Path, dest: Path) -> Path:
    with tarfile.open(b) as t:
        t.extractall(dest, filter="data")
    return dest


def board_env(w: dict[str, Path], release: Path) -> dict[str, str]:
    """A board running ``release``: an empty plan store and an empty cache (what runs must come from the release)."""
    for name in ("board-plans", "board-cache", "board-state"):
        (w["root"] / name).mkdir(exist_ok=True)
    return {"EDGEKIT_RELEASE": str(release), "EDGEKIT_PLANS": str(w["root"] / "board-plans"),
            "EDGEKIT_CACHE": str(w["root"] / "board-cache"), "EDGEKIT_STATE": str(w["root"] / "board-state"),
            "PYTHONPATH": str(REPO)}


def test_the_bundle_carries_the_plan_and_its_model_signed(shipped: tuple[Path, Manifest]) -> None:
    b, m = shipped
    assert m.plan is not None and m.plan_note == ""
    assert m.plan.file == "plans/desktop--yolov8s-fall.json"
    assert m.plan.artifact.startswith("cache/exports/") and m.plan.artifact.endswith("/yolov8s-fall-320_fp32.onnx")
    assert {m.plan.file, m.plan.artifact, m.plan.artifact + ".report.json"} <= set(m.files)
    assert verify_bundle(b).plan == m.plan  # every file's sha256, the plan's and its model's among them
    key = operator_key(b.parent / "signing.key")[0]
    pub = public_raw(key)
    assert check_signature(b, *signed_parts(b), {key_id(pub): pub}) == key_id(pub)
    with tarfile.open(b) as t:
        f = t.extractfile(m.plan.file)
        assert f is not None
        plan = TunedPlan.model_validate_json(f.read())
    # the store's plan as tuned, its artifact now the release's copy (relative to the release)
    assert plan == board_plan(artifact=m.plan.artifact)
    assert plan_line(m) == (f"tuned plan: onnxruntime fp32 320, 1 threads, spinning off (4.00 FPS, 2.00× ONNX "
                            f"Runtime FP32); tuned on {host_cpu().name}; from {plan_path('desktop', 'yolov8s-fall')}")


def test_detect_run_and_devices_show_take_up_the_release_plan(shipped: tuple[Path, Manifest],
                                                               where: dict[str, Path]) -> None:
    b, m = shipped
    rel = unpack(b, where["root"] / "releases" / m.id)
    env = board_env(where, rel)
    plan_file = rel / "plans" / "desktop--yolov8s-fall.json"
    said = f"tuned plan {plan_file} (shipped in release {m.id}): onnxruntime fp32 320, 1 threads, spinning off"
    r = run_cli("detect", str(IMAGE), "--profile", "desktop", "--json", env=env, cwd=rel)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert m.plan is not None and out["model"] == str(rel / m.plan.artifact)  # the release's copy: the cache is empty
    assert out["plan"]["tuned"].startswith(said) and out["plan"]["imgsz"] == 320 and out["plan"]["spinning"] == "off"
    r = run_cli("devices", "show", "desktop", env=env, cwd=rel)
    assert r.returncode == 0, r.stderr
    assert f"  plan: {said} (4.00 FPS, 2.00× ONNX Runtime FP32)" in r.stdout.splitlines()
    p = subprocess.Popen([sys.executable, "-m", "edgekit.cli.main", "run", "--config", str(rel / "config.yaml"),
                          "--duration", "600", "--quiet"], cwd=rel, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                         text=True, env={**os.environ, **env})
    try:
        assert p.stderr is not None
        line = next((ln.strip() for ln in p.stderr if ln.startswith("camera c: ")), "")
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=120)
    assert line.startswith(f"camera c: {said}"), line


def test_a_release_plan_for_another_cpu_is_ignored_with_one_line(where: dict[str, Path]) -> None:
    """A plan tuned on another board (another CPU) ships, and this one runs the profile's defaults."""
    other = where["root"] / "other-cpu.json"
    other.write_text(board_plan(cpu="Cortex-A76", cpu_key="0" * 16).model_dump_json())
    b, m = bundle(where, "other-cpu.tar.gz", plan=other)
    assert m.plan is not None and m.plan.source == f"--plan {other}" and m.plan.cpu == "Cortex-A76"
    rel = unpack(b, where["root"] / "releases" / m.id)
    r = run_cli("detect", str(IMAGE), "--profile", "desktop", env=board_env(where, rel), cwd=rel)
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if "tuned plan" in ln]
    assert len(lines) == 1 and "ignored: it was tuned on another CPU (Cortex-A76" in lines[0], r.stderr


def test_an_openvino_plan_ships_its_ir_pair_and_the_runtime(where: dict[str, Path],
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A plan whose model is several files (an OpenVINO IR: .xml and .bin) ships them all, and the board's lock gets
    the runtime's extra. The export itself is stood in for (its own tests run it): only the shipping is checked."""
    card, path = resolve_model("yolov8s-fall")
    assert card is not None
    sha16 = source_sha256(card, path)[:16]
    ir = where["cache"] / "exports" / sha16 / "uncalibrated" / "yolov8s-fall-416_fp16.xml"
    ir.parent.mkdir(parents=True, exist_ok=True)
    ir.write_bytes(b"<net/>")
    ir.with_suffix(".bin").write_bytes(b"weights")
    monkeypatch.setattr(bundle_mod, "plan_artifact", lambda plan, profile, source: ir)
    asked: list[str] = []
    monkeypatch.setattr(bundle_mod, "cached_download", lambda reqs, target, refresh=False: asked.extend(reqs) or [])
    plan = where["root"] / "openvino.json"
    plan.write_text(board_plan(runtime="openvino", precision="fp16", imgsz=416).model_dump_json())
    _, m = bundle(where, "openvino.tar.gz", plan=plan)
    assert m.plan is not None and m.plan.artifact == f"cache/exports/{sha16}/uncalibrated/{ir.name}"
    assert {m.plan.artifact, m.plan.artifact.removesuffix(".xml") + ".bin"} <= set(m.files)
    assert "openvino>=2024.0" in asked, asked


@pytest.mark.parametrize(("case", "want"), [
    ("missing", "--plan {plan}: no such file"),
    ("damaged", "plan file {plan} cannot be read"),
    ("profile", "--plan {plan}: it is a plan for profile rpi5, not desktop"),
    ("model", "--plan {plan}: it was tuned for another yolov8s-fall (sha256 ffffffffffff…"),
    ("both", "--plan and --no-plan: pass one of them"),
])
def test_a_bad_plan_is_one_line_and_nothing_is_written(tmp_path: Path, case: str, want: str) -> None:
    plan = tmp_path / "plan.json"
    if case == "damaged":
        plan.write_text('{"profile": "desktop"')
    elif case in ("profile", "model", "both"):
        over = {"profile": "rpi5"} if case == "profile" else {"model_sha256": "f" * 64} if case == "model" else {}
        plan.write_text(board_plan(**over).model_dump_json())
    cfg = tmp_path / "porch.yaml"
    cfg.write_text(yaml.safe_dump(CONFIG))
    out = tmp_path / "out.tar.gz"
    r = run_cli("bundle", "--config", str(cfg), "--plan", str(plan), *(["--no-plan"] if case == "both" else []),
                "-o", str(out), env={"EDGEKIT_CONFIG": str(tmp_path / "conf"), "EDGEKIT_CACHE": str(tmp_path / "cache"),
                                     "PYTHONPATH": str(REPO)})
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: " + want.format(plan=plan)), r.stderr
    assert not out.exists() and not list(tmp_path.glob("out.tar.gz*"))
    assert not (tmp_path / "conf" / "signing").exists()  # not even the signing key


def test_the_store_plan_is_left_out_with_its_reason(where: dict[str, Path]) -> None:
    parsed = parse_config(yaml.safe_dump(CONFIG))
    rpi5, desktop = load_profile("rpi5"), load_profile("desktop")
    none = choose_plan(parsed, rpi5)
    assert none.plan is None and none.why_none.startswith("none tuned for rpi5 and yolov8s-fall (`edgekit tune")
    assert choose_plan(parsed, desktop, no_plan=True).why_none == "--no-plan"
    mine = parse_config("model: models/mine.onnx\ncameras: {a: {source: synthetic}}\n")
    assert "tune plans model cards" in choose_plan(mine, desktop).why_none
    stale = plan_path("rpi5", "yolov8s-fall")
    stale.parent.mkdir(parents=True, exist_ok=True)
    stale.write_text(board_plan(profile="rpi5", model_sha256="f" * 64).model_dump_json())
    try:
        left = choose_plan(parsed, rpi5)
    finally:
        stale.unlink()
    assert left.plan is None and left.why_none.startswith(f"{stale} left out: it was tuned for another yolov8s-fall")


def test_release_lookup_comes_after_the_store_and_checks_the_runtime(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    card, path = resolve_model("yolov8s-fall")
    assert card is not None
    sha = source_sha256(card, path)
    rel = tmp_path / "releases" / "20260101T000000Z-abcdef12"
    (rel / "plans").mkdir(parents=True)
    (rel / "model.onnx").write_bytes(b"onnx")
    (rel / "plans" / "desktop--yolov8s-fall.json").write_text(board_plan(artifact="model.onnx").model_dump_json())
    monkeypatch.setenv("EDGEKIT_PLANS", str(tmp_path / "store"))
    monkeypatch.setenv("EDGEKIT_RELEASE", str(rel))
    found = lookup_plan("desktop", "yolov8s-fall", sha, {"onnxruntime": True})
    assert found.plan is not None and found.plan.artifact == str(rel / "model.onnx")
    assert found.source == "shipped in release 20260101T000000Z-abcdef12"
    none = lookup_plan("desktop", "yolov8s-fall", sha, {})  # ONNX Runtime not installed: ignored, one line
    assert none.plan is None and none.ignored is not None and "\n" not in none.ignored
    assert none.ignored.endswith("ignored: its runtime onnxruntime is not installed here")
    save_plan(board_plan(threads=2, artifact=str(path), cpu_key="0" * 16))  # the user's own, for another CPU
    rels = lookup_plan("desktop", "yolov8s-fall", sha, {"onnxruntime": True})
    assert rels.plan is not None and rels.plan.threads == 1 and rels.source.startswith("shipped in release")
    assert rels.ignored is not None and "ignored: it was tuned on another CPU" in rels.ignored  # and it says so
    save_plan(board_plan(threads=2, artifact=str(path)))  # the user's own plan wins
    mine = lookup_plan("desktop", "yolov8s-fall", sha, {"onnxruntime": True})
    assert mine.plan is not None and mine.plan.threads == 2 and mine.source == "" and mine.ignored is None


def test_a_board_finds_its_release_from_the_venv_it_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The unit and board.sh run ``releases/<id>/venv/bin/edgekit``: the release is the venv's folder."""
    monkeypatch.delenv("EDGEKIT_RELEASE", raising=False)
    rel = tmp_path / "releases" / "r1"
    (rel / "venv").mkdir(parents=True)
    monkeypatch.setattr(sys, "prefix", str(rel / "venv"))
    monkeypatch.setattr(sys, "base_prefix", "/usr")
    assert tuned.release_dir() is None  # no manifest: not a release
    (rel / "manifest.json").write_text("{}")
    assert tuned.release_dir() == rel
    monkeypatch.setattr(sys, "base_prefix", str(rel / "venv"))  # not a venv at all
    assert tuned.release_dir() is None
