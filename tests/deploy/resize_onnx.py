"""Resize the shipped YOLOv8 ONNX (static 640) to a smaller square input, for the emulated arm64 test.

Only five constants of the head depend on the input size (see ../shared/README.md, "Resizing the shipped
detector"): the DFL reshape shapes ``[1,4,16,A]`` and ``[1,4,A]``, the anchor grids ``(1,2,A)`` (cell centres,
i + 0.5, strides 8/16/32) and the stride row ``(1,A)``. They are found by value, rewritten for the new grid, and
each rewrite is checked by recomputing the 640 value first.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

STRIDES = (8, 16, 32)


def anchors(size: int) -> tuple[np.ndarray, np.ndarray]:
    pts, strides = [], []
    for s in STRIDES:
        g = size // s
        ys, xs = np.meshgrid(np.arange(g) + 0.5, np.arange(g) + 0.5, indexing="ij")
        pts.append(np.stack([xs.ravel(), ys.ravel()]))
        strides.append(np.full(g * g, s))
    return np.concatenate(pts, 1)[None].astype(np.float32), np.concatenate(strides)[None].astype(np.float32)


def resize_yolov8(src: Path, dst: Path, size: int) -> Path:
    m = onnx.load(str(src))
    old = m.graph.input[0].type.tensor_type.shape.dim[2].dim_value
    a_old, n = anchors(old)[0].shape[2], anchors(size)[0].shape[2]
    grid_old, stride_old = anchors(old)
    grid_new, stride_new = anchors(size)
    changed = 0

    def rewrite(t: onnx.TensorProto) -> onnx.TensorProto | None:
        nonlocal changed
        v = numpy_helper.to_array(t)
        new = None
        if v.dtype == np.int64 and v.ndim == 1 and a_old in v.tolist():
            new = np.where(v == a_old, n, v).astype(np.int64)
        elif v.shape == (1, 2, a_old) and np.allclose(v, grid_old):
            new = grid_new
        elif v.shape == (1, a_old) and np.allclose(v, stride_old):
            new = stride_new
        if new is None:
            return None
        changed += 1
        return numpy_helper.from_array(new.astype(v.dtype), t.name)

    for i, init in enumerate(m.graph.initializer):
        r = rewrite(init)
        if r is not None:
            m.graph.initializer[i].CopyFrom(r)
    for node in m.graph.node:
        if node.op_type == "Constant":
            for attr in node.attribute:
                if attr.name == "value":
                    r = rewrite(attr.t)
                    if r is not None:
                        attr.t.CopyFrom(r)
    if changed < 5:
        raise ValueError(f"found {changed} of the 5 size-dependent head constants in {src}")
    dims = m.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_value = dims[3].dim_value = size
    m.graph.output[0].type.tensor_type.shape.dim[2].dim_value = n
    del m.graph.value_info[:]
    onnx.checker.check_model(m)
    onnx.save(m, str(dst))
    return dst
