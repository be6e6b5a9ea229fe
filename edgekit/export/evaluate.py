"""Score a model file on labelled images: COCO mAP (faster-coco-eval) and output parity against another file.

Detections are scored class-agnostic as "person" (see ``valset``), after agnostic NMS at a low confidence (0.001),
as COCO evaluation expects ranked detections.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edgekit.backends import BackendOptions, open_backend
from edgekit.backends.base import Backend
from edgekit.errors import MissingDependencyError
from edgekit.export.valset import Sample
from edgekit.types import Detections
from edgekit.vision.preprocess import letterbox, to_nhwc
from edgekit.vision.yolo import postprocess_yolo

log = logging.getLogger(__name__)

EVAL_CONF = 0.001
PARITY_CONF = 0.25
NMS_IOU = 0.7


@dataclass(slots=True)
class Run:
    """Raw outputs and decoded detections of one model over a list of samples."""

    raw: list[npt.NDArray[np.float32]] = field(default_factory=list)
    dets: list[Detections] = field(default_factory=list)


def _layout(be: Backend) -> tuple[bool, int]:
    """(channels_last, imgsz) from the backend's input spec (TFLite models are NHWC)."""
    shape = be.inputs[0].shape
    if len(shape) == 4 and shape[3] == 3:
        return True, int(shape[1])  # type: ignore[arg-type]
    return False, int(shape[2])  # type: ignore[arg-type]


def run_model(
    path: Path,
    samples: list[Sample],
    threads: int = 0,
    box_scale: float = 1.0,
    progress: Callable[[int, int], None] | None = None,
) -> Run:
    """Run ``path`` (any backend file type) over ``samples``; keep raw outputs and low-confidence detections.

    ``box_scale`` multiplies the box rows (``imgsz`` for heads that emit normalised boxes, see onnx2tflite); raw
    outputs are kept in pixels so parity compares like with like.
    """
    be = open_backend(path, BackendOptions(threads=threads))
    try:
        nhwc, imgsz = _layout(be)
        run = Run()
        for i, s in enumerate(samples):
            x, info = letterbox(s.image, (imgsz, imgsz))
            out = np.asarray(be.infer([to_nhwc(x) if nhwc else x])[0], np.float32)
            if out.shape[1] > out.shape[2]:  # [1, anchors, 4 + C] -> [1, 4 + C, anchors]
                out = out.transpose(0, 2, 1)
            if box_scale != 1.0:
                out = out.copy()
                out[:, :4] *= box_scale
            run.raw.append(out)
            run.dets.append(postprocess_yolo(out, info, conf=EVAL_CONF, iou=NMS_IOU, max_det=300, agnostic=True))
            if progress:
                progress(i + 1, len(samples))
        return run
    finally:
        be.close()


def _coco(samples: list[Sample], dets: list[Detections], cls: int | None) -> dict[str, float] | None:
    """mAP50-95 / mAP50 (points) over all boxes as one class (``cls`` None), or over class ``cls`` only;
    ``None`` when there is no labelled box to judge."""
    try:
        from faster_coco_eval import COCO, COCOeval_faster
    except ImportError as e:
        raise MissingDependencyError(
            "faster-coco-eval (the accuracy gate's evaluator)", "pip install 'edgekit[export]'"
        ) from e
    images: list[dict[str, Any]] = []
    anns: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for i, (s, d) in enumerate(zip(samples, dets, strict=True), start=1):
        h, w = s.image.shape[:2]
        images.append({"id": i, "file_name": s.name, "width": w, "height": h})
        for b, c in zip(s.boxes, s.class_ids, strict=True):
            if cls is not None and int(c) != cls:
                continue
            bw, bh = float(b[2] - b[0]), float(b[3] - b[1])
            anns.append(
                {
                    "id": len(anns) + 1,
                    "image_id": i,
                    "category_id": 1,
                    "bbox": [float(b[0]), float(b[1]), bw, bh],
                    "area": bw * bh,
                    "iscrowd": 0,
                }
            )
        for b, sc, c in zip(d.xyxy, d.scores, d.class_ids, strict=True):
            if cls is not None and int(c) != cls:
                continue
            results.append(
                {
                    "image_id": i,
                    "category_id": 1,
                    "score": float(sc),
                    "bbox": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])],
                }
            )
    if not anns:
        return None
    gt = COCO(
        {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "object"}]}, print_function=log.debug
    )
    if not results:
        return {"map50_95": 0.0, "map50": 0.0}
    dt = gt.loadRes(results)
    ev = COCOeval_faster(gt, dt, "bbox", print_function=log.debug)
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    return {"map50_95": round(float(ev.stats[0]) * 100, 2), "map50": round(float(ev.stats[1]) * 100, 2)}


