"""``edgekit detect``: run the detector on an image, folder, video, camera or synthetic scene."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import cv2
import typer
from rich.table import Table

from edgekit.cli._common import console, err_console, print_json
from edgekit.errors import EdgekitError
from edgekit.pipeline.stream import detect_stream
from edgekit.sources import SyntheticSource, open_source
from edgekit.timing import percentiles
from edgekit.vision.detector import Detector
from edgekit.vision.draw import draw


def detect(
    source: str = typer.Argument(
        "synthetic", help="IMAGE, VIDEO, FOLDER, usb:N, rtsp://…, csi://N, picamera2:N or synthetic[:SEED]."
    ),
    model: str | None = typer.Option(
        None, "--model", "-m", help="Model card name, card YAML or model file (default: the profile's model)."
    ),
    profile: str = typer.Option("desktop", "--profile", "-p", help="Device profile name or YAML."),
    conf: float | None = typer.Option(None, help="Score threshold (default: the profile's)."),
    iou: float | None = typer.Option(None, help="NMS IoU threshold (default: the profile's)."),
    save: Path | None = typer.Option(
        None, "--save", help="Write an annotated image (.jpg/.png) or video (.mp4)."
    ),
    max_frames: int | None = typer.Option(
        None, "--max-frames", help="Stop after N frames (streams, cameras)."
    ),
    json_out: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Detect objects and print label, score and box (original-frame pixels) for each."""
    det = Detector.load(model, profile, conf=conf, iou=iou)
    src = open_source(source)
    if isinstance(src, SyntheticSource) and max_frames is None:
        max_frames = round(src.scene.duration * src.fps)
    if save is not None and save.suffix.lower() not in (".jpg", ".jpeg", ".png", ".mp4", ".avi"):
        raise EdgekitError(f"--save takes a .jpg/.png image or .mp4/.avi video path, got {save}")
    plan = det.plan.to_dict() if det.plan else {}
    if not json_out:
        for s in plan.get("substitutions", []):
            err_console.print(f"[yellow]substituted[/]: {s}")
        if plan.get("tuned"):
            err_console.print(f"plan: {plan['tuned']}", markup=False)
    frames: list[dict[str, Any]] = []
    writer: cv2.VideoWriter | None = None
    t0 = time.perf_counter()
    try:
        for frame, dets in detect_stream(det, src, max_frames):
            recs = dets.to_records(det.labels)
            frames.append({"source": frame.source_id, "seq": frame.seq, "detections": recs})
            if not json_out:
                _print_frame(frame.source_id, frame.seq, recs)
            if save is not None:
                writer = _save(
                    save, draw(frame.image, dets, det.labels), writer, src.fps or 15.0, len(frames)
                )
    finally:
        if writer is not None:
            writer.release()
        det.close()
    elapsed = time.perf_counter() - t0
    timings = det.timer.summary()
    if json_out:
        print_json(
            {
                "model": str(det.plan.model_path if det.plan else model),
                "labels": det.labels,
                "plan": plan,
                "frames": frames,
                "timings_ms": timings,
                "fps": round(len(frames) / elapsed, 2) if elapsed > 0 else None,
            }
        )
    else:
        pct = {k: percentiles(det.timer.samples(k))["p50"] for k in ("pre", "infer", "post")}
        console.print(
            f"{len(frames)} frame(s), {sum(len(f['detections']) for f in frames)} detection(s); p50 ms: "
            + ", ".join(f"{k} {v:.1f}" for k, v in pct.items())
            + (f"; saved {save}" if save else "")
        )


def _print_frame(source: str, seq: int, recs: list[dict[str, object]]) -> None:
    if not recs:
        console.print(f"{source} #{seq}: no detections")
        return
    t = Table("label", "score", "x1", "y1", "x2", "y2", title=f"{source} #{seq}", title_justify="left")
    for r in recs:
        box = r["box"]
        assert isinstance(box, list)
        t.add_row(str(r["label"]), f"{r['score']:.3f}", *(f"{v:.1f}" for v in box))
    console.print(t)


def _save(
    path: Path, image: cv2.typing.MatLike, writer: cv2.VideoWriter | None, fps: float, n: int
) -> cv2.VideoWriter | None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix.lower() in (".mp4", ".avi"):
        if writer is None:
            fourcc = cv2.VideoWriter.fourcc(*("mp4v" if path.suffix.lower() == ".mp4" else "MJPG"))
            writer = cv2.VideoWriter(str(path), fourcc, fps, (image.shape[1], image.shape[0]))
            if not writer.isOpened():
                raise EdgekitError(f"cannot write video {path}")
        writer.write(image)
        return writer
    # Several images into one image path: number them after the first.
    target = path if n == 1 else path.with_name(f"{path.stem}_{n - 1}{path.suffix}")
    if not cv2.imwrite(str(target), image):
        raise EdgekitError(f"cannot write image {target}")
    return None


def register(app: typer.Typer) -> None:
    app.command("detect")(detect)
