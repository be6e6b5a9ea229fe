"""Put the assistant together from command-line style arguments: model, profile, event store, stats file."""

from __future__ import annotations

import importlib.util
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

from edgekit.assistant.agent import Assistant, needed_ctx
from edgekit.assistant.engine import LlamaEngine, import_llama_cpp
from edgekit.assistant.fit import FitReport, check_fit, fitting_settings
from edgekit.assistant.gguf_meta import GGUFInfo, read_gguf_info
from edgekit.assistant.model_files import resolve_gguf
from edgekit.assistant.prompts import MIN_CTX
from edgekit.assistant.settings import LLMSettings
from edgekit.assistant.tools import STALE_STATS_S, ToolBox
from edgekit.contract.stats import default_stats_path
from edgekit.errors import EdgekitError
from edgekit.events import EventReader, EventStore
from edgekit.paths import state_dir

log = logging.getLogger(__name__)


def default_events_path() -> Path:
    """The daemon's event store."""
    return state_dir() / "events.db"


def llm_settings(
    profile: str | None,
    *,
    threads: int | None = None,
    n_ctx: int | None = None,
    n_batch: int | None = None,
) -> LLMSettings:
    """Settings from a device profile (by name or YAML path) with command-line overrides; no profile: defaults
    and no memory budget."""
    base = LLMSettings()
    if profile is not None:
        from edgekit.device.profiles import load_profile

        base = LLMSettings.from_profile(load_profile(profile))
    return base.with_overrides(threads=threads, n_ctx=n_ctx, n_batch=n_batch)


@dataclass
class LoadedModel:
    """A GGUF that passed the fit check, and its engine (loaded on first use when ``lazy``)."""

    path: Path
    info: GGUFInfo
    fit: FitReport
    settings: LLMSettings
    _engine: LlamaEngine | None = None

    @property
    def loaded(self) -> bool:
        return self._engine is not None

    @property
    def engine(self) -> LlamaEngine:
        """The llama.cpp engine, loaded now if it was not yet (memory-mapped: pages are read as used)."""
        if self._engine is None:
            t0 = time.perf_counter()
            self._engine = LlamaEngine(self.path, self.settings)
            log.info("model %s loaded in %.2f s", self.path.name, time.perf_counter() - t0)
        return self._engine

    def close(self) -> None:
        """Free the engine if it was loaded."""
        if self._engine is not None:
            self._engine.close()
            self._engine = None


def load_model(model: str | Path | None, settings: LLMSettings, *, need_chat: bool = True,
               lazy: bool = False) -> LoadedModel:
    """Resolve, read the header, check the fit against the budget, then (and only then) load; ``lazy`` leaves
    the load to the first use of ``.engine`` (a question the code reads alone never loads the model)."""
    _card, path = resolve_gguf(model)
    info = read_gguf_info(path)
    if need_chat and info.chat_template is None:
        raise EdgekitError(
            f"{path.name} has no chat template in its GGUF metadata (a base model): "
            "use an instruction-tuned GGUF such as --model smollm2-135m-instruct"
        )
    fit = check_fit(info, settings.n_ctx, settings.n_batch, settings.llm_budget_mb, settings.profile,
                    min_ctx=MIN_CTX)
    log.info("fit: %s", fit.summary())
    if lazy:  # a missing llama-cpp-python is still reported before any other work, without importing it
        if importlib.util.find_spec("llama_cpp") is None:
            import_llama_cpp()
        return LoadedModel(path, info, fit, settings)
    import_llama_cpp()  # a missing llama-cpp-python is reported before any other work
    return LoadedModel(path, info, fit, settings, LlamaEngine(path, settings))


def daemon_running(stats_path: Path, max_age_s: float = STALE_STATS_S) -> bool:
    """True when the daemon's stats file was written within ``max_age_s`` (the daemon is running)."""
    try:
        return time.time() - stats_path.stat().st_mtime < max_age_s
    except OSError:
        return False


