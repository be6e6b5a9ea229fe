"""Open and check the model an export starts from: an ONNX file (or an Ultralytics ``.pt``, via pt2onnx)."""

from __future__ import annotations

import ast
import logging
from dataclasses import dataclass, field
from pathlib import Path

from edgekit.errors import EdgekitError
from edgekit.vision.yolo import check_yolo_output

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SourceModel:
    """A checked FP32 ONNX detector: where it is, its input name and size, and its classes."""

    path: Path
    input_name: str
    imgsz: int
    batch: int | str | None
    output_name: str
    output_shape: tuple[int | str | None, ...]
    labels: list[str] = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.labels)


def _dims(value_info: object) -> tuple[int | str | None, ...]:
    shape = value_info.type.tensor_type.shape  # type: ignore[attr-defined]
    return tuple(d.dim_value if d.HasField("dim_value") else (d.dim_param or None) for d in shape.dim)


def _labels_from_metadata(meta: dict[str, str]) -> list[str]:
    names = meta.get("names")
    if not names:
        return []
    try:
        parsed = ast.literal_eval(names)  # Ultralytics writes "{0: 'Normal', 1: 'Fall'}"
    except (ValueError, SyntaxError):
        return []
    if isinstance(parsed, dict):
        return [str(parsed[k]) for k in sorted(parsed)]
    return [str(x) for x in parsed] if isinstance(parsed, list) else []


def open_source(path: str | Path, labels: list[str] | None = None) -> SourceModel:
    """Load ``path`` as an ONNX YOLO-style detector and check its input and output shapes.

    Raises ``EdgekitError`` with one line for a missing file, a file that is not an ONNX model, or a model whose
    single output is not ``[1, 4 + classes, anchors]``.

    Examples:
        >>> src = open_source("models/yolov8s-fall.onnx")  # doctest: +SKIP
        >>> src.imgsz, src.labels  # doctest: +SKIP
        (640, ['Normal', 'Fall'])
    """
    import onnx

    p = Path(path)
    if not p.is_file():
        raise EdgekitError(f"model file not found: {p}")
    if p.suffix.lower() == ".pt":
        raise EdgekitError(f"{p} is a PyTorch checkpoint: convert it first with edgekit.export.pt2onnx")
    try:
        model = onnx.load(str(p), load_external_data=False)
    except Exception as e:  # onnx raises DecodeError / ValueError / OSError for non-model files
        raise EdgekitError(f"{p} is not an ONNX model ({type(e).__name__}); pass a .onnx or .pt file") from e
    if not model.graph.node:
        raise EdgekitError(f"{p} is not an ONNX model (no graph); pass a .onnx or .pt file")
    init_names = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in init_names]
    if len(inputs) != 1 or len(model.graph.output) != 1:
        raise EdgekitError(
            f"{p} has {len(inputs)} inputs and {len(model.graph.output)} outputs; a YOLOv8/11 detector exported "
            "without NMS has one image input and one output [1, 4 + classes, anchors]"
        )
    in_shape = _dims(inputs[0])
    if len(in_shape) != 4 or in_shape[1] != 3:
        raise EdgekitError(f"{p} input {inputs[0].name} has shape {list(in_shape)}, expected [N, 3, H, W]")
    h, w = in_shape[2], in_shape[3]
    if not (isinstance(h, int) and isinstance(w, int) and h == w and h > 0):
        raise EdgekitError(f"{p} input has shape {list(in_shape)}: export a square static image size (--imgsz)")
    out = model.graph.output[0]
    out_shape = _dims(out)
    if len(out_shape) != 3 or not any(isinstance(d, int) and d > 4 for d in out_shape[1:]):
        raise EdgekitError(
            f"{p} output {out.name} has shape {list(out_shape)}, expected [1, 4 + classes, anchors] "
            "(a YOLOv8/11 detection head exported without NMS)"
        )
    meta = {m.key: m.value for m in model.metadata_props}
    names = labels or _labels_from_metadata(meta)
    if not names and len(out_shape) == 3 and isinstance(out_shape[1], int):
        names = [f"class{i}" for i in range(out_shape[1] - 4)]
    check_yolo_output(out_shape, len(names))
    return SourceModel(p, inputs[0].name, int(h), in_shape[0], out.name, out_shape, names)
