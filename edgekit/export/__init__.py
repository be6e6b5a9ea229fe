"""Export: source model → ONNX FP32/FP16/INT8, TFLite, Edge TPU, TensorRT, each gated on accuracy with a report.

One small ``src2dst`` module per converter (``onnx2onnx``, ``quantize``, ``onnx2tflite``, ``tflite2edgetpu``,
``onnx2engine``, ``pt2onnx``), the format table in ``formats``, the gate in ``gate``/``evaluate``/``valset``, and
``pipeline.export`` tying them together. Heavy libraries are imported inside the functions that need them.
"""

from edgekit.export.formats import FORMATS, ExportFormat, get_format
from edgekit.export.pipeline import ExportOptions, export

__all__ = ["FORMATS", "ExportFormat", "ExportOptions", "export", "get_format"]