def cpu_saturated() -> bool:
    """True when the 1-minute load average is at least the number of cores."""
    return os.getloadavg()[0] >= (os.cpu_count() or 1)


def open_store(events: str | Path | None) -> EventStore:
    """The event store, read-only (the assistant never writes)."""
    return EventStore(events or default_events_path(), readonly=True)


def open_assistant(
    model: str | Path | None = None,
    profile: str | None = None,
    events: str | Path | None = None,
    stats: str | Path | None = None,
    *,
    threads: int | None = None,
    n_ctx: int | None = None,
    n_batch: int | None = None,
    beside_camera: bool | None = None,
    lazy: bool = False,
    store: EventReader | None = None,
) -> tuple[Assistant, LoadedModel]:
    """Everything ``edgekit ask`` needs: store first (cheap errors before the model load), then the model.

    ``beside_camera`` (None: when the stats file shows a running daemon) uses the profile's thread budget for
    sharing the cores with the detector, unless ``threads`` is given. ``lazy`` loads the model only when a
    question needs it (the one-shot CLI), with the smallest context the prompt fits in unless ``n_ctx`` is given
    (one question needs ~300 tokens; a smaller KV cache is quicker to set up); the context check then runs at
    that load. ``store``: an open store to answer over instead of ``events`` (the fleet's,
    :class:`edgekit.hub.fleet.FleetEvents`); its events are not this machine's, so live stats and device figures
    are then left out."""
    stats_path = Path(stats) if stats else default_stats_path()
    own = store is None
    if store is None:
        store = open_store(events)
    settings = llm_settings(profile, n_ctx=n_ctx, n_batch=n_batch)
    if beside_camera is None:
        beside_camera = daemon_running(stats_path)
    # llama.cpp's threads spin while they wait: on cores that are already busy (the daemon, or anything else
    # that keeps the load average at or above the core count) fewer threads answer sooner
    if beside_camera or cpu_saturated():
        settings = settings.beside_camera()
    settings = settings.with_overrides(threads=threads)
    loaded = load_model(model, settings, lazy=lazy)  # the fit is checked at the settings' context
    if lazy and n_ctx is None and settings.n_ctx > MIN_CTX:
        loaded.settings = settings.with_overrides(n_ctx=MIN_CTX)
    log.info("assistant: %d LLM thread(s)%s", settings.resolved_threads(), " beside the camera" if beside_camera
             else "")
    toolbox = ToolBox(store, stats_path if own else None, profile=settings.profile, host_status=own)

    def engine() -> LlamaEngine:
        e = loaded.engine
        need = needed_ctx(e)
        if need > loaded.settings.n_ctx and loaded.settings.n_ctx < settings.n_ctx:  # this model's prompt is long
            loaded.close()
            loaded.settings = settings
            e = loaded.engine
        _check_ctx(need, loaded)
        return e

    if lazy:
        return Assistant(None, toolbox, load_engine=engine), loaded
    return Assistant(engine(), toolbox), loaded


def _check_ctx(need: int, loaded: LoadedModel) -> None:
    """EdgekitError (and the engine freed) when the assistant's prompt needs more context than the settings give."""
    settings = loaded.settings
    if need <= settings.n_ctx:
        return
    loaded.close()
    where = f"profile {settings.profile!r}" if settings.profile else "the settings"
    found = fitting_settings(loaded.info, settings.n_batch, settings.llm_budget_mb, need) \
        if settings.llm_budget_mb is not None else (max(MIN_CTX, 1 << (need - 1).bit_length()), settings.n_batch)
    hint = f"use --ctx {found[0]}" if found else "use a smaller model or a larger budgets.llm_mb"
    raise EdgekitError(f"the assistant's prompt needs up to {need} tokens but {where} gives n_ctx="
                       f"{settings.n_ctx}: {hint}")
