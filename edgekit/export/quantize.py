"""INT8 static quantization of ONNX detectors with ONNX Runtime (QDQ, per-channel), and the head's float tail.

Why a float tail: a YOLOv8/11 head ends in one Concat that puts pixel boxes (0..imgsz) and 0..1 class scores under
one quantization scale, so a naive full INT8 model outputs all-zero scores. ``decode_tail_nodes`` finds the decode
part after the per-scale Reshape → Concat so it can be left in float.
"""

from __future__ import annotations

import inspect
import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from edgekit.errors import EdgekitError
from edgekit.export.calib import TensorReader

log = logging.getLogger(__name__)

CALIBRATION_METHODS = ("minmax", "entropy", "percentile")


def _graph(path: Path) -> Any:
    import onnx

    return onnx.load(str(path), load_external_data=False).graph


def _consumers(graph: Any) -> dict[str, list[Any]]:
    cons: dict[str, list[Any]] = {}
    for n in graph.node:
        for i in n.input:
            cons.setdefault(i, []).append(n)
    return cons


def _descendants(graph: Any, start: Any) -> list[str]:
    """Names of ``start`` and every node fed (transitively) by it, in graph order."""
    cons = _consumers(graph)
    seen = {start.name}
    stack = list(start.output)
    while stack:
        t = stack.pop()
        for n in cons.get(t, []):
            if n.name not in seen:
                seen.add(n.name)
                stack.extend(n.output)
    return [n.name for n in graph.node if n.name in seen]


def decode_tail_nodes(path: Path) -> list[str]:
    """The head's decode tail: the Concat that joins the per-scale Reshapes, and every node after it.

    Falls back to ``output_tail_nodes`` when the graph has no such Concat (another head layout).
    """
    graph = _graph(path)
    merge = head_merge(graph)
    if merge is None:
        return output_tail_nodes(path)
    return _descendants(graph, merge)


def head_merge(graph: Any) -> Any | None:
    """The last Concat whose inputs all come from Reshapes: where a YOLO head joins its per-scale branches (one
    input per scale). None for another head layout."""
    producer = {o: n for n in graph.node for o in n.output}
    merges = [
        n
        for n in graph.node
        if n.op_type == "Concat"
        and len(n.input) >= 2
        and all(producer.get(i) is not None and producer[i].op_type == "Reshape" for i in n.input)
    ]
    return merges[-1] if merges else None


def output_tail_nodes(path: Path) -> list[str]:
    """The smallest sensitive set: the final output node and the Sigmoid(s) feeding it directly."""
    graph = _graph(path)
    producer = {o: n for n in graph.node for o in n.output}
    names: list[str] = []
    for out in graph.output:
        last = producer.get(out.name)
        if last is None:
            continue
        names.append(last.name)
        names += [producer[i].name for i in last.input if i in producer and producer[i].op_type == "Sigmoid"]
    return names


def preprocess(src: Path, out: Path) -> Path:
    """ONNX Runtime's ``quant_pre_process``: symbolic shape inference and graph optimisation before quantizing."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    try:
        quant_pre_process(str(src), str(out), skip_symbolic_shape=False)
    except Exception as e:  # the symbolic shape pass fails on some graphs; the ONNX shape pass alone still helps
        log.warning("quant_pre_process with symbolic shapes failed (%s); retrying without", e)
        quant_pre_process(str(src), str(out), skip_symbolic_shape=True)
    return out


def calibration_method(name: str) -> Any:
    """ONNX Runtime's CalibrationMethod for ``name`` (one of ``CALIBRATION_METHODS``)."""
    from onnxruntime.quantization import CalibrationMethod

    table = {
        "minmax": CalibrationMethod.MinMax,
        "entropy": CalibrationMethod.Entropy,
        "percentile": CalibrationMethod.Percentile,
    }
    if name not in table:
        raise EdgekitError(f"unknown calibration method {name!r}; choose one of: {', '.join(CALIBRATION_METHODS)}")
    return table[name]


def quantize_onnx(
    src: Path,
    out: Path,
    input_name: str,
    calib: npt.NDArray[np.float32],
    *,
    method: str = "minmax",
    per_channel: bool = True,
    exclude: Sequence[str] = (),
    cache: Path | None = None,
    op_types: Sequence[str] | None = None,
    reduce_range: bool = True,
    moving_average: bool = False,
) -> Path:
    """Static INT8 QDQ quantization of ``src`` (already pre-processed) into ``out``.

    ``calib`` holds the calibration inputs (N×3×H×W, model pre-processing applied); ``exclude`` names nodes left in
    float. ``reduce_range`` quantizes weights to 7 bits: x86 CPUs without VNNI (AVX2 only) add u8×s8 products
    pairwise into saturating int16, and with full 8-bit weights the detector lost ~5 mAP50-95 points on such a
    machine; 7-bit weights cannot saturate (``export.weights`` chooses per target CPU). ``cache`` keeps the
    calibration ranges on disk (recent onnxruntime) so a retry with other excluded nodes does not calibrate again.
    ``moving_average`` (``minmax`` only) averages each frame's min/max instead of taking the extremes of all frames:
    one outlier frame no longer widens a range (and coarsens its steps) for every frame.
    Activations uint8 and weights int8: the fast path of ORT's CPU kernels.
    """
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static

    if len(calib) == 0:
        raise EdgekitError("no calibration images: pass --calib DIR with representative frames")
    kwargs: dict[str, Any] = {}
    if cache is not None and "calibration_cache_path" in inspect.signature(quantize_static).parameters:
        kwargs["calibration_cache_path"] = str(cache)
    extra: dict[str, Any] = {"ActivationSymmetric": False, "WeightSymmetric": True}
    if moving_average and method == "minmax":
        extra["CalibMovingAverage"] = True
    if method == "percentile":
        extra["CalibPercentile"] = 99.999
    quantize_static(
        str(src),
        str(out),
        TensorReader(input_name, calib),
        quant_format=QuantFormat.QDQ,
        per_channel=per_channel,
        reduce_range=reduce_range,
        activation_type=QuantType.QUInt8,
        weight_type=QuantType.QInt8,
        nodes_to_exclude=list(exclude),
        op_types_to_quantize=list(op_types) if op_types else None,
        calibrate_method=calibration_method(method),
        extra_options=extra,
        **kwargs,
    )
    log.info("quantized %s -> %s (%s, %d nodes in float)", src, out, method, len(exclude))
    return out


def scratch_dir(parent: Path) -> Path:
    """A fresh temporary folder under ``parent`` for intermediate models."""
    parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".edgekit-quant-", dir=parent))
