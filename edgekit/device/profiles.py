"""Device profiles: what a board is and how edgekit should run on it (devices/*.yaml)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from edgekit.backends.base import Spinning
from edgekit.backends.runtimes import RUNTIMES
from edgekit.config.loader import bundled_names, bundled_path, load_yaml_model
from edgekit.errors import EdgekitError

Precision = Literal["fp32", "fp16", "bf16", "int8"]
MIN_PYTHON = (3, 10)
"""The oldest Python edgekit runs on (pyproject's requires-python)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Board(_Strict):
    """Facts about the hardware, from the vendor's data sheets."""

    model: str = Field(description="Marketing name, e.g. 'Raspberry Pi 5 Model B'")
    soc: str = Field(description="System on chip, e.g. 'BCM2712'")
    cpu: str = Field(description="CPU cores, e.g. '4× Cortex-A76 @ 2.4 GHz'")
    cores: int = Field(ge=1, le=256)
    dot_product: bool | None = Field(
        None,
        description="The CPU has 8-bit dot-product instructions (Arm asimddp, x86 VNNI): INT8 exports for it get "
        "full 8-bit weights, else 7-bit; null: decided from the exporting machine's own CPU",
    )
    ram_mb: int = Field(ge=256, description="Installed RAM of the usual variant, MiB")
    mem_bandwidth_gbs: float = Field(gt=0, description="Peak DRAM bandwidth, GB/s")
    accelerator: Literal["none", "cuda", "edgetpu"] = "none"
    accelerator_detail: str = ""
    jetpack: str | None = None
    cuda: str | None = None
    tensorrt: str | None = None
    os: str = Field("", description="The board's usual OS image, e.g. 'Raspberry Pi OS Bookworm (Debian 12)'")
    python: str | None = Field(None, description="System Python of that OS image")
    device_tree_match: list[str] = Field(
        default_factory=list, description="Substrings of /proc/device-tree/model that identify the board"
    )


class RuntimeSettings(_Strict):
    """How the detector runs: backend, precision, input size, threads."""

    backend: str = Field("onnxruntime", description="A runtime of edgekit.backends.runtimes.RUNTIMES")
    precision: Precision = "fp32"
    imgsz: int = Field(640, ge=160, le=1280, multiple_of=32)
    model: str = Field("yolov8s-fall", description="Model card the profile runs by default")
    threads: int = Field(0, ge=0, le=256, description="0 = one per core")
    spinning: Spinning = Field(
        "auto", description="ONNX Runtime's idle threads spin-wait: auto = only when the detector leaves a core free "
        "(a pool that fills the cores yields, so it keeps its speed beside other work)")
    lean_memory: bool = Field(
        False, description="ONNX Runtime on the CPU without its memory pattern: 13 MB less RSS at 640 FP32 (issue 16), "
        "about 5 % slower per inference where measured")
    conf: float = Field(0.25, gt=0, lt=1)
    iou: float = Field(0.7, gt=0, lt=1)

    @field_validator("backend")
    @classmethod
    def _known_backend(cls, v: str) -> str:
        if v not in RUNTIMES:
            raise ValueError(f"unknown backend {v!r}; choose one of: {', '.join(RUNTIMES)}")
        return v


class CameraSettings(_Strict):
    """The board's usual camera: a source URI (csi://0, usb:0, picamera2:0, rtsp://…)."""

    source: str = "usb:0"
    width: int = Field(1280, ge=16)
    height: int = Field(720, ge=16)
    fps: int = Field(30, ge=1, le=240)


class Budgets(_Strict):
    """Memory the toolkit may use, MiB (the rest belongs to the OS and other services)."""

    model_mb: int = Field(ge=16)
    llm_mb: int = Field(ge=0)


class LLMSettings(_Strict):
    """llama.cpp settings for the assistant."""

    threads: int = Field(0, ge=0, le=256, description="0 = one per core")
    threads_beside_camera: int = Field(
        0, ge=0, le=256,
        description="threads while the camera daemon runs; 0 = the cores the detector leaves (at least 1)")
    nice_beside_camera: int = Field(
        10, ge=0, le=19,
        description="niceness of the LLM's threads while the camera daemon runs, so detection keeps its frame rate")
    n_ctx: int = Field(2048, ge=256, le=131072)
    n_batch: int = Field(256, ge=8, le=8192)


class Candidate(_Strict):
    """One plan ``edgekit tune`` measures: a runtime at a precision and input size (threads and spinning are tried
    around it by ``--full``)."""

    runtime: str = Field(pattern=r"^[a-z0-9_-]+$",
                         description="A runtime name; one this edgekit or host lacks is skipped with a line")
    precision: Precision = "fp32"
    imgsz: int | None = Field(None, ge=160, le=1280, multiple_of=32, description="null: the profile's")
    spinning: bool = Field(True, description="ONNX Runtime's intra-op spinning (its default: on)")
    streams: int = Field(1, ge=1, le=8, description="Frames in inference at once, the threads shared among them "
                         "(OpenVINO's CPU streams): the daemon starts the next frame while the last is tracked")
    full_only: bool = Field(False, description="Measured by `edgekit tune --full` only")


class Support(_Strict):
    """How edgekit itself runs on the board."""

    mode: Literal["native", "runtime-only"] = Field(
        "native",
        description="native: edgekit installs on the board's own Python; runtime-only: edgekit cannot run there, "
        "it prepares the model on another machine and the board runs it with its vendor's runtime",
    )
    how: str = Field("", description="For runtime-only: what it means and the way to run the board")


class DeviceProfile(_Strict):
    """One device profile, validated from ``devices/<name>.yaml``."""

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    description: str
    board: Board
    runtime: RuntimeSettings
    camera: CameraSettings = CameraSettings()
    budgets: Budgets
    llm: LLMSettings = LLMSettings()
    support: Support = Support()
    candidates: list[Candidate] = Field(
        default_factory=list,
        description="Plans `edgekit tune` measures, in order (empty: ONNX Runtime FP32 and the profile's own)")

    @model_validator(mode="after")
    def _python_is_said(self) -> DeviceProfile:
        if self.support.mode == "native" and self.board.python and _older(self.board.python):
            raise ValueError(
                f"board.python {self.board.python} cannot run edgekit (needs >= {'.'.join(map(str, MIN_PYTHON))}): "
                "set support.mode: runtime-only and say what that means in support.how"
            )
        if self.support.mode == "runtime-only" and not self.support.how:
            raise ValueError("support.how must say how a runtime-only board is run")
        return self

    def tune_candidates(self) -> list[Candidate]:
        """The candidates in order, ONNX Runtime FP32 at the profile's size first (the baseline every speed-up and
        mAP drop is measured against)."""
        base = Candidate(runtime="onnxruntime", precision="fp32", imgsz=self.runtime.imgsz)
        own = Candidate(runtime=self.runtime.backend, precision=self.runtime.precision, imgsz=self.runtime.imgsz)
        listed = [c if c.imgsz else c.model_copy(update={"imgsz": self.runtime.imgsz})
                  for c in (self.candidates or [own])]
        return [base, *[c for c in listed if c != base]]

    def threads_for(self, host_cores: int) -> int:
        """Detector threads on a host with ``host_cores`` cores (profile's value, capped by the host; 0 = all)."""
        want = self.runtime.threads or host_cores
        return max(1, min(want, host_cores))


def _older(version: str) -> bool:
    try:
        return tuple(int(x) for x in version.split(".")[:2]) < MIN_PYTHON
    except ValueError:
        return False


def python_problem(profile: DeviceProfile, version: tuple[int, ...]) -> str | None:
    """One line saying why edgekit cannot run under ``profile`` with Python ``version``, and the way out; ``None``
    when it can."""
    need = ".".join(map(str, MIN_PYTHON))
    have = ".".join(map(str, version[:2]))
    if profile.support.mode == "runtime-only":
        return f"the {profile.name} profile is runtime-only (Python {profile.board.python}): {profile.support.how}"
    if tuple(version[:2]) < MIN_PYTHON:
        return (
            f"Python {have} cannot run edgekit (needs >= {need}): install a newer one (e.g. `uv python install "
            f"3.11`, or the OS release whose Python is >= {need}) and make the venv with it"
        )
    return None


def profile_names() -> list[str]:
    """Names of the bundled profiles, sorted."""
    return bundled_names("devices")


def load_profile(name_or_path: str | Path) -> DeviceProfile:
    """Load a bundled profile by name, or any profile YAML by path; errors name the file and the field."""
    path = bundled_path(name_or_path, "devices", "device profile")
    if not path.is_file():
        raise EdgekitError(f"device profile file not found: {path}")
    return load_yaml_model(path, DeviceProfile, "device profile")


def list_profiles() -> list[DeviceProfile]:
    """All bundled profiles."""
    return [load_profile(n) for n in profile_names()]

