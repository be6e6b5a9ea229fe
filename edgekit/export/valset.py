"""Labelled validation images: a folder with COCO or YOLO labels, plus a generated set with boxes known by design.

Each box has a class id: the model's class index (YOLO txt: the first column; COCO: ``category_id``). The gate
scores class-agnostic boxes (the default detector's Normal and Fall both mean a person) and each class on its own.

The generated set pastes the labelled people onto the photos that have none (the negatives), at random places and
scales chosen by a seed, so the same seed always gives the same images and boxes. People are cut out with MediaPipe's
selfie segmentation when ``mediapipe`` is installed (the box is the mask's extent), else as their labelled box.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from edgekit.errors import EdgekitError
from edgekit.export.calib import IMAGE_SUFFIXES, read_image

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Sample:
    """One validation image (BGR uint8), its boxes (N×4 xyxy pixels) and their class ids (N, the model's)."""

    name: str
    image: npt.NDArray[np.uint8]
    boxes: npt.NDArray[np.float32]
    classes: npt.NDArray[np.int64] | None = None

    @property
    def class_ids(self) -> npt.NDArray[np.int64]:
        return np.zeros(len(self.boxes), np.int64) if self.classes is None else self.classes


SHIPPED = Path(__file__).resolve().parents[1] / "assets" / "valdata"
"""The validation set inside the package (7 photos, 8 hand-drawn boxes): a smoke test, see its README.md."""


def images_dir(folder: Path) -> Path:
    """``folder/images`` when there is one, else ``folder`` itself."""
    return folder / "images" if (folder / "images").is_dir() else folder


def _labels_dir(images: Path) -> Path | None:
    for cand in (images.parent / "labels", images / "labels", images):
        if cand.is_dir() and any(cand.glob("*.txt")):
            return cand
    return None


def _coco_file(folder: Path) -> Path | None:
    files = sorted(folder.glob("*.json"))
    return files[0] if files else None


def _from_coco(path: Path, images: Path) -> list[Sample]:
    data = json.loads(path.read_text())
    if not isinstance(data, dict) or "images" not in data or "annotations" not in data:
        raise EdgekitError(f"{path} is not a COCO annotation file (needs 'images' and 'annotations')")
    boxes: dict[int, list[list[float]]] = {int(im["id"]): [] for im in data["images"]}
    classes: dict[int, list[int]] = {int(im["id"]): [] for im in data["images"]}
    for a in data["annotations"]:
        x, y, w, h = (float(v) for v in a["bbox"])
        boxes.setdefault(int(a["image_id"]), []).append([x, y, x + w, y + h])
        classes.setdefault(int(a["image_id"]), []).append(int(a.get("category_id", 0)))
    out = []
    for im in data["images"]:
        img = read_image(images / im["file_name"])
        i = int(im["id"])
        out.append(
            Sample(
                im["file_name"],
                img,
                np.asarray(boxes[i], np.float32).reshape(-1, 4),
                np.asarray(classes[i], np.int64),
            )
        )
    return out


def _from_yolo(images: Path, labels: Path) -> list[Sample]:
    out = []
    for f in sorted(p for p in images.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        lbl = labels / f"{f.stem}.txt"
        if not lbl.is_file():
            raise EdgekitError(f"no label file {lbl} for {f.name}: every validation image needs one (may be empty)")
        img = read_image(f)
        h, w = img.shape[:2]
        rows = np.loadtxt(lbl, ndmin=2, dtype=np.float32) if lbl.stat().st_size else np.zeros((0, 5), np.float32)
        if rows.size and rows.shape[1] < 5:
            raise EdgekitError(f"{lbl}: expected YOLO rows 'class cx cy w h' (normalised)")
        cx, cy, bw, bh = (rows[:, i] for i in range(1, 5))
        xyxy = np.stack([(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h], 1)
        out.append(Sample(f.name, img, xyxy.astype(np.float32).reshape(-1, 4), rows[:, 0].astype(np.int64)))
    return out


def load_folder(folder: Path) -> list[Sample]:
    """Labelled images from ``folder``: a COCO ``*.json`` next to ``images/``, or YOLO ``labels/*.txt``.

    A folder with images but no labels is an error that says what to add.
    """
    if not folder.is_dir():
        raise EdgekitError(f"validation folder not found: {folder}")
    images = images_dir(folder)
    coco = _coco_file(folder)
    if coco is not None:
        samples = _from_coco(coco, images)
    elif (labels := _labels_dir(images)) is not None:
        samples = _from_yolo(images, labels)
    else:
        raise EdgekitError(
            f"validation folder {folder} has no labels: add a COCO *.json or labels/*.txt (YOLO format) "
            "next to the images"
        )
    if not samples:
        raise EdgekitError(f"validation folder {folder} has no labelled images")
    return samples


def _cutouts(
    samples: list[Sample], use_mask: bool
) -> list[tuple[npt.NDArray[np.uint8], npt.NDArray[np.uint8], int]]:
    """(person crop BGR, alpha mask 0/255, class id) from every labelled box."""
    seg = _selfie_segmenter() if use_mask else None
    out = []
    for s in samples:
        for (x0, y0, x1, y1), cls in zip(s.boxes.round().astype(int), s.class_ids, strict=True):
            crop = np.ascontiguousarray(s.image[max(y0, 0) : y1, max(x0, 0) : x1])
            if crop.shape[0] < 16 or crop.shape[1] < 8:
                continue
            mask = np.full(crop.shape[:2], 255, np.uint8)
            if seg is not None:
                prob = seg.process(cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)).segmentation_mask
                m = (prob > 0.5).astype(np.uint8) * 255
                if m.mean() > 255 * 0.15:  # a failed segmentation keeps the box crop rather than a sliver
                    mask = m
            out.append((crop, mask, int(cls)))
    if seg is not None:
        seg.close()
    return out


def _selfie_segmenter() -> Any:
    try:
        import mediapipe as mp
    except ImportError:
        return None
    try:
        return mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=0)  # type: ignore[no-any-return]
    except Exception as e:  # mediapipe raises RuntimeError for a broken install; fall back to box crops
        log.warning("mediapipe selfie segmentation unavailable (%s); using box crops", e)
        return None


def _place(
    rng: np.random.Generator,
    bg: npt.NDArray[np.uint8],
    person: npt.NDArray[np.uint8],
    mask: npt.NDArray[np.uint8],
    taken: list[npt.NDArray[np.float32]],
) -> npt.NDArray[np.float32] | None:
    bh, bw = bg.shape[:2]
    ph, pw = person.shape[:2]
    for _ in range(20):
        scale = rng.uniform(0.25, 0.85) * bh / ph
        nh, nw = max(int(ph * scale), 16), max(int(pw * scale), 8)
        if nw >= bw or nh >= bh:
            continue
        x, y = int(rng.integers(0, bw - nw)), int(rng.integers(0, bh - nh))
        p = cv2.resize(person, (nw, nh), interpolation=cv2.INTER_AREA)
        m = cv2.resize(mask, (nw, nh), interpolation=cv2.INTER_NEAREST)
        ys, xs = np.nonzero(m)
        if len(xs) == 0:
            continue
        box = np.array([x + xs.min(), y + ys.min(), x + xs.max() + 1, y + ys.max() + 1], np.float32)
        if any(_overlap(box, t) for t in taken):
            continue
        roi = bg[y : y + nh, x : x + nw]
        a = (m.astype(np.float32) / 255)[..., None]
        roi[:] = (p * a + roi * (1 - a)).astype(np.uint8)
        return box
    return None


def _overlap(a: npt.NDArray[np.float32], b: npt.NDArray[np.float32]) -> bool:
    return bool(min(a[2], b[2]) > max(a[0], b[0]) and min(a[3], b[3]) > max(a[1], b[1]))


def generate(
    labelled: list[Sample], n: int = 24, seed: int = 0, max_people: int = 3, use_mask: bool = True
) -> list[Sample]:
    """``n`` composites: people from ``labelled`` on its images without people, deterministic for a ``seed``.

    Examples:
        >>> real = load_folder(Path("../shared/data"))  # doctest: +SKIP
        >>> len(generate(real, n=8, seed=1))  # doctest: +SKIP
        8
    """
    backgrounds = [s.image for s in labelled if len(s.boxes) == 0]
    people = _cutouts([s for s in labelled if len(s.boxes)], use_mask)
    if not backgrounds or not people:
        raise EdgekitError("generating a validation set needs labelled images both with and without people")
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        bg = backgrounds[int(rng.integers(len(backgrounds)))]
        # Random size and aspect keep the composite from matching the model input exactly.
        w = int(rng.integers(480, 960))
        h = int(w * rng.uniform(0.6, 1.2))
        canvas = np.asarray(cv2.resize(bg, (w, h), interpolation=cv2.INTER_LINEAR), np.uint8)
        boxes: list[npt.NDArray[np.float32]] = []
        classes: list[int] = []
        for _ in range(int(rng.integers(1, max_people + 1))):
            crop, mask, cls = people[int(rng.integers(len(people)))]
            if rng.random() < 0.5:
                crop, mask = crop[:, ::-1], mask[:, ::-1]
            box = _place(rng, canvas, np.ascontiguousarray(crop), np.ascontiguousarray(mask), boxes)
            if box is not None:
                boxes.append(box)
                classes.append(cls)
        out.append(
            Sample(
                f"gen_{seed}_{i:03d}.jpg",
                canvas,
                np.asarray(boxes, np.float32).reshape(-1, 4),
                np.asarray(classes, np.int64),
            )
        )
    return out


def split(samples: list[Sample]) -> tuple[list[Sample], list[Sample]]:
    """(calibration, validation): a deterministic, disjoint split of labelled images.

    Images with boxes and images without are dealt out in turn (most boxes first, then by name), validation first,
    so both halves get people and backgrounds and validation gets the busiest image.
    """
    with_people = sorted((s for s in samples if len(s.boxes)), key=lambda s: (-len(s.boxes), s.name))
    without = sorted((s for s in samples if not len(s.boxes)), key=lambda s: s.name)
    calib: list[Sample] = []
    val: list[Sample] = []
    for group in (with_people, without):
        for i, s in enumerate(group):
            (val if i % 2 == 0 else calib).append(s)
    return calib, val


def save(samples: list[Sample], folder: Path) -> Path:
    """Write samples as ``images/*.jpg`` + ``labels/*.txt`` (YOLO) to inspect or reuse."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "labels").mkdir(parents=True, exist_ok=True)
    for s in samples:
        cv2.imwrite(str(folder / "images" / s.name), s.image)
        h, w = s.image.shape[:2]
        lines = [
            f"{c} {(b[0] + b[2]) / 2 / w:.6f} {(b[1] + b[3]) / 2 / h:.6f} {(b[2] - b[0]) / w:.6f} "
            f"{(b[3] - b[1]) / h:.6f}"
            for b, c in zip(s.boxes, s.class_ids, strict=True)
        ]
        (folder / "labels" / f"{Path(s.name).stem}.txt").write_text("\n".join(lines) + ("\n" if lines else ""))
    return folder
