"""EigenCAM heat maps for a YOLOv8/11-style ONNX detector, computed on demand (never in the camera's hot path).

EigenCAM (Muhammad & Yeasin, 2020) is gradient-free: it projects a convolutional feature map onto its first
principal component. Here the feature maps are neck outputs that feed the detection head (strides 16 and 32 by
default), each projected, upsampled and averaged. They are taken as extra outputs of a *cached copy* of the
model, so the deployed model is never changed: the copy is written once to the cache folder, named by the source
file's content hash.

It is a picture of where the network's dominant features are, not of why one box got its score: the page that
shows it says "EigenCAM" and nothing more.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from edgekit.errors import EdgekitError
from edgekit.paths import cache_dir
from edgekit.vision.preprocess import LetterboxInfo, letterbox

log = logging.getLogger(__name__)

METHOD = "EigenCAM"
_PASS_THROUGH = {"Conv", "Mul", "Sigmoid", "Relu", "Add", "BatchNormalization", "LeakyRelu", "HardSwish"}


def head_feature_maps(model: object) -> list[str]:
    """Names of the tensors that feed the detection head, found by the head's structure (not by node names).

    The head ends in one ``Concat`` per scale that joins the box branch and the class branch. Walking back from
    it through the branch's Conv/activation nodes reaches the tensor both branches start from: the first one read
    by two or more ``Conv`` nodes.
    """
    graph = model.graph  # type: ignore[attr-defined]
    producer = {o: n for n in graph.node for o in n.output}
    conv_readers: dict[str, int] = {}
    for n in graph.node:
        if n.op_type == "Conv":
            conv_readers[n.input[0]] = conv_readers.get(n.input[0], 0) + 1
    found: list[str] = []
    for n in graph.node:
        if n.op_type != "Concat" or len(n.input) != 2:
            continue
        if not all(i in producer and producer[i].op_type == "Conv" for i in n.input):
            continue
        t = n.input[0]
        for _ in range(32):  # a branch is a handful of nodes deep
            node = producer.get(t)
            if node is None or node.op_type not in _PASS_THROUGH:
                break
            t = node.input[0]
            if conv_readers.get(t, 0) >= 2:
                if t not in found:
                    found.append(t)
                break
    return found


def default_layers(model: object) -> list[str]:
    """The head's inputs at strides 16 and 32 (the two coarsest): the stride-8 map follows texture more than
    objects, and on the shared photos it spread the heat onto the background."""
    maps = head_feature_maps(model)
    return maps[-2:] if len(maps) >= 3 else maps


def _cached_copy(model_path: Path, layers: list[str] | None) -> tuple[Path, list[str]]:
    """Write (once) a copy of the model whose extra outputs are the feature maps; returns it and their names."""
    try:
        import onnx
    except ImportError as e:
        raise EdgekitError("the explain view needs the onnx package: pip install 'edgekit[daemon]'") from e
    digest = hashlib.sha256(model_path.read_bytes()).hexdigest()[:16]
    tag = hashlib.sha256(",".join(layers or []).encode()).hexdigest()[:8]
    out = cache_dir() / "explain" / f"{model_path.stem}-{digest}-{tag}.onnx"
    model = onnx.load(str(model_path))
    names = layers or default_layers(model)
    if not names:
        raise EdgekitError(f"{model_path.name}: no detection-head feature maps found; pass the layer names")
    known = {o for n in model.graph.node for o in n.output}
    missing = [n for n in names if n not in known]
    if missing:
        raise EdgekitError(f"{model_path.name} has no tensor {missing[0]!r}")
    if not out.is_file():
        have = {o.name for o in model.graph.output}
        for name in names:
            if name not in have:
                model.graph.output.append(onnx.ValueInfoProto(name=name))
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_suffix(".tmp")
        onnx.save(model, str(tmp))
        tmp.replace(out)
        log.info("explain: cached %s with %d feature-map outputs", out.name, len(names))
    return out, names


def eigen_projection(fmap: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    """First principal component of a C×H×W feature map, as an H×W map (≥ 0).

    The component's sign is arbitrary; it is chosen so the map agrees with the mean activation (where the
    features are strong is positive), then negatives are clipped as in the EigenCAM paper.
    """
    c, h, w = fmap.shape
    a = fmap.reshape(c, h * w).T.astype(np.float64)  # pixels × channels
    a = a - a.mean(axis=0)
    # The first right-singular vector of ``a`` is the top eigenvector of the C×C scatter matrix: much cheaper
    # than an SVD of the pixels × channels matrix.
    _, vecs = np.linalg.eigh(a.T @ a)
    proj = a @ vecs[:, -1]
    strength = np.abs(fmap).mean(axis=0).reshape(-1)
    if np.corrcoef(proj, strength)[0, 1] < 0:
        proj = -proj
    return np.maximum(proj, 0).reshape(h, w).astype(np.float32)


@dataclass(frozen=True)
class HeatMap:
    """A heat map in the original frame's pixels (H×W float32, sums to 1) and the method that made it."""

    values: npt.NDArray[np.float32]
    method: str = METHOD
    layers: tuple[str, ...] = ()

    def mass_inside(self, boxes: npt.NDArray[np.floating]) -> float:
        """Fraction of the map's mass inside the union of ``boxes`` (N×4 xyxy pixels)."""
        mask = np.zeros(self.values.shape, dtype=bool)
        for x1, y1, x2, y2 in np.asarray(boxes, dtype=np.float64).reshape(-1, 4):
            mask[max(0, int(y1)):max(0, int(np.ceil(y2))), max(0, int(x1)):max(0, int(np.ceil(x2)))] = True
        return float(self.values[mask].sum() / max(float(self.values.sum()), 1e-12))

    def overlay(self, image: npt.NDArray[np.uint8], alpha: float = 0.5) -> npt.NDArray[np.uint8]:
        """``image`` with the map drawn over it in the JET colour map."""
        v = self.values / max(float(self.values.max()), 1e-12)
        colour = cv2.applyColorMap((v * 255).astype(np.uint8), cv2.COLORMAP_JET)
        return np.asarray(cv2.addWeighted(image, 1 - alpha, colour, alpha, 0), dtype=np.uint8)


