"""The trials ``edgekit tune`` measures: a profile's candidates expanded over threads and spinning, and which of
them this host cannot run (with the one line that says so).

Examples:
    >>> Trial("openvino", "bf16", 640, 2, True).label
    'openvino bf16 640 ×2'
    >>> Trial("onnxruntime", "int8", 320, 1, False).label
    'onnxruntime int8 320 ×1 no-spin'
    >>> Trial("openvino", "int8", 640, 2, True, streams=2).label
    'openvino int8 640 ×2 2 streams'
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

from edgekit.backends.runtimes import RUNTIMES, available
from edgekit.device.host import HostInfo
from edgekit.device.profiles import DeviceProfile
from edgekit.export.formats import get_format

Mode = Literal["quick", "full"]


@dataclass(frozen=True, slots=True)
class Trial:
    """One plan to measure: runtime × precision × input size × threads × spinning × streams (frames in
    inference at once, the threads shared among them)."""

    runtime: str
    precision: str
    imgsz: int
    threads: int
    spinning: bool
    streams: int = 1

    @property
    def label(self) -> str:
        spin = "" if self.spinning or self.runtime != "onnxruntime" else " no-spin"
        streams = f" {self.streams} streams" if self.streams > 1 else ""
        return f"{self.runtime} {self.precision} {self.imgsz} ×{self.threads}{spin}{streams}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def expand(profile: DeviceProfile, mode: Mode, cores: int, runtimes: tuple[str, ...] = (),
           imgsz: int | None = None) -> list[Trial]:
    """The trials for ``profile`` on a host with ``cores`` cores, baseline (ONNX Runtime FP32) first.

    ``quick``: each candidate not marked ``full_only``, at the profile's threads. ``full``: every candidate, at
    all cores and one fewer, with ONNX Runtime's spinning on and off. ``runtimes`` keeps only those runtimes (the
    baseline always stays: every ratio is against it). ``imgsz`` puts every trial at that input size instead of the
    candidate's or the profile's.
    """
    threads = profile.threads_for(cores)
    thread_set = [threads] if mode == "quick" else sorted({threads, max(1, threads - 1)}, reverse=True)
    out: list[Trial] = []
    for i, c in enumerate(profile.tune_candidates()):
        left_out = (c.full_only and mode == "quick") or (runtimes and c.runtime not in runtimes)
        if i and left_out:
            continue
        spins = [c.spinning] if mode == "quick" or c.runtime != "onnxruntime" else [True, False]
        for n in thread_set:
            for spin in spins:
                t = Trial(c.runtime, c.precision, imgsz or c.imgsz or profile.runtime.imgsz, n, spin,
                          min(c.streams, n))
                if t not in out:
                    out.append(t)
    return out


def install_hint(runtime: str) -> str:
    """How to get ``runtime`` here, in one line."""
    rt = RUNTIMES.get(runtime)
    if rt is None or rt.extra:
        return f"not installed: pip install 'edgekit[{rt.extra if rt else runtime}]'"
    if rt.gpu:
        return f"not available here: {rt.label} runs on the board's GPU (Jetson)"
    if rt.edgetpu:
        return f"not available here: {rt.label} needs a Coral Edge TPU and libedgetpu"
    return f"not installed: {rt.label} ({' or '.join(rt.modules)})"


def unavailable(trial: Trial, host: HostInfo) -> str | None:
    """Why ``trial`` cannot be measured on ``host`` (runtime missing, no such export); ``None``: it can."""
    rt = RUNTIMES.get(trial.runtime)
    if rt is None or not available(rt, host.runtimes, len(host.edgetpu)):
        return install_hint(trial.runtime)
    if trial.streams > 1 and trial.runtime != "openvino":
        return f"several streams in flight are OpenVINO's only; {rt.label} runs one inference at a time"
    fmt = get_format(rt.target)
    if trial.precision not in fmt.precisions:
        return f"no {trial.precision} export for {rt.label} in this edgekit (it makes {', '.join(fmt.precisions)})"
    if fmt.gpu:
        return f"not measured here: {rt.label} engines are built on the board"
    return None
