"""GPU timing of the default detector where a CUDA GPU is lent, through PyTorch (TensorRT is not obtainable here).

The ONNX model is converted to a torch module with onnx2torch and wrapped in a backend that implements edgekit's
Backend protocol, so the same Detector pre/post-processing and the same decode → detect pipeline run around it.
Measures, side by side in one run on that machine: ONNX Runtime CPU raw, torch CUDA FP32 and FP16 raw (with CUDA
synchronisation), edgekit detect and pipeline FPS on CUDA FP16, and output parity of each GPU path against ORT CPU.

Usage (on the GPU machine, repo root): python -m benchmarks.gpu_bench --out OUT.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]


class TorchBackend:
    """An onnx2torch module on CUDA behind edgekit's Backend protocol (float32 in and out)."""

    def __init__(self, onnx_path: Path, half: bool) -> None:
        import onnx
        import torch
        from onnx2torch import convert

        from edgekit.backends.base import BackendOptions
        from edgekit.backends.onnxruntime import OnnxRuntimeBackend

        probe = OnnxRuntimeBackend(onnx_path, BackendOptions(threads=1))
        self._inputs, self._outputs = probe.inputs, probe.outputs
        probe.close()
        self.torch = torch
        self.half = half
        self.module = convert(onnx.load(str(onnx_path))).eval().cuda()
        if half:
            self.module = self.module.half()
        self.name = f"torch[cuda,{'fp16' if half else 'fp32'}]"

    @property
    def inputs(self) -> list[Any]:
        return self._inputs

    @property
    def outputs(self) -> list[Any]:
        return self._outputs

    def infer(self, inputs: list[np.ndarray]) -> list[np.ndarray]:
        t = self.torch.from_numpy(inputs[0]).cuda(non_blocking=True)
        with self.torch.inference_mode():
            out = self.module(t.half() if self.half else t)
        return [out.float().cpu().numpy()]

    def close(self) -> None:
        del self.module


def timed(fn: Any, warmup: int, runs: int) -> dict[str, Any]:
    from edgekit.bench.measure import timed_ms
    from edgekit.timing import percentiles

    ms = timed_ms(fn, warmup, runs)
    return {"latency_ms": percentiles(ms), "fps": round(1000 * len(ms) / sum(ms), 2)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", type=Path, default=REPO / "models" / "yolov8s-fall.onnx")
    ap.add_argument("--runs", type=int, default=300)
    ap.add_argument("--warmup", type=int, default=30)
    ap.add_argument("--frames", type=int, default=300)
    ap.add_argument("--cpu-threads", type=int, default=8)
    ap.add_argument("--out", type=Path, required=True)
    a = ap.parse_args()

    import torch

    from edgekit.backends.base import BackendOptions
    from edgekit.backends.onnxruntime import OnnxRuntimeBackend
    from edgekit.bench.measure import bench_detect, bench_pipeline
    from edgekit.sources import make_synthetic_video
    from edgekit.sources.synthetic import SyntheticScene
    from edgekit.vision.detector import Detector

    img = SyntheticScene.random(0).render(1.0)[0]
    cpu = OnnxRuntimeBackend(a.model, BackendOptions(threads=a.cpu_threads))
    det_cpu = Detector(cpu, ["Normal", "Fall"])
    tensor, _ = det_cpu.preprocess(img)
    ref = cpu.infer([tensor])[0]
    res: dict[str, Any] = {
        "gpu": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cpu_cores": os.cpu_count(),
        "python": platform.python_version(),
        "ort_cpu_raw": timed(lambda: cpu.infer([tensor]), 5, max(20, a.runs // 10)),
        "ort_cpu_threads": a.cpu_threads,
    }
    with tempfile.TemporaryDirectory() as tmp:
        clip = make_synthetic_video(
            Path(tmp) / "walk.mp4", seconds=(a.frames + a.warmup) / 15, fps=15, seed=0
        )
        for half in (False, True):
            be = TorchBackend(a.model, half)
            key = "fp16" if half else "fp32"

            def raw(be: TorchBackend = be) -> None:
                be.infer([tensor])
                torch.cuda.synchronize()

            out = be.infer([tensor])[0]
            det = Detector(be, ["Normal", "Fall"])
            res[key] = {
                "raw": timed(raw, a.warmup, a.runs),
                "detect": bench_detect(det, img, a.warmup, a.runs),
                "pipeline": bench_pipeline(det, clip, a.warmup, a.frames + a.warmup),
                "parity_vs_ort_cpu": {
                    "max_abs_box": float(np.abs(out[0, :4] - ref[0, :4]).max()),
                    "max_abs_score": float(np.abs(out[0, 4:] - ref[0, 4:]).max()),
                },
            }
            r = res[key]
            r["ratios"] = {
                "detect/raw": round(r["detect"]["fps"] / r["raw"]["fps"], 3),
                "pipeline/raw": round(r["pipeline"]["fps"] / r["raw"]["fps"], 3),
            }
            be.close()
            torch.cuda.empty_cache()
    a.out.write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
