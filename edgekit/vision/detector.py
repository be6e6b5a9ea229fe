"""A detector: pre-process → backend.infer → post-process, with per-stage timings."""

from __future__ import annotations

import ast
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np
import numpy.typing as npt

from edgekit.backends import Backend, open_backend
from edgekit.backends.base import Spinning, streams_of, submit
from edgekit.device.host import probe_host, usable_cores
from edgekit.device.modelcards import ModelCard, resolve_model
from edgekit.device.plan import RuntimePlan, export_hint, plan_runtime
from edgekit.device.profiles import load_profile
from edgekit.errors import EdgekitError
from edgekit.timing import StageTimer
from edgekit.types import Detections
from edgekit.vision.preprocess import LetterboxInfo, letterbox, to_nhwc
from edgekit.vision.yolo import check_yolo_output, postprocess_yolo

log = logging.getLogger(__name__)

SUPPORTED_FAMILIES = ("yolov8", "yolo11")
Timed = tuple[Detections, dict[str, float]]
"""A frame's detections and its own stage times in ms (``wait``, ``infer``, ``post``)."""


class Detector:
    """Runs a YOLOv8/11-style detection model on BGR frames.

    Examples:
        >>> det = Detector.load("yolov8s-fall")  # doctest: +SKIP
        >>> dets = det.detect(cv2.imread("bus.jpg"))  # doctest: +SKIP
        >>> dets.to_records(det.labels)[0]["label"]  # doctest: +SKIP
        'Normal'
    """

    def __init__(
        self,
        backend: Backend,
        labels: list[str],
        conf: float = 0.25,
        iou: float = 0.7,
        max_det: int = 300,
        imgsz: int | None = None,
        plan: RuntimePlan | None = None,
    ) -> None:
        self.backend = backend
        self.conf, self.iou, self.max_det = conf, iou, max_det
        self.plan = plan
        self.timer = StageTimer()
        # Cameras share one detector: one inference at a time, each with the whole thread pool
        # (two runs at once on one pool oversubscribe the cores; benchmarks/README.md, several cameras).
        self._lock = threading.Lock()
        if len(backend.inputs) != 1:
            raise EdgekitError(f"detector models take one image input; this one takes {len(backend.inputs)}")
        spec = backend.inputs[0]
        shape = spec.shape
        if len(shape) != 4:
            raise EdgekitError(f"model input has shape {list(shape)}, expected an image batch [1, 3, H, W]")
        self.channels_last = shape[3] == 3 and shape[1] != 3
        h, w = (shape[1], shape[2]) if self.channels_last else (shape[2], shape[3])
        if not (isinstance(h, int) and isinstance(w, int) and h > 0 and w > 0):
            if imgsz is None:
                raise EdgekitError("model has a dynamic input size: pass --imgsz or use a model card")
            h = w = imgsz
        self.input_hw: tuple[int, int] = (int(h), int(w))
        out = backend.outputs[0].shape
        if not labels:
            rows = out[1] if len(out) == 3 and isinstance(out[1], int) else None
            if rows is None or rows <= 4:
                raise EdgekitError(f"cannot infer classes from model output shape {list(out)}")
            labels = [str(i) for i in range(rows - 4)]
        check_yolo_output(out, len(labels))
        self.labels = labels
        self.streams = streams_of(backend)
        """Frames that may be in inference at once (``submit``): the backend's streams, else 1."""
        self._input_dtype = np.dtype(spec.dtype) if spec.dtype in ("float32", "float16") else np.float32

    @classmethod
    def load(
        cls,
        model: str | Path | None = None,
        profile: str | Path = "desktop",
        conf: float | None = None,
        iou: float | None = None,
        threads: int | None = None,
        spinning: Spinning | None = None,
        affinity: tuple[int, ...] | None = None,
    ) -> Detector:
        """Open a model (card name, card YAML or file; default: the profile's) the way ``profile`` runs it here.

        ``threads``, ``spinning`` and ``affinity`` (CPUs for the runtime's threads) override the profile's.
        ``plan`` says what runs: model file, input size, precision, backend and provider, and each substitution.
        """
        prof = load_profile(profile)
        card, path = resolve_model(model or prof.runtime.model)
        if card is not None and card.task != "detect":
            raise EdgekitError(f"model {card.name!r} is a {card.task} model, not a detector")
        if card is not None and card.family not in SUPPORTED_FAMILIES:
            raise EdgekitError(
                f"model family {card.family!r} has no decoder; supported: {SUPPORTED_FAMILIES}"
            )
        plan = plan_runtime(prof, probe_host(), path, card)
        if plan.build_from is not None:  # a TensorRT profile's first start here: build (or rebuild) the engine
            from edgekit.backends.tensorrt_build import ensure_engine, workspace_for

            ensure_engine(plan.build_from, plan.model_path, precision=plan.precision,
                          imgsz=plan.imgsz or prof.runtime.imgsz, labels=list(card.labels) if card else [],
                          workspace_mb=workspace_for(prof.budgets.model_mb))
        if threads:
            plan.options = replace(plan.options, threads=threads)
        if spinning is not None:
            plan.options = replace(plan.options, spinning=spinning)
        if affinity is not None:
            plan.options = replace(plan.options, affinity=tuple(affinity))
        backend = open_backend(plan.model_path, plan.options, plan.backend)
        labels = list(card.labels) if card else _labels_from_metadata(backend)
        det = cls(
            backend,
            labels,
            conf=conf if conf is not None else prof.runtime.conf,
            iou=iou if iou is not None else prof.runtime.iou,
            imgsz=(card.imgsz if card else None) or prof.runtime.imgsz,
            plan=plan,
        )
        plan.imgsz = det.input_hw[0]
        plan.provider = backend.name
        if det.input_hw != (prof.runtime.imgsz, prof.runtime.imgsz) and card is not None and not plan.from_tune:
            plan.substitutions.append(
                f"input {prof.runtime.imgsz} → {det.input_hw[0]} (the model's fixed input size; "
                f"`{export_hint(prof, card)}` makes a matching one)"
            )
        return det

    @property
    def fills_cpu(self) -> bool:
        """Inference runs on the CPU with a thread for every core this process may use.

        Work put on another thread then competes with inference instead of hiding behind it, and costs more than
        in line: pre-empting one of ONNX Runtime's threads stalls the other at the next barrier.
        """
        if not (self.backend.name.startswith("onnxruntime[CPU") or self.backend.name == "litert[cpu]"):
            return False
        threads = self.plan.options.threads if self.plan is not None else 0
        return threads <= 0 or threads >= usable_cores()

    def preprocess(self, image: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.floating], LetterboxInfo]:
        """Letterbox a BGR frame into the model's input tensor."""
        if image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"expected an H×W×3 BGR image, got shape {image.shape}")
        tensor, info = letterbox(image, self.input_hw)
        if self.channels_last:
            tensor = to_nhwc(tensor)
        return tensor.astype(self._input_dtype, copy=False), info

    def postprocess(self, outputs: list[npt.NDArray[np.generic]], info: LetterboxInfo) -> Detections:
        """Decode the raw head output into boxes in the original frame."""
        raw = np.asarray(outputs[0], dtype=np.float32)
        # Heads that emit normalised boxes (TFLite exports) are scaled back to input pixels.
        scale = (
            float(max(self.input_hw))
            if raw.shape[1] < raw.shape[2] and float(raw[0, :4].max()) <= 2.0
            else 1.0
        )
        return postprocess_yolo(raw, info, self.conf, self.iou, self.max_det, box_scale=scale)

    def detect(self, image: npt.NDArray[np.uint8]) -> Detections:
        """Detect objects in one BGR frame; boxes are in that frame's pixels."""
        with self.timer.stage("pre"):
            tensor, info = self.preprocess(image)
        return self.detect_prepared(tensor, info)

    def detect_prepared(self, tensor: npt.NDArray[np.floating], info: LetterboxInfo) -> Detections:
        """Infer and decode an already pre-processed frame (pre-processing may run on the capture thread)."""
        return self.detect_timed(tensor, info)[0]

    def detect_timed(self, tensor: npt.NDArray[np.floating], info: LetterboxInfo) -> Timed:
        """:meth:`detect_prepared`, with this call's own ``infer`` and ``post`` ms (the shared ``timer`` mixes the
        cameras that share this detector). Safe from several threads: inference runs one call at a time."""
        t0 = time.perf_counter_ns()
        with self._lock:
            t1 = time.perf_counter_ns()  # the wait for another camera's inference is not this call's inference
            outputs = self.backend.infer([tensor])
        return self._decoded(outputs, info, t0, t1)

    def _decoded(self, outputs: list[npt.NDArray[np.generic]], info: LetterboxInfo, t_asked: int,
                 t_started: int) -> Timed:
        """Decode ``outputs`` (now, inference just done) with the frame's stage times: ``wait`` from ``t_asked`` to
        ``t_started`` (perf_counter_ns), ``infer`` from then to now, ``post`` the decode; added to ``timer``."""
        t_done = time.perf_counter_ns()
        dets = self.postprocess(outputs, info)
        ms = {"wait": (t_started - t_asked) / 1e6, "infer": (t_done - t_started) / 1e6,
              "post": (time.perf_counter_ns() - t_done) / 1e6}
        self.timer.add("infer", ms["infer"])
        self.timer.add("post", ms["post"])
        return dets, ms

    def submit(self, tensor: npt.NDArray[np.floating], info: LetterboxInfo) -> Callable[[], Timed]:
        """Start inferring a pre-processed frame; the returned call waits and decodes it (``detect_timed``'s result).

        With one stream it runs now, as ``detect_timed``. With several, up to ``streams`` frames are in flight at
        once, so a caller can start the next frame before the last is decoded; ``infer`` is then each frame's time
        in flight (submit to outputs), which includes its wait for a free stream.
        """
        if self.streams <= 1:
            result = self.detect_timed(tensor, info)
            return lambda: result
        t0 = time.perf_counter_ns()
        pending = submit(self.backend, [tensor])
        done: list[Timed] = []

        def finish() -> Timed:
            if not done:
                done.append(self._decoded(pending(), info, t0, t0))
            return done[0]

        return finish

    def close(self) -> None:
        self.backend.close()


def _labels_from_metadata(backend: Backend) -> list[str]:
    """Class names from an Ultralytics ONNX export's metadata (``names: {0: 'a', ...}``), if present."""
    meta: dict[str, str] = getattr(backend, "metadata", {}) or {}
    names = meta.get("names")
    if not names:
        return []
    try:
        parsed = ast.literal_eval(names)
    except (ValueError, SyntaxError):
        log.warning("ignoring unreadable class names in model metadata")
        return []
    if isinstance(parsed, dict):
        return [str(parsed[k]) for k in sorted(parsed)]
    return [str(x) for x in parsed]


def card_or_none(model: str | Path) -> ModelCard | None:
    """The model card behind a ``--model`` argument, if it names one."""
    return resolve_model(model)[0]
