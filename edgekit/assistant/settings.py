"""Resolved llama.cpp settings for one run: from a device profile, then overridden by command-line values."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edgekit.device.profiles import DeviceProfile


@dataclass(frozen=True)
class LLMSettings:
    """What the assistant needs from a device profile (and nothing else).

    ``llm_budget_mb`` None means no fit check; ``mem_bandwidth_gbs`` None means no tokens/s prediction.
    """

    threads: int = 0
    #: threads when the camera daemon shares the cores (llama.cpp's threads spin while waiting: more threads
    #: than free cores made one question 4x slower on this 2-core VM beside other work)
    threads_beside_camera: int = 1
    #: niceness of the generating threads (0: unchanged); ``beside_camera`` sets it from the profile
    nice: int = 0
    nice_beside_camera: int = 10
    n_ctx: int = 2048
    n_batch: int = 256
    llm_budget_mb: int | None = None
    mem_bandwidth_gbs: float | None = None
    profile: str | None = None

    def resolved_threads(self, host_cores: int | None = None) -> int:
        """Threads to use: the setting (0 = one per host core), never more than the host has."""
        host = host_cores or os.cpu_count() or 1
        return max(1, min(self.threads or host, host))

    def beside_camera(self) -> LLMSettings:
        """The settings to use while the camera daemon runs on the same cores."""
        return replace(self, threads=self.threads_beside_camera, nice=self.nice_beside_camera)

    def with_overrides(
        self, *, threads: int | None = None, n_ctx: int | None = None, n_batch: int | None = None
    ) -> LLMSettings:
        """A copy where the given (non-None) values replace the profile's."""
        return replace(
            self,
            threads=self.threads if threads is None else threads,
            n_ctx=self.n_ctx if n_ctx is None else n_ctx,
            n_batch=self.n_batch if n_batch is None else n_batch,
        )

    @classmethod
    def from_profile(cls, profile: DeviceProfile) -> LLMSettings:
        """The fields used: ``name``, ``board.cores``, ``board.mem_bandwidth_gbs``, ``budgets.llm_mb`` and
        ``llm.threads`` / ``llm.n_ctx`` / ``llm.n_batch`` (threads 0 means one per board core)."""
        detector = profile.runtime.threads or profile.board.cores
        return cls(
            threads=profile.llm.threads or profile.board.cores,
            threads_beside_camera=profile.llm.threads_beside_camera or max(1, profile.board.cores - detector),
            nice_beside_camera=profile.llm.nice_beside_camera,
            n_ctx=profile.llm.n_ctx,
            n_batch=profile.llm.n_batch,
            llm_budget_mb=profile.budgets.llm_mb,
            mem_bandwidth_gbs=profile.board.mem_bandwidth_gbs,
            profile=profile.name,
        )