def coco_map(samples: list[Sample], dets: list[Detections], labels: list[str] | None = None) -> dict[str, Any]:
    """COCO mAP50-95 and mAP50 (points, 0..100, by faster-coco-eval) of class-agnostic boxes, how many images and
    boxes were judged, and — given the model's ``labels`` — the same per class (``None`` where a class has no
    labelled box: it was not judged)."""
    agnostic = _coco(samples, dets, None) or {"map50_95": 0.0, "map50": 0.0}
    out: dict[str, Any] = {
        **agnostic,
        "images": len(samples),
        "boxes": int(sum(len(s.boxes) for s in samples)),
    }
    if labels:
        per: dict[str, dict[str, Any]] = {}
        for c, name in enumerate(labels):
            n = int(sum(int((s.class_ids == c).sum()) for s in samples))
            m = _coco(samples, dets, c) if n else None
            per[name] = {"boxes": n, "map50_95": m["map50_95"] if m else None, "map50": m["map50"] if m else None}
        out["per_class"] = per
    return out


def _iou(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return (inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-9)).astype(np.float32)


def _match(ref: Detections, got: Detections) -> npt.NDArray[np.float32]:
    """Greedy one-to-one matching by IoU, highest first; the IoU of each ``ref`` box (0 when unmatched)."""
    out = np.zeros(len(ref), np.float32)
    if len(ref) == 0 or len(got) == 0:
        return out
    iou = _iou(ref.xyxy, got.xyxy)
    for _ in range(min(iou.shape)):
        r, g = np.unravel_index(int(iou.argmax()), iou.shape)
        if iou[r, g] <= 0:
            break
        out[r] = iou[r, g]
        iou[r, :] = -1
        iou[:, g] = -1
    return out


def parity(ref: Run, got: Run, num_classes: int) -> dict[str, Any]:
    """How far ``got``'s outputs are from ``ref``'s on the same inputs.

    ``max_abs_diff`` over the whole raw output (box rows are pixels), ``max_score_diff`` over the class-score rows,
    and box agreement at confidence 0.25: the share of reference boxes found again with IoU ≥ 0.5 and the mean IoU
    of the matches (the detections a user sees, not anchors nobody keeps).
    """
    max_abs = max(float(np.abs(a - b).max()) for a, b in zip(ref.raw, got.raw, strict=True))
    max_score = max(float(np.abs(a[:, 4:] - b[:, 4:]).max()) for a, b in zip(ref.raw, got.raw, strict=True))
    ious: list[float] = []
    n_got = 0
    for r, g in zip(ref.dets, got.dets, strict=True):
        r, g = r[r.scores >= PARITY_CONF], g[g.scores >= PARITY_CONF]
        n_got += len(g)
        ious.extend(_match(r, g).tolist())
    matched = [v for v in ious if v >= 0.5]
    return {
        "max_abs_diff": round(max_abs, 4),
        "max_score_diff": round(max_score, 4),
        "ref_boxes": len(ious),
        "export_boxes": n_got,
        "box_recall": round(len(matched) / len(ious), 4) if ious else 1.0,
        "mean_iou": round(float(np.mean(matched)), 4) if matched else 0.0,
        "num_classes": num_classes,
    }
