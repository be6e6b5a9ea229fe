"""Builders shared by the tests: paths to the shared photos and labels, IoU, running the CLI, waiting on a condition
and on an MQTT subscription's acknowledgement."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import numpy.typing as npt

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("EDGEKIT_SHARED", REPO.parent / "shared"))
IMAGES = SHARED / "data" / "images"
LABELS = SHARED / "data" / "labels"
DEFAULT_MODEL = REPO / "models" / "yolov8s-fall.onnx"

if TYPE_CHECKING:
    from edgekit.device.tuned import TunedPlan

T = TypeVar("T")


def tuned_plan(**over: Any) -> TunedPlan:
    """A ``TunedPlan`` as `edgekit tune` writes it on this CPU for the desktop profile and the shipped model (ONNX
    Runtime FP32 at 640, one thread, spinning off, the model's own file); ``over`` changes fields."""
    from edgekit.device.cpu import host_cpu
    from edgekit.device.modelcards import resolve_model
    from edgekit.device.plan import source_sha256
    from edgekit.device.tuned import TunedPlan, cpu_key  # here: most tests never load the device stack

    card, path = resolve_model("yolov8s-fall")
    assert card is not None
    cpu = host_cpu()
    fields: dict[str, Any] = dict(
        profile="desktop", model="yolov8s-fall", model_sha256=source_sha256(card, path), cpu=cpu.name,
        cpu_key=cpu_key(cpu), runtime="onnxruntime", precision="fp32", imgsz=640, threads=1, spinning=False,
        artifact=str(path), fps=3.0, baseline_fps=2.0)
    return TunedPlan.model_validate({**fields, **over})


def iou_matrix(a: npt.ArrayLike, b: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Pairwise IoU of two N×4 / M×4 xyxy arrays."""
    a = np.asarray(a, np.float64).reshape(-1, 4)
    b = np.asarray(b, np.float64).reshape(-1, 4)
    tl = np.maximum(a[:, None, :2], b[None, :, :2])
    br = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(br - tl, 0, None), axis=2)
    area = lambda x: (x[:, 2] - x[:, 0]) * (x[:, 3] - x[:, 1])
    return inter / (area(a)[:, None] + area(b)[None, :] - inter + 1e-9)


def yolo_labels(name: str, shape: tuple[int, ...]) -> npt.NDArray[np.float64]:
    """Hand-labelled person boxes of a shared photo, as xyxy pixels."""
    h, w = shape[:2]
    rows = [ln.split() for ln in (LABELS / f"{Path(name).stem}.txt").read_text().splitlines() if ln.strip()]
    out = []
    for _, cx, cy, bw, bh in ((float(v) for v in r) for r in rows):
        out.append([(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h])
    return np.asarray(out, np.float64).reshape(-1, 4)


def run_cli(
    *args: str, timeout: float = 600, env: dict[str, str] | None = None, cwd: Path = REPO
) -> subprocess.CompletedProcess[str]:
    """Run ``edgekit ARGS`` in a subprocess (from ``cwd``), as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "edgekit.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


def wait_until(predicate: Callable[[], T], timeout: float = 30.0, interval: float = 0.05,
               what: str | Callable[[], object] = "the condition") -> T:
    """Poll ``predicate`` until it returns something truthy and return that. Past ``timeout`` seconds (checked once
    more at the end) raise ``TimeoutError`` naming ``what``; a callable ``what`` is called then, to say what was seen."""
    deadline = time.monotonic() + timeout
    while True:
        got = predicate()
        if got:
            return got
        if time.monotonic() >= deadline:
            said = what() if callable(what) else what
            raise TimeoutError(f"waited {timeout:g} s for {said}")
        time.sleep(interval)


class Subacks:
    """The SUBACKs a paho 2.x client receives (its ``on_subscribe``, chained to one it already had).

    A subscription is in place once the broker acknowledges it: waiting on that, not on a sleep, is what makes a
    message published next reach the subscriber."""

    def __init__(self, client: Any) -> None:
        self._chained = client.on_subscribe
        self._lock = threading.Lock()
        self.mids: list[int] = []
        self.refused: list[str] = []
        client.on_subscribe = self._on_subscribe

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, reason_codes: Any, properties: Any) -> None:
        with self._lock:
            self.refused += [f"mid {mid}: {rc}" for rc in reason_codes if rc.is_failure]
            self.mids.append(mid)
        if self._chained is not None:
            self._chained(client, userdata, mid, reason_codes, properties)

    def wait(self, count: int = 1, mid: int | None = None, timeout: float = 30.0) -> None:
        """Wait for ``count`` SUBACKs in all (or the one answering ``mid``); a refused subscription fails."""

        def acked() -> bool:
            with self._lock:
                if self.refused:
                    raise AssertionError(f"the broker refused a subscription: {self.refused}")
                return mid in self.mids if mid is not None else len(self.mids) >= count

        wait_until(acked, timeout, what=f"the SUBACK of mid {mid}" if mid is not None else f"{count} SUBACK(s)")


def subscribe(client: Any, topics: str | list[str], qos: int = 1, timeout: float = 30.0,
              acks: Subacks | None = None) -> Subacks:
    """Subscribe a connected paho 2.x client to ``topics`` and return once the broker acknowledged it (``acks``: the
    client's recorder, if it has one already)."""
    acks = acks if acks is not None else Subacks(client)
    rc, mid = client.subscribe([(t, qos) for t in ([topics] if isinstance(topics, str) else topics)])
    if rc != 0:
        raise AssertionError(f"subscribe failed locally (rc {rc})")
    acks.wait(mid=mid, timeout=timeout)
    return acks
