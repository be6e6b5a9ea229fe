"""Which trials `edgekit tune` measures for a profile (quick, full, --runtime) and the line for what it cannot run."""

from __future__ import annotations

from dataclasses import replace

from edgekit.bench.tune_measure import pipeline_fps
from edgekit.bench.tune_trials import Trial, expand, unavailable
from edgekit.device.host import probe_host
from edgekit.device.profiles import load_profile


def test_quick_is_the_profiles_list_in_order_baseline_first() -> None:
    trials = expand(load_profile("desktop"), "quick", cores=2)
    assert trials[0] == Trial("onnxruntime", "fp32", 640, 2, True)
    assert [t.label for t in trials[1:4]] == ["onnxruntime int8 640 ×2", "openvino fp32 640 ×2",
                                              "openvino fp16 640 ×2"]
    assert all(t.imgsz == 640 and t.threads == 2 for t in trials)  # full_only sizes stay out of a quick run
    assert Trial("onnxruntime", "fp32", 640, 2, False) in trials


def test_full_adds_threads_spinning_and_the_full_only_candidates() -> None:
    quick, full = (expand(load_profile("desktop"), m, cores=4) for m in ("quick", "full"))
    assert set(quick) < set(full)
    assert {t.threads for t in full} == {4, 3}
    assert Trial("onnxruntime", "int8", 640, 3, False) in full and Trial("openvino", "fp32", 480, 4, True) in full
    assert not any(t.runtime == "openvino" and not t.spinning for t in full)  # spinning is ONNX Runtime's switch
    assert len(full) == len(set(full))


def test_runtime_filter_keeps_the_baseline() -> None:
    trials = expand(load_profile("desktop"), "quick", cores=2, runtimes=("openvino",))
    assert trials[0].runtime == "onnxruntime" and {t.runtime for t in trials[1:]} == {"openvino"}


def test_what_this_host_cannot_run_is_one_line() -> None:
    host = probe_host()
    without_ncnn = replace(host, runtimes={k: v for k, v in host.runtimes.items() if k != "ncnn"})
    assert unavailable(Trial("ncnn", "fp32", 640, 2, True), without_ncnn) == "not installed: pip install 'edgekit[ncnn]'"
    assert unavailable(Trial("tensorrt", "fp16", 640, 2, True), replace(host, runtimes={})) == (
        "not available here: TensorRT runs on the board's GPU (Jetson)")
    assert unavailable(Trial("onnxruntime", "fp32", 640, 2, True), host) is None
    assert "no bf16 export for ONNX Runtime" in (unavailable(Trial("onnxruntime", "bf16", 640, 2, True), host) or "")


def test_pipeline_fps_counts_frames_after_the_warmup() -> None:
    assert pipeline_fps([0.0, 10.0, 10.5, 11.0, 11.5], warmup=1) == 2.0


def test_imgsz_puts_every_trial_at_that_size() -> None:
    trials = expand(load_profile("rpi5"), "quick", cores=4, runtimes=("openvino", "ncnn"), imgsz=160)
    assert [t.label for t in trials] == ["onnxruntime fp32 160 ×4", "openvino fp32 160 ×4", "openvino int8 160 ×4",
                                         "ncnn fp32 160 ×4"]


def test_streams_are_a_trial_of_their_own_and_openvinos_only() -> None:
    trials = expand(load_profile("desktop"), "quick", cores=2)
    assert Trial("openvino", "int8", 640, 2, True, streams=2) in trials
    assert Trial("openvino", "int8", 640, 2, True) in trials  # one at a time stays a trial beside it
    # never more streams than threads: on one core the two-stream candidate is one stream
    assert all(t.streams == 1 for t in expand(load_profile("desktop"), "quick", cores=1))
    host = probe_host()
    assert "OpenVINO's only" in (unavailable(Trial("onnxruntime", "int8", 640, 2, True, streams=2), host) or "")
