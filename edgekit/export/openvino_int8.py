"""OpenVINO INT8 through NNCF post-training quantization, on the ``ov.Model`` itself (no torch, no ONNX detour).

The YOLO head's decode tail (the Concat that joins the per-scale branches, and everything after it: DFL, anchors,
Sigmoid, the final Concat of pixel boxes and 0..1 scores) stays in float, for the reason ``quantize`` gives for
ONNX Runtime: one INT8 scale over boxes and scores rounds the scores to zero. It is found by structure in the
OpenVINO graph, not by name.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from typing import Any

import numpy as np
import numpy.typing as npt

from edgekit.backends.openvino import import_openvino
from edgekit.errors import MissingDependencyError

log = logging.getLogger(__name__)

OVERFLOW_NOTE = (
    "NNCF's overflow fix (its default): the first layer's weights use 7 bits, so u8×s8 pairs cannot saturate the "
    "16-bit sums of CPUs without VNNI (AVX2, AVX-512F); the rest use 8 bits"
)


def import_nncf() -> Any:
    """The ``nncf`` module, or a one-line ``MissingDependencyError`` that says how to install it."""
    try:
        import nncf
    except ImportError as e:
        raise MissingDependencyError("NNCF (OpenVINO's INT8 quantizer)", "pip install 'edgekit[openvino]'") from e
    return nncf


def check_installed() -> None:
    """A one-line error unless OpenVINO (every leg) is here; NNCF is checked when the INT8 leg starts."""
    import_openvino()


def decode_tail(model: Any) -> list[str]:
    """Friendly names of the head's merge Concat (all inputs from Reshapes, the last such) and every op it feeds,
    Results excluded; empty when the graph has no such Concat (another head layout: nothing is kept in float)."""
    ops = model.get_ordered_ops()
    merges = [
        op for op in ops
        if op.get_type_name() == "Concat" and op.get_input_size() >= 2
        and all(op.input_value(i).get_node().get_type_name() == "Reshape" for i in range(op.get_input_size()))
    ]
    if not merges:
        return []
    seen: dict[str, Any] = {}
    stack = [merges[-1]]
    while stack:
        op = stack.pop()
        name = op.get_friendly_name()
        if name in seen or op.get_type_name() == "Result":
            continue
        seen[name] = op
        stack.extend(t.get_node() for out in op.outputs() for t in out.get_target_inputs())
    return [op.get_friendly_name() for op in ops if op.get_friendly_name() in seen]


def head_ends(model: Any) -> list[str]:
    """The last layers of each head branch: walking back from the merge Concat's Reshapes through the per-scale
    Concat to each branch's final Convolution (and its bias Add). Kept in float by the gate's second rung."""
    merges = [n for n in decode_tail(model)[:1]]
    if not merges:
        return []
    by_name = {op.get_friendly_name(): op for op in model.get_ordered_ops()}
    found: list[str] = []
    stack = [(by_name[merges[0]].input_value(i).get_node(), 0) for i in range(by_name[merges[0]].get_input_size())]
    while stack:
        op, depth = stack.pop()
        kind = op.get_type_name()
        if kind in ("Constant", "Parameter") or depth > 4 or op.get_friendly_name() in found:
            continue
        found.append(op.get_friendly_name())
        if kind != "Convolution":
            stack.extend((op.input_value(i).get_node(), depth + 1) for i in range(op.get_input_size()))
    return [n for n in by_name if n in found]


def quantize(model: Any, calib: npt.NDArray[np.float32], keep_float: list[str]) -> Any:
    """``model`` quantized to INT8 on ``calib`` (N×3×H×W), with the ops named in ``keep_float`` left in float.

    Mixed preset: symmetric weights, asymmetric activations (the SiLU outputs are not centred on zero). NNCF's full
    bias correction, not its fast one: on the shipped detector at 640 the fast one lost 3.6-4.0 points of mAP50-95
    and failed the gate, the full one 0.97 (2026-12-06, benchmarks/README.md "edgekit tune").
    """
    nncf = import_nncf()
    nncf.set_log_level(logging.ERROR)  # its INFO lines and progress bars would interleave with edgekit's
    data = nncf.Dataset([c[None] for c in calib])
    # NNCF draws its progress bars on rich's console, stdout by default: keep stdout for `--json`
    with contextlib.redirect_stdout(sys.stderr):
        return nncf.quantize(
            model,
            data,
            preset=nncf.QuantizationPreset.MIXED,
            fast_bias_correction=False,
            subset_size=len(calib),
            ignored_scope=nncf.IgnoredScope(names=keep_float, validate=False),
        )


def nncf_version() -> str:
    return str(import_nncf().__version__)
