"""Scheduling section of the daemon config: how the detector's threads share the CPU with everything else.

Empty means the device profile's plan (``runtime.threads``, ``runtime.spinning``); ``edgekit tune`` writes the same
``threads`` and ``spinning`` names into the host's plan. Measured on two cores: ``benchmarks/README.md``, contention.
"""

from __future__ import annotations

from pydantic import Field, field_validator

from edgekit.backends.base import Spinning
from edgekit.config.base import Strict


class SchedulingConfig(Strict):
    threads: int | None = Field(
        None, ge=1, le=256, description="Detector threads; null = the profile's `runtime.threads` (0 = one per core).")
    spinning: Spinning | None = Field(
        None, description="ONNX Runtime's idle threads spin-wait: auto = only when the detector leaves a core free; "
        "null = the profile's `runtime.spinning`.")
    affinity: list[int] | None = Field(
        None, min_length=1, description="CPUs (0-based) the detector's threads and the camera threads run on; "
        "null = every CPU this process may use. Keep a core for other work (e.g. the assistant) by leaving it out.")
    capture_nice: int = Field(
        5, ge=0, le=19, description="Niceness of the capture threads (decode, stale-frame drop), so decoding frames "
        "that will be dropped gives way to inference; 0 = unchanged.")

    @field_validator("affinity")
    @classmethod
    def _distinct(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and (len(set(v)) != len(v) or min(v) < 0):
            raise ValueError(f"affinity must list distinct CPU numbers >= 0, got {v}")
        return v

    @property
    def cpus(self) -> tuple[int, ...] | None:
        """``affinity`` as a tuple (None: all)."""
        return tuple(self.affinity) if self.affinity is not None else None
