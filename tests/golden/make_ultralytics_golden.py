"""Write Ultralytics' own predictions on ../shared/data/images as a golden file (the edgekit test oracle).

Run with the peer venv (scripts/make_peer_venv.sh), never with edgekit's venv; Ultralytics is not an edgekit
dependency, so ordinary test runs only read the JSON this script writes::

    .venv-peer/bin/python tests/golden/make_ultralytics_golden.py                      # 640, default model
    .venv-peer/bin/python tests/golden/make_ultralytics_golden.py \
        --model /work/dl/yolov8s-fall-320.onnx --imgsz 320                             # 320 export

Output ``tests/golden/ultralytics_<model stem>_<imgsz>.json``::

    {"model": name, "model_sha256": ..., "ultralytics_version": ..., "imgsz": 640, "conf": 0.25, "iou": 0.7,
     "images": {"bus.jpg": [{"class_id": 0, "score": 0.91, "xyxy": [x1, y1, x2, y2]}, ...], ...}}

Boxes are in original-image pixels, in Ultralytics' output order (score descending). Any network access
attempted by Ultralytics (update checks, font downloads, telemetry) makes the script fail (audit hook below);
YOLO_OFFLINE=1 set before the import was all that was needed (ultralytics 8.4.190), plus onnx and onnxslim
installed in the peer venv (else Ultralytics tries a pip "AutoUpdate" when it loads an ONNX model).

What Ultralytics 8.4.190 does for a static S x S ONNX detect model (``predict(img, imgsz=S, ...)``, CPU),
checked by re-implementing it in numpy (min IoU 0.99999, max score diff 5e-7 on both golden files):

Pre-processing (engine/predictor.py ``pre_transform``/``preprocess``, data/augment.py ``LetterBox``):
  * image read by cv2 as BGR uint8 (``cv2.imdecode(np.fromfile(path), IMREAD_COLOR)``).
  * LetterBox(new_shape=(S, S), auto=False, scale_fill=False, scaleup=True, center=True, stride=32,
    padding_value=114, interpolation=cv2.INTER_LINEAR). ``auto`` (minimum rectangle) is only used for .pt or
    dynamic models, so a static ONNX always gets the full S x S square.
  * r = min(S / h, S / w) (upscaling allowed); new_w, new_h = max(round(w * r), 1), max(round(h * r), 1)
    (Python round: half to even); ``cv2.resize(img, (new_w, new_h), INTER_LINEAR)`` only if the size changes.
  * dw = (S - new_w) / 2, dh = (S - new_h) / 2; top = round(dh - 0.1), bottom = round(dh + 0.1),
    left = round(dw - 0.1), right = round(dw + 0.1) (an odd pixel goes bottom/right);
    ``cv2.copyMakeBorder(..., BORDER_CONSTANT, value=(114, 114, 114))``.
  * HWC->CHW, BGR->RGB (channel flip), float32, /255 (no mean/std), batch 1; ORT CPUExecutionProvider with
    default SessionOptions.
Post-processing (utils/nms.py ``non_max_suppression``, models/yolo/detect/predict.py, utils/ops.py):
  * output [1, 4 + nc, N] -> [N, 4 + nc]; candidates: max class score > conf (STRICTLY greater);
    cx, cy, w, h -> x1 = cx - w/2, y1 = cy - h/2, x2 = cx + w/2, y2 = cy + h/2.
  * one label per box (multi_label=False): score = max class score, class = argmax.
  * more than max_nms=30000 candidates: keep the top 30000 by score.
  * class-AWARE NMS (agnostic_nms=False): boxes offset by class_id * 7680 (max_wh), then
    ``torchvision.ops.nms(boxes, scores, iou)`` (drops IoU > iou; score-descending order); keep max_det=300.
  * ``scale_boxes``: gain = min(S / h0, S / w0);
    new_h, new_w = max(round(h0 * gain), 1), max(round(w0 * gain), 1);
    gain_y = new_h / h0, gain_x = new_w / w0 (per axis, from the rounded size);
    pad_x = round((S - new_w) / 2 - 0.1), pad_y = round((S - new_h) / 2 - 0.1);
    x = (x - pad_x) / gain_x, y = (y - pad_y) / gain_y; then clip x to [0, w0], y to [0, h0] (not w0 - 1).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("YOLO_OFFLINE", "1")  # before importing ultralytics: no update check, no online probes

_NETWORK_ATTEMPTS: list[str] = []


def _audit(event: str, args: tuple) -> None:
    # Record (and later fail on) any attempt to resolve or reach a host: the oracle must be fully offline.
    if event in ("socket.connect", "socket.getaddrinfo", "socket.gethostbyname", "urllib.Request"):
        _NETWORK_ATTEMPTS.append(f"{event} {args!r}"[:200])


sys.addaudithook(_audit)

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("EDGEKIT_SHARED", REPO.parent / "shared"))


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _dumps(doc: dict) -> str:
    """JSON with one box per line: readable diffs when the golden file is regenerated."""
    head = {k: v for k, v in doc.items() if k != "images"}
    lines = ["{"] + [f" {json.dumps(k)}: {json.dumps(v)}," for k, v in head.items()] + [' "images": {']
    items = list(doc["images"].items())
    for n, (name, boxes) in enumerate(items):
        body = ",\n".join(f"   {json.dumps(b)}" for b in boxes)
        sep = "," if n < len(items) - 1 else ""
        lines.append(
            f"  {json.dumps(name)}: [\n{body}\n  ]{sep}" if boxes else f"  {json.dumps(name)}: []{sep}"
        )
    lines += [" }", "}"]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=Path, default=REPO / "models" / "yolov8s-fall.onnx")
    ap.add_argument("--imgsz", type=int, default=640)
    ap.add_argument("--conf", type=float, default=0.25)
    ap.add_argument("--iou", type=float, default=0.7)
    ap.add_argument("--images", type=Path, default=SHARED / "data" / "images")
    ap.add_argument(
        "--out", type=Path, default=None, help="default tests/golden/ultralytics_<stem>_<imgsz>.json"
    )
    a = ap.parse_args()

    import ultralytics
    from ultralytics import YOLO

    stem = a.model.stem.removesuffix(f"-{a.imgsz}")
    out = a.out or Path(__file__).resolve().parent / f"ultralytics_{stem}_{a.imgsz}.json"
    model = YOLO(str(a.model), task="detect")
    images: dict[str, list[dict]] = {}
    for img in sorted(a.images.glob("*.jpg")):
        (res,) = model.predict(str(img), imgsz=a.imgsz, conf=a.conf, iou=a.iou, device="cpu", verbose=False)
        b = res.boxes
        images[img.name] = [
            {"class_id": int(c), "score": round(float(s), 6), "xyxy": [round(float(v), 3) for v in box]}
            for c, s, box in zip(b.cls.tolist(), b.conf.tolist(), b.xyxy.tolist(), strict=True)
        ]
    doc = {
        "model": a.model.name,
        "model_sha256": sha256(a.model),
        "ultralytics_version": ultralytics.__version__,
        "imgsz": a.imgsz,
        "conf": a.conf,
        "iou": a.iou,
        "images": images,
    }
    out.write_text(_dumps(doc))
    n = sum(len(v) for v in images.values())
    print(f"wrote {out} ({len(images)} images, {n} boxes)")
    if _NETWORK_ATTEMPTS:
        print("network access attempted:\n  " + "\n  ".join(_NETWORK_ATTEMPTS), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
