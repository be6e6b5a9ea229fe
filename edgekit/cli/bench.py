"""``edgekit bench``: latency percentiles and FPS for a model, split by stage, and for a video pipeline."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import cv2
import typer

from edgekit.bench.measure import RssSampler, bench_detect, bench_pipeline, bench_raw
from edgekit.bench.report import model_bench_markdown
from edgekit.cli._common import console, print_json, write_json
from edgekit.device.host import probe_host
from edgekit.device.state import DeviceState, bracket
from edgekit.errors import EdgekitError
from edgekit.sources import make_synthetic_video
from edgekit.sources.files import read_image
from edgekit.sources.synthetic import SyntheticScene
from edgekit.vision.detector import Detector

bench_app = typer.Typer(help="Benchmark models, pipelines and the assistant.", invoke_without_command=True)


@bench_app.callback()
def bench(
    ctx: typer.Context,
    model: str | None = typer.Option(
        None, "--model", "-m", help="Model card name, card YAML or model file (default: the profile's model)."
    ),
    profile: str = typer.Option("desktop", "--profile", "-p", help="Device profile name or YAML."),
    runs: int = typer.Option(50, min=1, help="Timed runs."),
    warmup: int = typer.Option(5, min=0, help="Warm-up runs, excluded from the statistics."),
    image: Path | None = typer.Option(
        None, help="Image to time on (default: a synthetic frame with people)."
    ),
    video: Path | None = typer.Option(
        None, help="Video for the pipeline run (default: a synthetic 720p clip)."
    ),
    pipeline_frames: int = typer.Option(
        60, "--pipeline-frames", min=0, help="Frames of the pipeline run (0: skip)."
    ),
    out: Path | None = typer.Option(None, "--out", help="Also write the JSON result to this file."),
    plot: Path | None = typer.Option(
        None, "--plot", help="Also draw latency CDFs, FPS over time and the side-by-side FPS into this PNG."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON instead of a table."),
    predict: bool = typer.Option(
        True, "--predict/--no-predict",
        help="Predict the latency from an FP32 convolution probe (~4 GFLOP per run; skip it under emulation).",
    ),
) -> None:
    """Time a detection model: raw backend, per-frame detect (pre/infer/post) and a decode → detect pipeline."""
    if ctx.invoked_subcommand:
        return
    if plot is not None and plot.suffix.lower() != ".png":
        raise EdgekitError(f"--plot writes a PNG: give a file name ending in .png, not {plot}")
    state_before = DeviceState.capture()
    rss = RssSampler()
    det = Detector.load(model, profile)
    img = read_image(image) if image else SyntheticScene.random(0).render(1.0)[0]
    result: dict[str, Any] = {
        "model": str(det.plan.model_path) if det.plan else str(model),
        "host": probe_host().to_dict(),
        "plan": det.plan.to_dict() if det.plan else {},
        "input": list(det.input_hw),
        "image_shape": list(img.shape),
        "runs": runs,
        "warmup": warmup,
        "raw": bench_raw(det, img, warmup, runs),
        "detect": bench_detect(det, img, warmup, runs),
    }
    if pipeline_frames:
        with tempfile.TemporaryDirectory() as tmp:
            clip = video or make_synthetic_video(
                Path(tmp) / "bench.mp4", seconds=(pipeline_frames + warmup) / 15
            )
            if not cv2.VideoCapture(str(clip)).isOpened():
                raise EdgekitError(f"cannot open video {clip}")
            result["pipeline"] = bench_pipeline(det, clip, warmup, pipeline_frames + warmup)
        result["ratios"] = {
            "pipeline/raw": round(result["pipeline"]["fps"] / result["raw"]["fps"], 3),
            "detect/raw": round(result["detect"]["fps"] / result["raw"]["fps"], 3),
        }
    result["prediction"] = _predict(det, result["raw"]["latency_ms"]["p50"]) if predict else None
    result["peak_rss_mb"] = rss.peak_mb()
    det.close()
    result["device_state"] = bracket(state_before, DeviceState.capture())
    if out:
        write_json(out, result)
    if plot is not None:
        from edgekit.bench.plot import plot_bench

        plot_bench(result, plot)
    if json_out:
        print_json(result)
    else:
        console.print(model_bench_markdown(result))


def _predict(det: Detector, measured_ms: float) -> dict[str, Any] | None:
    """Predicted raw latency (FLOPs over the conv probe's rate, same threads) beside the measured one."""
    path = det.plan.model_path if det.plan else None
    if path is None or path.suffix != ".onnx" or det.plan is None or det.plan.backend != "onnxruntime":
        return None
    from edgekit.bench.roofline import conv_probe_gflops, model_gflops, predict_detector_ms

    try:
        gflops = model_gflops(path)
    except EdgekitError as e:  # e.g. a dynamic-shape model: say why there is no prediction
        return {"error": str(e)}
    rate = conv_probe_gflops(det.plan.options.threads or 1)
    predicted = predict_detector_ms(gflops, rate)
    return {"model_gflops": gflops, "probe_gflops_per_s": rate, "predicted_ms": predicted,
            "measured_p50_ms": measured_ms, "measured/predicted": round(measured_ms / predicted, 3)}


def register(app: typer.Typer) -> None:
    try:  # the assistant adds `bench llm` when its module is installed
        from edgekit.cli.ask import register_bench
    except ImportError:
        pass
    else:
        register_bench(bench_app)
    app.add_typer(bench_app, name="bench")
