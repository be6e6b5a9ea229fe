"""The host's tuned plan: keyed by CPU and model, written atomically, a foreign plan ignored with one line, and the
runtime plan (what run/detect/bench open) taking it up."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from edgekit.backends.threads import SPIN_KEYS, spin_entries
from edgekit.device.cpu import CpuFeatures
from edgekit.device.host import probe_host
from edgekit.device.modelcards import resolve_model
from edgekit.device.plan import plan_runtime
from edgekit.device.profiles import load_profile
from edgekit.device.tuned import cpu_key, load_plan, lookup_plan, plan_path, save_plan
from tests.helpers import tuned_plan


@pytest.fixture(autouse=True)
def plans(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("EDGEKIT_PLANS", str(tmp_path / "plans"))
    return tmp_path / "plans"


def test_cpu_key_follows_name_and_flags() -> None:
    a = CpuFeatures("AMD EPYC", frozenset({"avx2", "fma"}))
    assert cpu_key(a) == cpu_key(CpuFeatures("AMD EPYC", frozenset({"fma", "avx2"})))
    assert cpu_key(a) != cpu_key(CpuFeatures("AMD EPYC", frozenset({"avx2", "fma", "avx512_vnni"})))
    assert cpu_key(a) != cpu_key(CpuFeatures("Intel Xeon", a.flags))


def test_save_is_atomic_and_a_failed_write_keeps_the_old_plan(plans: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = save_plan(tuned_plan())
    before = path.read_bytes()

    def broken(src: str, dst: str) -> None:  # the rename is the commit point: fail it
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError):
        save_plan(tuned_plan(threads=2))
    assert path.read_bytes() == before
    assert [p.name for p in plans.iterdir()] == [path.name]  # no temporary file left behind


def test_a_plan_that_fits_is_found() -> None:
    save_plan(tuned_plan())
    found = load_plan("desktop")
    assert found is not None and found.threads == 1 and not found.spinning


@pytest.mark.parametrize(("over", "said"), [
    ({"cpu_key": "0" * 16, "cpu": "Intel Xeon"}, "tuned on another CPU"),
    ({"model_sha256": "f" * 64}, "tuned for another yolov8s-fall"),
    ({"runtime": "edgetpu"}, "runtime edgetpu is not installed here"),
    ({"artifact": "/nonexistent/model.onnx"}, "is gone"),
])
def test_a_foreign_plan_is_ignored_with_one_line(over: dict[str, object], said: str,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    save_plan(tuned_plan(**over))
    assert load_plan("desktop") is None
    lines = [r.getMessage() for r in caplog.records if "ignored" in r.getMessage()]
    assert len(lines) == 1 and said in lines[0] and "\n" not in lines[0], lines


def test_a_damaged_plan_file_is_ignored_with_one_line() -> None:
    path = plan_path("desktop", "yolov8s-fall")
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    found = lookup_plan("desktop", "yolov8s-fall", "x", {})
    assert found.plan is None and found.ignored and "cannot be read" in found.ignored


def test_plan_runtime_runs_the_tuned_plan(tmp_path: Path) -> None:
    card, path = resolve_model("yolov8s-fall")
    prof, host = load_profile("desktop"), probe_host()
    save_plan(tuned_plan(threads=1, spinning=False))
    plan = plan_runtime(prof, host, path, card)
    assert plan.from_tune and plan.options.threads == 1 and plan.options.spinning == "off"
    assert spin_entries(plan.options.spinning, plan.options.threads) == {k: "0" for k in SPIN_KEYS}
    assert not plan.options.extra  # the backend's own spin_entries turn `spinning` into ONNX Runtime's entries
    assert plan.tuned.startswith("tuned plan ") and "spinning off" in plan.tuned
    untuned = plan_runtime(prof, host, path, card, tuned=False)
    assert not untuned.from_tune and not untuned.tuned


def test_plan_runtime_ignores_a_foreign_plan_and_says_so() -> None:
    card, path = resolve_model("yolov8s-fall")
    save_plan(tuned_plan(cpu_key="0" * 16, threads=1))
    plan = plan_runtime(load_profile("desktop"), probe_host(), path, card)
    assert not plan.from_tune and "ignored: it was tuned on another CPU" in plan.tuned
    assert plan.options.spinning == load_profile("desktop").runtime.spinning
