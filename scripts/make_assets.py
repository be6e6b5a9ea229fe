"""Cut the synthetic source's sprites out of the labelled photos in ../shared/data (run once; outputs committed).

Usage: python scripts/make_assets.py [SHARED_DATA_DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2

# (photo, index of the person box in its YOLO label file): full-body people, the best walkers.
SPRITES = [("bus.jpg", 0), ("bus.jpg", 1), ("bus.jpg", 2), ("zidane.jpg", 1)]
BACKGROUND = "rocket.jpg"


def main() -> None:
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "data"
    out = Path(__file__).resolve().parents[1] / "edgekit" / "assets"
    out.mkdir(exist_ok=True)
    for i, (photo, row) in enumerate(SPRITES):
        img = cv2.imread(str(data / "images" / photo))
        h, w = img.shape[:2]
        line = (data / "labels" / photo.replace(".jpg", ".txt")).read_text().splitlines()[row]
        _, cx, cy, bw, bh = (float(v) for v in line.split())
        x1, y1 = max(0, round((cx - bw / 2) * w)), max(0, round((cy - bh / 2) * h))
        x2, y2 = min(w, round((cx + bw / 2) * w)), min(h, round((cy + bh / 2) * h))
        cv2.imwrite(str(out / f"person_{i}.jpg"), img[y1:y2, x1:x2], [cv2.IMWRITE_JPEG_QUALITY, 92])
    bg = cv2.imread(str(data / "images" / BACKGROUND))
    cv2.imwrite(str(out / "background.jpg"), bg, [cv2.IMWRITE_JPEG_QUALITY, 92])


if __name__ == "__main__":
    main()
