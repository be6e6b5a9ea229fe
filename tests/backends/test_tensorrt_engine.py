"""When a board builds its TensorRT engine (no engine, or one from another TensorRT version or GPU), where the
engine and its timing cache go, and the line it logs — all without TensorRT, which cannot be installed here."""

from __future__ import annotations

from pathlib import Path

from edgekit.backends.tensorrt_engine import EngineSidecar, first_start_message, rebuild_reason, timing_cache_path


def _engine(tmp_path: Path, tensorrt: str = "10.3.0", gpu: str = "Orin") -> Path:
    engine = tmp_path / "yolov8s-fall-640_fp16.engine"
    engine.write_bytes(b"serialized engine")
    EngineSidecar(source="m.onnx", precision="fp16", imgsz=640, labels=["Fall", "Normal"], tensorrt=tensorrt,
                  gpu=gpu).write(engine)
    return engine


def test_rebuild_reason(tmp_path: Path) -> None:
    assert rebuild_reason(tmp_path / "none.engine", "10.3.0") == "no engine yet"
    engine = _engine(tmp_path)
    assert rebuild_reason(engine, "10.3.0", "Orin") is None
    assert rebuild_reason(engine, "10.3.0", "") is None  # GPU unknown here: the version decides
    assert rebuild_reason(engine, "10.7.0", "Orin") == "the engine was built by TensorRT 10.3.0, this is TensorRT 10.7.0"
    assert rebuild_reason(engine, "10.3.0", "RTX 4090") == "the engine was built for Orin, this GPU is RTX 4090"
    engine.with_name(engine.name + ".json").unlink()
    assert "no sidecar" in str(rebuild_reason(engine, "10.3.0"))
    engine.with_name(engine.name + ".json").write_text("{not json")
    assert "no sidecar" in str(rebuild_reason(engine, "10.3.0"))


def test_timing_cache_sits_next_to_the_engine_and_the_message_names_both(tmp_path: Path) -> None:
    engine = tmp_path / "exports" / "abc" / "uncalibrated" / "yolov8s-fall-640_fp16.engine"
    cache = timing_cache_path(engine)
    assert cache == engine.with_name("yolov8s-fall-640_fp16.timing.cache")
    msg = first_start_message(Path("/r/yolov8s-fall.onnx"), engine, "fp16", "no engine yet")
    assert "\n" not in msg
    assert msg.startswith("building the TensorRT FP16 engine for this device (no engine yet): /r/yolov8s-fall.onnx")
    assert str(engine) in msg and f"timing cache {cache} written" in msg
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"timings")
    assert f"timing cache {cache} reused" in first_start_message(Path("m.onnx"), engine, "fp16", "x")
