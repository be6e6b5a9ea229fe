"""Export: source model → ONNX FP32/FP16/INT8, TFLite, Edge TPU, TensorRT, each gated on accuracy with a report.

``pipeline.export`` checks the request against the format table (``formats.FORMATS``), loads everything one export
needs once into an ``run.ExportRun`` and calls the target's ``build(run)`` (``build_onnx``, ``build_tflite``,
``build_edgetpu``, ``build_tensorrt``). Those use one small ``src2dst`` module per converter (``onnx2onnx``,
``quantize``, ``onnx2tflite``, ``tflite2edgetpu``, ``pt2onnx``; the TensorRT engine builder lives in
``edgekit.backends.tensorrt_build``, since a Jetson builds its engine at first start) and the gate (``gate``,
``evaluate``, ``valset``). Heavy libraries are imported inside the functions that need them.
"""

from edgekit.export.formats import FORMATS, ExportFormat, get_format
from edgekit.export.pipeline import export
from edgekit.export.run import ExportOptions, ExportRun

__all__ = ["FORMATS", "ExportFormat", "ExportOptions", "ExportRun", "export", "get_format"]
