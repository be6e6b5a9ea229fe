from pathlib import Path

import pytest

from edgekit.device.artifacts import artifact_name
from edgekit.device.host import HostInfo
from edgekit.device.modelcards import resolve_model
from edgekit.device.plan import plan_runtime
from edgekit.device.profiles import list_profiles, load_profile, profile_names
from edgekit.errors import EdgekitError

DESKTOP_2CORE = HostInfo(
    board="desktop",
    model="Intel Xeon",
    cores=2,
    ram_mb=24000,
    ort_providers=["CPUExecutionProvider"],
    runtimes={"onnxruntime": True},
)


def test_all_bundled_profiles_validate_and_cover_the_boards():
    names = profile_names()
    for want in ("jetson-nano", "jetson-orin-nano", "rpi4", "rpi5", "coral-usb", "coral-devboard", "desktop"):
        assert want in names
    for p in list_profiles():
        assert p.board.mem_bandwidth_gbs > 0 and p.budgets.model_mb > 0
    assert load_profile("jetson-orin-nano").board.tensorrt == "10.3"


def test_unknown_profile_lists_the_known_ones():
    with pytest.raises(EdgekitError, match=r"unknown device profile 'rpi9'; known: .*rpi5"):
        load_profile("rpi9")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: x\n  bad: [", "invalid YAML"),
        ("- a\n- b\n", "expected a mapping"),
        (
            Path("devices/rpi5.yaml").read_text().replace("threads: 4\ncamera", "threds: 4\ncamera", 1),
            "runtime.threds: unknown key",
        ),
        (Path("devices/rpi5.yaml").read_text().replace("cores: 4", "cores: -1"), "board.cores"),
    ],
)
def test_invalid_profile_yaml_names_file_and_field(tmp_path, text, message):
    f = tmp_path / "board.yaml"
    f.write_text(text)
    with pytest.raises(EdgekitError, match=message) as e:
        load_profile(f)
    assert str(f) in str(e.value) and "\n" not in str(e.value)


def test_jetson_profile_on_a_desktop_substitutes_tensorrt_and_csi():
    card, path = resolve_model("yolov8s-fall")
    plan = plan_runtime(load_profile("jetson-nano"), DESKTOP_2CORE, path, card)
    assert plan.backend == "onnxruntime" and plan.options.providers == ("CPUExecutionProvider",)
    assert plan.emulated and plan.camera == "synthetic"
    subs = " | ".join(plan.substitutions)
    assert "TensorRT FP16 engine → ONNX Runtime CPU" in subs
    assert "camera csi://0 → synthetic" in subs
    assert "threads 4 → 2" in subs


def test_tensorrt_profile_uses_cuda_provider_when_onnxruntime_has_it():
    card, path = resolve_model("yolov8s-fall")
    gpu = HostInfo(
        **{**DESKTOP_2CORE.__dict__, "ort_providers": ["CUDAExecutionProvider", "CPUExecutionProvider"]}
    )
    plan = plan_runtime(load_profile("jetson-orin-nano"), gpu, path, card)
    assert plan.options.providers == ("CUDAExecutionProvider", "CPUExecutionProvider")
    assert any("ONNX Runtime CUDAExecutionProvider" in s for s in plan.substitutions)


def test_coral_profile_substitutes_the_edge_tpu():
    card, path = resolve_model("yolov8s-fall")
    plan = plan_runtime(load_profile("coral-usb"), DESKTOP_2CORE, path, card)
    assert any(s.startswith("Edge TPU →") for s in plan.substitutions)
    assert plan.options.use_edgetpu is False


def test_desktop_profile_on_desktop_substitutes_nothing():
    card, path = resolve_model("yolov8s-fall")
    plan = plan_runtime(load_profile("desktop"), DESKTOP_2CORE, path, card)
    assert plan.substitutions == [] and not plan.emulated and plan.options.threads == 2


def test_int8_variant_next_to_the_card_is_picked(tmp_path):
    import shutil

    from edgekit.device.modelcards import load_card

    (tmp_path / "yolov8s-fall.yaml").write_text(Path("models/yolov8s-fall.yaml").read_text())
    shutil.copy("models/yolov8s-fall.onnx", tmp_path / "yolov8s-fall.onnx")
    name = artifact_name("yolov8s-fall", 416, "int8", "onnxruntime")
    (tmp_path / name).write_bytes(b"stand-in: only its presence is planned on")
    card = load_card(tmp_path / "yolov8s-fall.yaml")
    plan = plan_runtime(load_profile("rpi5"), DESKTOP_2CORE, tmp_path / "yolov8s-fall.onnx", card)
    assert plan.model_path.name == name == "yolov8s-fall-416_int8.onnx"
    assert plan.precision == "int8" and plan.imgsz == 416 and not any("model" in s or "input" in s for s in plan.substitutions)


def test_exports_are_found_in_the_cache_and_failed_ones_are_not(tmp_path, monkeypatch):
    import json

    from edgekit.device.artifacts import export_dir

    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path))
    card, path = resolve_model("yolov8s-fall")
    name = artifact_name("yolov8s-fall", 320, "int8", "onnxruntime")
    failed = export_dir(card.sha256, "calib-a") / name
    failed.parent.mkdir(parents=True)
    failed.write_bytes(b"x")
    failed.with_name(name + ".report.json").write_text(json.dumps({"passed": False}))
    plan = plan_runtime(load_profile("rpi4"), DESKTOP_2CORE, path, card)
    assert plan.model_path == path and plan.precision == "fp32"
    assert any("`edgekit export --profile rpi4`" in s for s in plan.substitutions)
    good = export_dir(card.sha256, "calib-b") / name
    good.parent.mkdir(parents=True)
    good.write_bytes(b"x")
    plan = plan_runtime(load_profile("rpi4"), DESKTOP_2CORE, path, card)
    assert plan.model_path == good and (plan.precision, plan.imgsz) == ("int8", 320)


