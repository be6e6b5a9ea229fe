"""`edgekit bench --json --plot`: the JSON carries the device state and raw samples; the PNG draws them."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest

from edgekit.bench.plot import fps_over_time
from tests.helpers import run_cli


def test_bench_json_carries_device_state_and_plot_is_drawn(tmp_path: Path) -> None:
    png = tmp_path / "bench.png"
    r = run_cli("bench", "--runs", "4", "--warmup", "1", "--pipeline-frames", "4", "--json", "--plot", str(png))
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    state = res["device_state"]
    assert state["before"]["cores"] >= 1 and "vnni" in state["before"] and "load_avg" in state["after"]
    assert isinstance(state["busy"], bool)
    assert len(res["raw"]["samples_ms"]) == 4 and len(res["pipeline"]["frame_done_s"]) == 4
    assert set(res["detect"]["stage_samples_ms"]) == {"pre", "infer", "post"}
    img = cv2.imread(str(png))
    assert img is not None and img.shape[1] >= 1000 and img.std() > 10  # a drawn figure, not a blank canvas


def test_no_predict_skips_the_fp32_probe() -> None:
    """Under emulation (the arm64 test) the probe's ~4 GFLOP of FP32 convolutions would dominate the run."""
    r = run_cli("bench", "--runs", "1", "--warmup", "0", "--pipeline-frames", "0", "--no-predict", "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["prediction"] is None and len(res["raw"]["samples_ms"]) == 1


def test_plot_refuses_a_non_png_in_one_line(tmp_path: Path) -> None:
    r = run_cli("bench", "--runs", "1", "--pipeline-frames", "0", "--plot", str(tmp_path / "x.jpg"))
    assert r.returncode == 2 and "PNG" in r.stderr and "Traceback" not in r.stderr


def test_fps_over_time_counts_frames_in_the_window() -> None:
    t, fps = fps_over_time([0.05 * i for i in range(1, 61)])  # 20 FPS for 3 s
    assert t[0] >= 1.0 and all(abs(f - 20) < 1.01 for f in fps)


@pytest.mark.slow
def test_bench_llm_json_has_device_state_and_a_prediction_from_this_hosts_probes() -> None:
    """`edgekit bench llm` on the real SmolLM2: both variants measured, the machine state recorded, and the decode
    roofline computed from this host's probes next to what was measured."""
    pytest.importorskip("llama_cpp")
    r = run_cli("bench", "llm", "--runs", "1", "--prompt-tokens", "32", "--gen-tokens", "8", "--no-concurrent",
                "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert res["raw"]["gen_tps"] > 0 and res["assistant"]["gen_tps"] > 0
    assert "load_avg" in res["device_state"]["before"] and isinstance(res["device_state"]["busy"], bool)
    pred = res["prediction"]
    assert pred["probe"]["bandwidth_gbs"] > 0 and pred["probe"]["ms_per_mparam"] > 0
    # the probe was built from SmolLM2's own header: its layers and its 49 152-token vocabulary
    assert pred["shape"]["n_layer"] == 30 and pred["shape"]["n_vocab"] == 49152 and pred["probe"]["ms_per_layer"] > 0
    assert set(pred["terms_ms"]) == {"fixed", "compute", "memory"}
    assert pred["predicted_here_gen_tps"] > 0
    assert pred["measured_over_predicted_here"] == pytest.approx(
        res["assistant"]["gen_tps"] / pred["predicted_here_gen_tps"], abs=1e-3)