class EigenCam:
    """EigenCAM over a cached copy of an ONNX detector; thread-safe, one computation at a time.

    Examples:
        >>> cam = EigenCam(Path("models/yolov8s-fall.onnx"))  # doctest: +SKIP
        >>> heat = cam.explain(cv2.imread("zidane.jpg"))       # doctest: +SKIP
        >>> heat.mass_inside(person_boxes)                     # doctest: +SKIP
    """

    def __init__(self, model_path: Path, layers: list[str] | None = None, threads: int = 1) -> None:
        if model_path.suffix != ".onnx":
            raise EdgekitError(f"EigenCAM runs on ONNX models; {model_path.name} is not one")
        import onnxruntime as ort

        self.path, self.layers = _cached_copy(model_path, layers)
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads  # one thread: the explain view must not starve the cameras
        so.inter_op_num_threads = 1
        so.log_severity_level = 3
        self._sess = ort.InferenceSession(str(self.path), sess_options=so, providers=["CPUExecutionProvider"])
        inp = self._sess.get_inputs()[0]
        self._input = inp.name
        self.input_hw = (int(inp.shape[2]), int(inp.shape[3]))
        self._lock = threading.Lock()

    def explain(self, image: npt.NDArray[np.uint8]) -> HeatMap:
        """The EigenCAM map of a BGR frame, in that frame's pixels."""
        tensor, info = letterbox(image, self.input_hw)
        with self._lock:
            outs = self._sess.run(self.layers, {self._input: tensor})
        h, w = self.input_hw
        acc = np.zeros((h, w), dtype=np.float32)
        for fmap in outs:
            m = np.asarray(cv2.resize(eigen_projection(np.asarray(fmap)[0]), (w, h),
                                      interpolation=cv2.INTER_LINEAR), dtype=np.float32)
            peak = float(m.max())
            if peak > 0:
                acc += m / peak  # each scale counts equally
        return HeatMap(_unletterbox(acc, info), METHOD, tuple(self.layers))


def _unletterbox(m: npt.NDArray[np.float32], info: LetterboxInfo) -> npt.NDArray[np.float32]:
    """Crop the padding off a model-input-sized map and resize it to the original frame; normalised to sum 1."""
    nh = round(info.orig_h * (info.gain_y or info.gain))
    nw = round(info.orig_w * (info.gain_x or info.gain))
    crop = m[info.pad_y:info.pad_y + nh, info.pad_x:info.pad_x + nw]
    out = cv2.resize(crop, (info.orig_w, info.orig_h), interpolation=cv2.INTER_LINEAR).astype(np.float32)
    out = np.maximum(out, 0).astype(np.float32)
    total = float(out.sum())
    return out / total if total > 0 else out
