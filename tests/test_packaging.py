"""The wheel carries devices/, models/ and export/ under edgekit/_data, and an installed wheel finds them; the
benchmarks' and tests' harness stays out of it."""

import os
import subprocess
import sys
import zipfile

import pytest

from tests.helpers import REPO


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(REPO)],
        check=True, capture_output=True, text=True,
    )
    (whl,) = out.glob("edgekit-*.whl")
    return whl


def test_wheel_maps_data_folders_under_the_package(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for want in ("edgekit/_data/devices/rpi5.yaml", "edgekit/_data/models/yolov8s-fall.onnx",
                 "edgekit/_data/models/yolov8s-fall.yaml", "edgekit/assets/person_0.jpg", "edgekit/cli/main.py",
                 "edgekit/assets/valdata/persons.coco.json", "edgekit/assets/valdata/images/bus.jpg",
                 "edgekit/web/static/index.html", "edgekit/web/static/app.js", "edgekit/web/static/style.css"):
        assert want in names, want
    tops = {n.split("/", 1)[0] for n in names}
    assert not tops & {"models", "devices", "export", "tests", "benchmarks"}, tops


def test_wheel_leaves_the_harness_out(wheel):
    """Evaluation, throw-away brokers, daemon memory runs and simulated boards serve benchmarks and tests only."""
    names = set(zipfile.ZipFile(wheel).namelist())
    harness = {"edgekit/bench/ask_eval.py", "edgekit/bench/eval_truth.py", "edgekit/bench/broker.py",
               "edgekit/bench/daemon_memory.py", "edgekit/hub/simulate.py"}
    assert "edgekit/bench/measure.py" in names and "edgekit/hub/service.py" in names  # the packages themselves ship
    assert not names & harness, sorted(names & harness)


def test_installed_wheel_finds_its_data_outside_the_checkout(wheel, tmp_path):
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(target), str(wheel)],
                   check=True, capture_output=True)
    code = ("from edgekit.paths import data_dir; from edgekit.device.modelcards import resolve_model; "
            "print(data_dir('devices')); print(resolve_model('yolov8s-fall')[1])")
    env = {**os.environ, "PYTHONPATH": str(target), "EDGEKIT_CACHE": str(tmp_path / "cache")}
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    devices, model = r.stdout.split()
    assert devices == str(target / "edgekit" / "_data" / "devices")
    assert model == str(target / "edgekit" / "_data" / "models" / "yolov8s-fall.onnx")
