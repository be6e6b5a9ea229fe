"""Any input size from a fixed-size YOLOv8/YOLO11 ONNX, without torch: rewrite the size-dependent head constants.

A static export bakes the input size into a few constants of the detection head only: the anchor grid (cell
centres ``i + 0.5`` for each stride, shape ``(1, 2, A)``), the stride row ``(1, A)`` and the reshape shapes that
hold the anchor count ``A = Σ (N / s)²`` (the DFL's ``[1, 4, 16, A]`` and ``[1, 4, A]``). The backbone's upsampling
uses scales and the per-scale reshapes use -1, so they follow the input. The head is recognised by structure — a
constant equal to the grid Ultralytics' ``make_anchors`` gives for the file's own size — not by node names; any
other constant that depends on the size makes the graph unrecognised rather than silently wrong. The result is run
once in ONNX Runtime and its output shape checked.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edgekit.errors import EdgekitError
from edgekit.export.quantize import head_merge

log = logging.getLogger(__name__)

MIN_SIZE, MAX_SIZE, MULTIPLE = 160, 1280, 32
STRIDE_SETS = ((8, 16, 32), (8, 16, 32, 64))


def check_size(imgsz: int) -> int:
    """``imgsz`` when it is a multiple of 32 within 160..1280, else a one-line error."""
    if imgsz % MULTIPLE or not MIN_SIZE <= imgsz <= MAX_SIZE:
        raise EdgekitError(
            f"--imgsz {imgsz}: the input size must be a multiple of {MULTIPLE} between {MIN_SIZE} and {MAX_SIZE}"
        )
    return imgsz


def anchor_count(imgsz: int, strides: tuple[int, ...]) -> int:
    return sum((imgsz // s) ** 2 for s in strides)


def make_anchors(imgsz: int, strides: tuple[int, ...]) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """(anchor points ``(2, A)``: x row then y row, stride row ``(A,)``) as Ultralytics' ``make_anchors`` builds
    them for a square input: cell centres ``i + 0.5``, row-major per stride, strides in order."""
    points, stride_rows = [], []
    for s in strides:
        n = imgsz // s
        sy, sx = np.meshgrid(np.arange(n, dtype=np.float32) + 0.5, np.arange(n, dtype=np.float32) + 0.5, indexing="ij")
        points.append(np.stack([sx.ravel(), sy.ravel()]))
        stride_rows.append(np.full(n * n, s, np.float32))
    return np.concatenate(points, 1), np.concatenate(stride_rows)


def _not_yolo(path: Path, why: str) -> EdgekitError:
    return EdgekitError(
        f"{path} is not a recognisable YOLOv8/YOLO11 detection head ({why}); resize it where it was trained "
        "(e.g. Ultralytics: YOLO('best.pt').export(format='onnx', imgsz=N)) and pass that file"
    )


class _Constants:
    """Every constant tensor of a graph (initializers and Constant nodes), readable and replaceable."""

    def __init__(self, graph: Any) -> None:
        from onnx import numpy_helper

        self._nh = numpy_helper
        self.graph = graph
        self.items: list[tuple[str, Any]] = [(i.name, i) for i in graph.initializer]
        for n in graph.node:
            if n.op_type == "Constant":
                for a in n.attribute:
                    if a.name == "value":
                        self.items.append((n.output[0], a.t))

    def array(self, tensor: Any) -> npt.NDArray[Any]:
        return np.asarray(self._nh.to_array(tensor))

    def replace(self, tensor: Any, value: npt.NDArray[Any]) -> None:
        new = self._nh.from_array(value.astype(self.array(tensor).dtype), tensor.name)
        tensor.CopyFrom(new)


def _strides_for(imgsz: int, anchors: int, scales: int) -> tuple[int, ...] | None:
    for strides in STRIDE_SETS:
        if len(strides) == scales and anchor_count(imgsz, strides) == anchors:
            return strides
    return None


def _head_scales(graph: Any) -> int:
    """Number of per-scale branches: inputs of the Concat that joins the per-scale Reshapes (0 if none)."""
    merge = head_merge(graph)
    return len(merge.input) if merge is not None else 0


def resize_head(src: Path, out: Path, imgsz: int) -> Path:
    """Write ``src`` (a static YOLOv8/11 detector ONNX) with input ``imgsz``×``imgsz`` to ``out``.

    Raises ``EdgekitError`` (one line) for a size that is not a multiple of 32 in 160..1280 and for a graph whose
    size-dependent constants are not the ones a YOLOv8/11 head has.

    Examples:
        >>> resize_head(Path("models/yolov8s-fall.onnx"), Path("out/yolov8s-fall-320.onnx"), 320)  # doctest: +SKIP
    """
    import onnx

    check_size(imgsz)
    model = onnx.load(str(src))
    graph = model.graph
    init_names = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in init_names]
    if len(inputs) != 1 or len(graph.output) != 1:
        raise _not_yolo(src, "expected one image input and one output")
    in_dims = inputs[0].type.tensor_type.shape.dim
    out_dims = graph.output[0].type.tensor_type.shape.dim
    if len(in_dims) != 4 or len(out_dims) != 3 or in_dims[2].dim_value != in_dims[3].dim_value:
        raise _not_yolo(src, "expected a square [1, 3, N, N] input and a [1, 4 + classes, anchors] output")
    n0, a0 = int(in_dims[2].dim_value), int(out_dims[2].dim_value)
    strides = _strides_for(n0, a0, _head_scales(graph))
    if n0 <= 0 or strides is None:
        raise _not_yolo(src, f"{a0} anchors at input {n0} is not a stride-8/16/32 grid behind a per-scale concat")
    points0, stride_row0 = make_anchors(n0, strides)
    points1, stride_row1 = make_anchors(imgsz, strides)
    a1 = points1.shape[1]
    per_scale = {(n0 // s) ** 2: (imgsz // s) ** 2 for s in strides}
    consts = _Constants(graph)
    shape_inputs = {n.input[1] for n in graph.node if n.op_type == "Reshape" and len(n.input) > 1}
    found = {"anchors": 0, "strides": 0, "reshapes": 0}
    for name, t in consts.items:
        v = consts.array(t)
        if v.dtype.kind == "f" and v.size == 2 * a0 and np.array_equal(v.reshape(2, a0), points0):
            consts.replace(t, points1.reshape((*v.shape[:-1], a1)))
            found["anchors"] += 1
            continue
        if v.dtype.kind == "f" and v.size == a0 and np.array_equal(v.reshape(-1), stride_row0):
            consts.replace(t, stride_row1.reshape((*v.shape[:-1], a1)))
            found["strides"] += 1
            continue
        if v.dtype.kind == "i" and v.ndim == 1 and name in shape_inputs and ({a0} | set(per_scale)) & set(v.tolist()):
            consts.replace(t, np.array([a1 if x == a0 else per_scale.get(int(x), int(x)) for x in v], v.dtype))
            found["reshapes"] += 1
            continue
        if a0 in v.shape or (v.dtype.kind == "i" and a0 in v.reshape(-1).tolist()):
            raise _not_yolo(src, f"constant {name} of shape {list(v.shape)} depends on the input size")
    if not found["anchors"] or not found["strides"]:
        raise _not_yolo(src, "no anchor grid or stride row matching the input size")
    for n in graph.node:
        if n.op_type == "Resize" and len(n.input) > 3 and n.input[3]:
            raise _not_yolo(src, f"{n.name} resizes to fixed sizes, not by scales")
    in_dims[2].dim_value = in_dims[3].dim_value = imgsz
    out_dims[2].dim_value = a1
    del graph.value_info[:]  # intermediate shapes were for the old size; ONNX Runtime infers them again
    for m in model.metadata_props:
        if m.key == "imgsz":
            m.value = str([imgsz, imgsz])
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out))
    _check(out, imgsz, [1, int(out_dims[1].dim_value), a1])
    log.info("resized %s %d -> %d (%s)", src.name, n0, imgsz, found)
    return out


def _check(path: Path, imgsz: int, want: list[int]) -> None:
    """Run the rewritten model once; a model that does not run or has another output shape is an error."""
    import onnxruntime as ort

    try:
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        y = sess.run(None, {sess.get_inputs()[0].name: np.zeros((1, 3, imgsz, imgsz), np.float32)})[0]
    except Exception as e:  # ORT raises its own Fail/InvalidGraph types
        raise EdgekitError(f"the resized model {path} does not run in ONNX Runtime: {str(e)[:300]}") from e
    if list(y.shape) != want:
        raise EdgekitError(f"the resized model {path} outputs {list(y.shape)}, expected {want}")

