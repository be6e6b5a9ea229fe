"""A static batch-N copy of a YOLOv8-style ONNX whose graph fixes batch 1 (the shipped detector), for measuring
what batching gains on a runtime: the input/output batch and every Reshape shape that starts with 1 become N."""

from __future__ import annotations

from pathlib import Path


def batched_model(src: Path, n: int, dst: Path) -> Path:
    """Write ``src`` rewritten for batch ``n`` to ``dst``; the caller checks its outputs against batch 1."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    m = onnx.load(str(src))
    inits = {i.name: i for i in m.graph.initializer}
    consts = {n_.output[0]: n_ for n_ in m.graph.node if n_.op_type == "Constant"}
    for node in m.graph.node:
        if node.op_type != "Reshape":
            continue
        name = node.input[1]
        if name in inits:
            shape = numpy_helper.to_array(inits[name]).copy()
            if shape[0] == 1:
                shape[0] = n
                inits[name].CopyFrom(numpy_helper.from_array(shape.astype(np.int64), name))
        elif name in consts:
            attr = consts[name].attribute[0]
            shape = numpy_helper.to_array(attr.t).copy()
            if shape[0] == 1:
                shape[0] = n
                attr.t.CopyFrom(numpy_helper.from_array(shape.astype(np.int64)))
    for v in (*m.graph.input, *m.graph.output):
        v.type.tensor_type.shape.dim[0].dim_value = n
    del m.graph.value_info[:]
    onnx.save(m, str(dst))
    return dst
