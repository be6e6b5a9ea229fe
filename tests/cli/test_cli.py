"""The CLI as a user runs it: real subprocesses, real files. Bad input → one line, exit 2, no traceback."""

import json
import shutil

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from tests.helpers import DEFAULT_MODEL, IMAGES, run_cli


def _odd_model(path):
    """A valid ONNX file whose output is not a detection head."""
    x = helper.make_tensor_value_info("images", TensorProto.FLOAT, [1, 3, 64, 64])
    y = helper.make_tensor_value_info("pooled", TensorProto.FLOAT, [1, 3, 1, 1])
    graph = helper.make_graph(
        [helper.make_node("GlobalAveragePool", ["images"], ["pooled"])], "odd", [x], [y]
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), path)
    return path


def _truncated_model(path):
    path.write_bytes(DEFAULT_MODEL.read_bytes()[: 1 << 20])
    return path


def _bad_profile(path):
    path.write_text(
        (DEFAULT_MODEL.parents[1] / "devices" / "rpi5.yaml")
        .read_text()
        .replace("imgsz: 416", "imgsz: 416\n  turbo: true")
    )
    return path


CASES = [
    ("missing image", lambda t: ["detect", str(t / "nope.jpg")], "image not found"),
    (
        "corrupt model",
        lambda t: ["detect", str(IMAGES / "bus.jpg"), "--model", str(_truncated_model(t / "cut.onnx"))],
        "cannot load",
    ),
    (
        "unexpected outputs",
        lambda t: ["detect", str(IMAGES / "bus.jpg"), "--model", str(_odd_model(t / "odd.onnx"))],
        "output",
    ),
    (
        "unknown profile",
        lambda t: ["detect", str(IMAGES / "bus.jpg"), "--profile", "pi9"],
        "unknown device profile 'pi9'",
    ),
    (
        "invalid profile yaml",
        lambda t: ["detect", str(IMAGES / "bus.jpg"), "--profile", str(_bad_profile(t / "p.yaml"))],
        "runtime.turbo: unknown key",
    ),
    ("unreadable camera", lambda t: ["detect", "usb:7"], "cannot open camera usb:7"),
    ("unknown source kind", lambda t: ["detect", str(DEFAULT_MODEL)], "cannot tell what"),
    (
        "not an image",
        lambda t: ["detect", str(shutil.copy(DEFAULT_MODEL.parent / "yolov8s-fall.yaml", t / "x.jpg"))],
        "cannot decode image",
    ),
    ("unknown model", lambda t: ["bench", "--model", "yolo-nope"], "unknown model 'yolo-nope'"),
]


@pytest.mark.parametrize(("case", "argv", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_one_line_and_exit_2(tmp_path, case, argv, message):
    r = run_cli(*argv(tmp_path))
    assert r.returncode == 2, (case, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], r.stderr
    assert "Traceback" not in r.stderr + r.stdout


def test_debug_shows_the_traceback(tmp_path):
    r = run_cli("--debug", "detect", str(tmp_path / "nope.jpg"))
    assert r.returncode != 0 and "Traceback" in r.stderr and "SourceError" in r.stderr


def test_detect_json_on_a_photo(tmp_path):
    r = run_cli("detect", str(IMAGES / "zidane.jpg"), "--json", "--save", str(tmp_path / "z.jpg"))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    dets = out["frames"][0]["detections"]
    assert len(dets) == 2 and {d["label"] for d in dets} == {"Normal"}
    assert all(len(d["box"]) == 4 for d in dets) and out["plan"]["backend"] == "onnxruntime"
    import cv2

    saved = cv2.imread(str(tmp_path / "z.jpg"))
    assert saved.shape == (720, 1280, 3) and not np.array_equal(saved, cv2.imread(str(IMAGES / "zidane.jpg")))


def test_detect_with_an_emulated_profile_says_what_it_substituted():
    r = run_cli("detect", str(IMAGES / "bus.jpg"), "--profile", "jetson-nano", "--json")
    assert r.returncode == 0, r.stderr
    subs = json.loads(r.stdout)["plan"]["substitutions"]
    assert any("TensorRT" in s for s in subs) and any("input 320 → 640" in s for s in subs)


def test_detect_video_writes_an_annotated_video(tmp_path):
    from edgekit.sources import make_synthetic_video

    clip = make_synthetic_video(tmp_path / "walk.mp4", seconds=1.0, fps=5, seed=2)
    r = run_cli("detect", str(clip), "--save", str(tmp_path / "out.mp4"), "--json")
    assert r.returncode == 0, r.stderr
    frames = json.loads(r.stdout)["frames"]
    assert len(frames) == 5 and any(f["detections"] for f in frames)
    import cv2

    cap = cv2.VideoCapture(str(tmp_path / "out.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 5


def test_devices_and_doctor_json():
    r = run_cli("devices", "--json")
    assert r.returncode == 0 and len(json.loads(r.stdout)) == 7
    r = run_cli("devices", "show", "coral-usb", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["on_this_host"]["substitutions"]
    r = run_cli("doctor", "--json")
    doc = json.loads(r.stdout)
    assert r.returncode == 0 and doc["recommended_profile"] == "desktop" and doc["runtimes"]["onnxruntime"]


def test_bench_json_has_percentiles_stages_and_ratios():
    r = run_cli("bench", "--runs", "3", "--warmup", "1", "--pipeline-frames", "3", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    lat = res["detect"]["latency_ms"]
    assert lat["n"] == 3 and lat["p50"] <= lat["p99"]
    assert set(res["detect"]["stages_ms"]) == {"pre", "infer", "post"}
    assert res["pipeline"]["frames"] == 3 and res["ratios"]["pipeline/raw"] > 0 and res["peak_rss_mb"] > 0


def _board_root(tmp_path, model, tegra=None):
    (tmp_path / "proc" / "device-tree").mkdir(parents=True)
    (tmp_path / "proc" / "device-tree" / "model").write_bytes(model.encode() + b"\0")
    if tegra:
        (tmp_path / "etc").mkdir()
        (tmp_path / "etc" / "nv_tegra_release").write_text(tegra + "\n")
    return tmp_path


def test_doctor_on_a_runtime_only_board_refuses_in_one_line_naming_the_way(tmp_path):
    root = _board_root(tmp_path, "NVIDIA Jetson Nano Developer Kit", "# R32 (release), REVISION: 7.4")
    r = run_cli("doctor", env={"EDGEKIT_HOST_ROOT": str(root)})
    assert r.returncode == 2 and "recommended profile: jetson-nano" in r.stdout
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the jetson-nano profile is runtime-only")
    assert "edgekit export --profile jetson-nano" in lines[0] and "trtexec" in lines[0]


def test_setup_rpi_refuses_an_old_python_in_one_line(tmp_path):
    import os
    import subprocess

    from tests.helpers import REPO

    if os.geteuid() != 0:
        pytest.skip("the script checks for root before the Python")
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "python3").write_text("#!/bin/sh\necho 3.9\n")  # the board's Python: only its version is read
    (fake / "python3").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}:{os.environ['PATH']}"}
    r = subprocess.run(["bash", str(REPO / "scripts" / "setup_rpi.sh"), str(tmp_path / "d.yaml")],
                       capture_output=True, text=True, env=env, timeout=60)
    assert r.returncode == 2
    lines = [ln for ln in r.stderr.splitlines() if not ln.startswith("warning:")]
    assert len(lines) == 1 and lines[0].startswith("error: Python 3.9 cannot run edgekit (needs >= 3.10)"), r.stderr
    assert "Bookworm" in lines[0]
