"""ONNX → ONNX: opset, static or dynamic batch, simplification (onnxslim) and FP16 with float32 IO."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from edgekit.errors import EdgekitError, MissingDependencyError

log = logging.getLogger(__name__)


def check_installed() -> None:
    """A one-line error unless the ONNX tools (``onnx``, ``onnxslim``) import here."""
    try:
        import onnx  # noqa: F401
        import onnxslim  # noqa: F401
    except ImportError as e:
        raise MissingDependencyError(f"{e.name} (ONNX export)", "pip install 'edgekit[export]'") from e


def _load(path: Path) -> Any:
    import onnx

    return onnx.load(str(path))


def set_opset(model: Any, opset: int) -> Any:
    """Convert ``model`` to the default-domain ``opset`` (no-op when it already is)."""
    from onnx import version_converter

    current = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    if current == opset:
        return model
    try:
        return version_converter.convert_version(model, opset)
    except Exception as e:  # the converter raises RuntimeError/ConvertError with C++ text
        raise EdgekitError(f"cannot convert the model from opset {current} to {opset}: {str(e)[:200]}") from e


def set_batch(model: Any, dynamic: bool) -> Any:
    """Make the first axis of every graph input and output a named dynamic ``batch`` axis, or fix it to 1.

    Only the batch axis changes; YOLOv8 graphs built with a static batch keep constant reshapes, so a dynamic batch
    needs a source exported with ``dynamic=True`` (checked by running it, see ``check_runs``).
    """
    for vi in [*model.graph.input, *model.graph.output]:
        dims = vi.type.tensor_type.shape.dim
        if not dims:
            continue
        if dynamic:
            dims[0].ClearField("dim_value")
            dims[0].dim_param = "batch"
        else:
            dims[0].ClearField("dim_param")
            dims[0].dim_value = 1
    return model


def slim(model: Any) -> Any:
    """Simplify with onnxslim (constant folding, dead-node and redundant-op removal)."""
    try:
        import onnxslim
    except ImportError as e:
        raise MissingDependencyError("onnxslim", "pip install 'edgekit[export]' (or pass --no-simplify)") from e
    return onnxslim.slim(model)


def to_fp16(model: Any) -> Any:
    """Weights and activations to float16, graph inputs and outputs kept float32 (callers feed float32).

    Uses the converter that ships inside onnxruntime (``onnxruntime.transformers.float16``), so no extra package.
    """
    from onnxruntime.transformers.float16 import convert_float_to_float16

    return convert_float_to_float16(model, keep_io_types=True, disable_shape_infer=False)


def check_runs(path: Path, batch: int = 1) -> None:
    """Run the model once on zeros with ONNX Runtime; a model that cannot run is an error, not a report line."""
    import numpy as np
    import onnxruntime as ort

    try:
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        inp = sess.get_inputs()[0]
        shape = [batch if not isinstance(d, int) else d for d in inp.shape]
        shape[0] = batch
        sess.run(None, {inp.name: np.zeros(shape, np.float32)})
    except Exception as e:  # ORT raises its own Fail/InvalidGraph types
        raise EdgekitError(f"the exported model {path} does not run in ONNX Runtime: {str(e)[:300]}") from e


def onnx2onnx(
    src: Path,
    out: Path,
    *,
    precision: str = "fp32",
    opset: int | None = None,
    dynamic: bool = False,
    simplify: bool = True,
) -> Path:
    """Write ``out`` from ``src`` with the requested opset, batch axis, simplification and FP16/FP32 precision.

    INT8 is not done here: it needs calibration data and the accuracy gate (see ``quantize.quantize_onnx``).

    Examples:
        >>> onnx2onnx(Path("models/yolov8s-fall.onnx"), Path("out/fp16.onnx"), precision="fp16")  # doctest: +SKIP
    """
    import onnx

    if precision not in ("fp32", "fp16"):
        raise EdgekitError(f"onnx2onnx writes fp32 or fp16, not {precision!r} (int8 goes through quantize)")
    model = _load(src)
    if opset is not None:
        model = set_opset(model, opset)
    model = set_batch(model, dynamic)
    if simplify:
        model = slim(model)
    if precision == "fp16":
        model = to_fp16(model)
    out.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(out))
    try:
        check_runs(out, batch=2 if dynamic else 1)
    except EdgekitError as e:
        if not dynamic:
            raise
        raise EdgekitError(
            f"{src} has a static batch baked into its reshapes, so a dynamic batch axis does not run: "
            "export it from the .pt with dynamic=True (or drop --dynamic)"
        ) from e
    log.info("wrote %s (%s, opset %s, %s batch)", out, precision, opset or "kept", "dynamic" if dynamic else "static")
    return out
