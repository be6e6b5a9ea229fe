"""Core value types that flow between pipeline stages.

Only numpy and the standard library appear here: no framework type leaks out of a stage.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

EVENT_SCHEMA_VERSION = 2

# The keypoint layout every pose model is mapped to: MediaPipe's 33 landmarks, in its order.
NUM_KEYPOINTS = 33
NOSE, L_SHOULDER, R_SHOULDER, L_WRIST, R_WRIST, L_HIP, R_HIP = 0, 11, 12, 15, 16, 23, 24
"""2 added ``clip``; version 1 events (no clip) are still read."""
_READABLE_VERSIONS = (1, 2)


@dataclass(frozen=True, slots=True)
class Frame:
    """One captured image: H×W×3 uint8 BGR, with where and when it came from."""

    image: npt.NDArray[np.uint8]
    source_id: str
    seq: int
    t_capture_ns: int = field(default_factory=time.monotonic_ns)

    @property
    def shape(self) -> tuple[int, int]:
        """(height, width) of the image."""
        h, w = self.image.shape[:2]
        return int(h), int(w)


def _as(a: Any, dtype: npt.DTypeLike, shape_tail: tuple[int, ...] = ()) -> npt.NDArray[Any]:
    arr = np.asarray(a, dtype=dtype)
    if arr.size == 0:
        arr = arr.reshape((0, *shape_tail))
    return arr


@dataclass(frozen=True, slots=True)
class Detections:
    """Detections of one frame as a struct of arrays.

    ``xyxy`` is N×4 float32 in pixels of the original frame; ``scores`` N float32; ``class_ids`` N int64;
    ``tracker_ids`` N int64 (or None before tracking); ``keypoints`` N×K×3 float32 (x, y, visibility) or None.
    Indexing with an int, slice, index array or boolean mask returns a new ``Detections``.

    Examples:
        >>> d = Detections(xyxy=[[0, 0, 10, 10], [5, 5, 20, 20]], scores=[0.9, 0.3], class_ids=[0, 1])
        >>> len(d[d.scores > 0.5])
        1
    """

    xyxy: npt.NDArray[np.float32]
    scores: npt.NDArray[np.float32]
    class_ids: npt.NDArray[np.int64]
    tracker_ids: npt.NDArray[np.int64] | None = None
    keypoints: npt.NDArray[np.float32] | None = None

    def __init__(
        self,
        xyxy: Any,
        scores: Any,
        class_ids: Any,
        tracker_ids: Any | None = None,
        keypoints: Any | None = None,
    ) -> None:
        object.__setattr__(self, "xyxy", _as(xyxy, np.float32, (4,)))
        object.__setattr__(self, "scores", _as(scores, np.float32))
        object.__setattr__(self, "class_ids", _as(class_ids, np.int64))
        object.__setattr__(self, "tracker_ids", None if tracker_ids is None else _as(tracker_ids, np.int64))
        object.__setattr__(
            self, "keypoints", None if keypoints is None else _as(keypoints, np.float32, (0, 3))
        )
        self._validate()

    def _validate(self) -> None:
        n = len(self.scores)
        if self.xyxy.ndim != 2 or self.xyxy.shape[1] != 4:
            raise ValueError(f"xyxy must be N×4, got shape {self.xyxy.shape}")
        if self.scores.ndim != 1:
            raise ValueError(f"scores must be 1-D, got shape {self.scores.shape}")
        for name in ("xyxy", "class_ids", "tracker_ids", "keypoints"):
            arr = getattr(self, name)
            if arr is not None and len(arr) != n:
                raise ValueError(f"{name} has {len(arr)} rows but scores has {n}")
        if self.keypoints is not None and (self.keypoints.ndim != 3 or self.keypoints.shape[2] != 3):
            raise ValueError(f"keypoints must be N×K×3, got shape {self.keypoints.shape}")

    @classmethod
    def empty(cls) -> Detections:
        """A valid value with no detections."""
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), np.zeros(0, np.int64))

    def __len__(self) -> int:
        return len(self.scores)

    def __getitem__(self, index: Any) -> Detections:
        if isinstance(index, (int, np.integer)):
            index = [int(index)]
        return Detections(
            self.xyxy[index],
            self.scores[index],
            self.class_ids[index],
            None if self.tracker_ids is None else self.tracker_ids[index],
            None if self.keypoints is None else self.keypoints[index],
        )

    def with_(self, **changes: Any) -> Detections:
        """A copy with some fields replaced (e.g. ``tracker_ids``), validated again."""
        return replace(self, **changes)

    @property
    def anchors(self) -> npt.NDArray[np.float32]:
        """Bottom-centre point of each box (N×2): where a person stands, used by zones and lines."""
        return np.stack([(self.xyxy[:, 0] + self.xyxy[:, 2]) / 2, self.xyxy[:, 3]], axis=1)

    @property
    def areas(self) -> npt.NDArray[np.float32]:
        """Box areas in square pixels."""
        return (self.xyxy[:, 2] - self.xyxy[:, 0]) * (self.xyxy[:, 3] - self.xyxy[:, 1])

    @staticmethod
    def concat(parts: Sequence[Detections]) -> Detections:
        """Join several ``Detections``; optional fields survive only when every part has them."""
        parts = [p for p in parts if len(p)] or list(parts[:1])
        if not parts:
            return Detections.empty()

        def opt(name: str) -> Any:
            vals = [getattr(p, name) for p in parts]
            return None if any(v is None for v in vals) else np.concatenate(vals)

        return Detections(
            np.concatenate([p.xyxy for p in parts]),
            np.concatenate([p.scores for p in parts]),
            np.concatenate([p.class_ids for p in parts]),
            opt("tracker_ids"),
            opt("keypoints"),
        )

    def to_records(self, labels: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """One JSON-ready dict per detection (label, score, box; track id and keypoints when present)."""
        out: list[dict[str, Any]] = []
        for i in range(len(self)):
            cid = int(self.class_ids[i])
            rec: dict[str, Any] = {
                "class_id": cid,
                "label": labels[cid] if labels is not None and 0 <= cid < len(labels) else str(cid),
                "score": round(float(self.scores[i]), 4),
                "box": [round(float(v), 1) for v in self.xyxy[i]],
            }
            if self.tracker_ids is not None:
                rec["track_id"] = int(self.tracker_ids[i])
            if self.keypoints is not None:
                rec["keypoints"] = np.round(self.keypoints[i], 2).tolist()
            out.append(rec)
        return out


@dataclass(frozen=True, slots=True)
class Event:
    """Something a rule decided is worth telling: one per firing, identified by a stable uuid."""

    rule: str
    source: str
    label: str
    score: float
    box: tuple[float, float, float, float]
    start_ts: float
    end_ts: float | None = None
    track_id: int | None = None
    snapshot: str | None = None
    clip: str | None = None
    """Path of the event's MP4; the file appears once the post-roll has been recorded."""
    device: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    schema_version: int = EVENT_SCHEMA_VERSION

    def to_dict(self) -> dict[str, Any]:
        """Plain dict with JSON-ready values."""
        return {
            "schema_version": self.schema_version,
            "id": self.id,
            "rule": self.rule,
            "source": self.source,
            "device": self.device,
            "label": self.label,
            "score": round(float(self.score), 4),
            "box": [round(float(v), 1) for v in self.box],
            "track_id": self.track_id,
            "start_ts": self.start_ts,
            "end_ts": self.end_ts,
            "snapshot": self.snapshot,
            "clip": self.clip,
            "extra": self.extra,
        }

    def to_json(self) -> str:
        """Compact JSON, the wire format on MQTT and in the outbox."""
        return json.dumps(self.to_dict(), separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Event:
        """Inverse of ``to_dict``; raises ``ValueError`` on a wrong schema version or missing field."""
        if d.get("schema_version") not in _READABLE_VERSIONS:
            raise ValueError(f"unsupported event schema_version {d.get('schema_version')!r}")
        try:
            return cls(
                id=str(d["id"]),
                rule=str(d["rule"]),
                source=str(d["source"]),
                device=str(d.get("device", "")),
                label=str(d["label"]),
                score=float(d["score"]),
                box=tuple(float(v) for v in d["box"]),  # type: ignore[arg-type]
                track_id=None if d.get("track_id") is None else int(d["track_id"]),
                start_ts=float(d["start_ts"]),
                end_ts=None if d.get("end_ts") is None else float(d["end_ts"]),
                snapshot=d.get("snapshot"),
                clip=d.get("clip"),
                extra=dict(d.get("extra") or {}),
            )
        except (KeyError, TypeError) as e:
            raise ValueError(f"malformed event: {e}") from e

    @classmethod
    def from_json(cls, s: str | bytes) -> Event:
        """Parse the wire format."""
        return cls.from_dict(json.loads(s))