@pytest.mark.parametrize(
    ("file", "runtime", "backend"),
    [("m.onnx", "onnxruntime", "onnxruntime"), ("m-320_int8.tflite", "litert", "litert"),
     ("m-320_int8_edgetpu.tflite", "edgetpu", "litert"), ("m.engine", "tensorrt", "tensorrt"), ("m.plan", "tensorrt", "tensorrt"),
     ("m-640_bf16.xml", "openvino", "openvino")],
)
def test_one_runtime_table_names_files_and_backends(file, runtime, backend):
    from edgekit.backends import backend_for_suffix, runtime_for_file
    from edgekit.export.formats import format_for_runtime

    assert runtime_for_file(file).name == runtime and backend_for_suffix(file) == backend
    assert artifact_name("m", 320, "int8", runtime).endswith(format_for_runtime(runtime).suffix)


def test_profile_with_an_unknown_backend_lists_the_runtimes(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text(Path("devices/rpi5.yaml").read_text().replace("backend: onnxruntime", "backend: coreml"))
    with pytest.raises(
        EdgekitError, match=r"runtime.backend: .*unknown backend 'coreml'.*onnxruntime, litert, edgetpu, tensorrt, openvino"
    ):
        load_profile(f)


def test_every_profile_says_its_os_and_python_and_old_pythons_are_runtime_only():
    from edgekit.device.profiles import MIN_PYTHON, python_problem

    for p in list_profiles():
        assert p.board.os and p.board.python, p.name
        old = tuple(int(x) for x in p.board.python.split(".")) < MIN_PYTHON
        assert (p.support.mode == "runtime-only") == old, p.name
        problem = python_problem(p, (3, 11))
        if old:
            assert problem and "runtime-only" in problem and f"edgekit export --profile {p.name}" in problem
        else:
            assert problem is None
    assert "uv python install" in python_problem(load_profile("rpi5"), (3, 9))


def test_a_profile_naming_an_old_python_without_saying_so_is_refused(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text(Path("devices/rpi5.yaml").read_text().replace('python: "3.11"', 'python: "3.7"'))
    with pytest.raises(EdgekitError, match=r"board.python 3.7 cannot run edgekit .*support.mode: runtime-only"):
        load_profile(f)


JETSON_WITH_TENSORRT = HostInfo(board="jetson", model="NVIDIA Jetson Orin Nano Developer Kit", cores=6, ram_mb=8000,
                                ort_providers=["CPUExecutionProvider"],
                                runtimes={"onnxruntime": True, "tensorrt": True})


def test_tensorrt_board_without_engine_plans_a_first_start_build(tmp_path, monkeypatch):
    """The bundle carried the card's ONNX (640): the plan runs TensorRT from an engine that the first start builds
    into the cache, next to which its timing cache goes."""
    from edgekit.backends.tensorrt_engine import EngineSidecar, timing_cache_path
    from edgekit.device.artifacts import export_dir

    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path))
    card, path = resolve_model("yolov8s-fall")
    plan = plan_runtime(load_profile("jetson-orin-nano"), JETSON_WITH_TENSORRT, path, card)
    engine = export_dir(card.sha256) / "yolov8s-fall-640_fp16.engine"
    assert (plan.backend, plan.model_path, plan.build_from, plan.precision) == ("tensorrt", engine, path, "fp16")
    assert not plan.emulated and not any("TensorRT" in s for s in plan.substitutions)
    assert timing_cache_path(plan.model_path) == export_dir(card.sha256) / "yolov8s-fall-640_fp16.timing.cache"
    # once built, the next start finds it (and can still rebuild it from the same ONNX if it is stale)
    engine.parent.mkdir(parents=True)
    engine.write_bytes(b"engine")
    EngineSidecar(source=str(path), precision="fp16", imgsz=640, labels=list(card.labels), tensorrt="10.3").write(engine)
    again = plan_runtime(load_profile("jetson-orin-nano"), JETSON_WITH_TENSORRT, path, card)
    assert (again.model_path, again.build_from) == (engine, path)


def test_tensorrt_engine_at_another_size_is_built_next_to_that_onnx_export(tmp_path, monkeypatch):
    from edgekit.device.artifacts import export_dir

    monkeypatch.setenv("EDGEKIT_CACHE", str(tmp_path))
    card, path = resolve_model("yolov8s-fall")
    nano = load_profile("jetson-nano")  # fp16 at 320: the bundle ships the 320 FP32 ONNX export
    plan = plan_runtime(nano, JETSON_WITH_TENSORRT, path, card)
    assert plan.backend == "onnxruntime" and plan.build_from is None  # no ONNX at 320 here: nothing to build from
    onnx = export_dir(card.sha256) / artifact_name("yolov8s-fall", 320, "fp32", "onnxruntime")
    onnx.parent.mkdir(parents=True)
    onnx.write_bytes(b"stand-in: only its presence is planned on")
    plan = plan_runtime(nano, JETSON_WITH_TENSORRT, path, card)
    assert plan.backend == "tensorrt" and plan.build_from == onnx
    assert plan.model_path == onnx.with_name("yolov8s-fall-320_fp16.engine")
