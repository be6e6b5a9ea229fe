"""LLM benchmark: the assistant's engine vs raw llama-cpp-python on the same GGUF and threads, the decode
prediction from the device profile, and detection FPS while the assistant generates.

Each variant runs in its own spawned process, so its peak RSS is its own and neither warms the other's
caches; variants alternate (raw, assistant, raw, …) so a drifting machine hurts both alike.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import resource
import statistics
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, cast

from edgekit.assistant.fit import DEFAULT_BANDWIDTH_EFFICIENCY, predict_decode_tps
from edgekit.assistant.gguf_meta import read_gguf_info
from edgekit.assistant.loader import llm_settings
from edgekit.assistant.model_files import resolve_gguf
from edgekit.assistant.settings import LLMSettings
from edgekit.bench.roofline import DecodeShape, probe_decode
from edgekit.device.state import DeviceState, bracket

_FILLER = (
    "At 07:12 camera gate saw a person walking to the door. At 07:40 camera kitchen saw a person fall near "
    "the table and the rule 'fall' fired with score 0.81. At 08:05 the garden camera dropped 12 frames. "
)
_TASK = "Now write the numbers from 1 to 500, separated by commas."


def _prompt(llm: Any, n_tokens: int, chat: bool) -> tuple[list[dict[str, str]] | str, int]:
    """A prompt of about ``n_tokens`` tokens (chat messages or plain text) that invites a long answer."""
    from edgekit.assistant.prompts import OP_SYSTEM as SYSTEM_PROMPT

    def tokens(text: str) -> int:
        return len(llm.tokenize(text.encode(), add_bos=True, special=True))

    filler = ""
    while True:
        if chat:
            body: list[dict[str, str]] | str = [
                {"role": "system", "content": SYSTEM_PROMPT},
                {"role": "user", "content": f"{filler}{_TASK}"},
            ]
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            fmt = Jinja2ChatFormatter(llm.metadata["tokenizer.chat_template"], "", "")
            n = tokens(fmt(messages=cast(Any, body)).prompt)
        else:
            body = f"{filler}Numbers: 1, 2, 3, 4, 5,"
            n = tokens(body)
        if n >= n_tokens or len(filler) > 200_000:
            return body, n
        filler += _FILLER


def _variant(
    kind: str, path: str, settings: LLMSettings, prompt_tokens: int, gen_tokens: int, runs: int, out: Any
) -> None:
    """One process: load the model the ``kind`` way, warm up once, time ``runs`` generations."""
    from edgekit.assistant.engine import LlamaEngine, import_llama_cpp

    llama_cpp = import_llama_cpp()
    threads = settings.resolved_threads()
    t_load = time.perf_counter()
    engine: LlamaEngine | None = None
    if kind == "raw":
        llm = llama_cpp.Llama(
            model_path=path,
            n_ctx=settings.n_ctx,
            n_batch=settings.n_batch,
            n_threads=threads,
            n_threads_batch=threads,
            use_mmap=True,
            verbose=False,
        )
    else:
        engine = LlamaEngine(Path(path), settings)
        llm = engine.llm
    load_s = time.perf_counter() - t_load
    chat = bool(llm.metadata.get("tokenizer.chat_template"))
    prompt, n_prompt = _prompt(llm, prompt_tokens, chat)

    def stream() -> Any:
        if engine is not None:
            if chat:
                assert isinstance(prompt, list)
                return engine.chat_stream(prompt, max_tokens=gen_tokens)
            assert isinstance(prompt, str)
            return engine.complete_stream(prompt, max_tokens=gen_tokens)
        if chat:
            return (
                c["choices"][0]["delta"].get("content")
                for c in llm.create_chat_completion(prompt, max_tokens=gen_tokens, temperature=0.0, stream=True)
            )
        return (
            c["choices"][0]["text"]
            for c in llm.create_completion(prompt, max_tokens=gen_tokens, temperature=0.0, stream=True)
        )

    samples = []
    for i in range(runs + 1):
        llm.reset()  # no prefix reuse between runs: every run evaluates the whole prompt
        t0 = time.perf_counter()
        first = end = t0
        n = 0
        for piece in stream():
            if not piece:
                continue
            end = time.perf_counter()
            if n == 0:
                first = end
            n += 1
        if i == 0:
            continue  # warm-up
        samples.append({"ttft_s": first - t0, "gen_pieces": n, "gen_s": end - first})
    ttft = statistics.median(s["ttft_s"] for s in samples)
    gen_tps = statistics.median((s["gen_pieces"] - 1) / s["gen_s"] for s in samples if s["gen_s"] > 0)
    out.put(
        {
            "kind": kind,
            "mode": "chat" if chat else "completion",
            "threads": threads,
            "load_s": round(load_s, 3),
            "prompt_tokens": n_prompt,
            "ttft_s": round(ttft, 4),
            "prompt_tps": round(n_prompt / ttft, 1),
            "gen_tokens": statistics.median(s["gen_pieces"] for s in samples),
            "gen_tps": round(gen_tps, 2),
            "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "runs": samples,
        }
    )


def _generate_forever(path: str, settings: LLMSettings, started: Any, stop: Any, out: Any) -> None:
    """Generate with the assistant's engine until ``stop`` is set; report tokens/s."""
    from edgekit.assistant.engine import LlamaEngine

    engine = LlamaEngine(Path(path), settings)
    chat = engine.has_chat_template
    prompt, _ = _prompt(engine.llm, 64, chat)
    started.set()
    n, t0 = 0, time.perf_counter()
    ttfts: list[float] = []
    while not stop.is_set():
        engine.llm.reset()
        t_ask = time.perf_counter()
        pieces = (
            engine.chat_stream(prompt, max_tokens=64)
            if isinstance(prompt, list)
            else engine.complete_stream(prompt, max_tokens=64)
        )
        for i, _ in enumerate(pieces):
            if i == 0:
                ttfts.append(time.perf_counter() - t_ask)
            n += 1
            if stop.is_set():
                break
    out.put({"tokens": n, "seconds": time.perf_counter() - t0, "ttfts": ttfts})


def _detect_for(det: Any, image: Any, seconds: float) -> dict[str, float]:
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        det.detect(image)
        n += 1
    dt = time.perf_counter() - t0
    return {"frames": n, "seconds": round(dt, 2), "fps": round(n / dt, 2)}


def _concurrent(path: str, settings: LLMSettings, profile: str, seconds: float, ctx: Any) -> dict[str, Any]:
    from edgekit.sources.synthetic import SyntheticScene
    from edgekit.vision.detector import Detector

    det = Detector.load(profile=profile)
    image = SyntheticScene.random(0).render(1.0)[0]
    for _ in range(3):
        det.detect(image)
    alone = _detect_for(det, image, seconds)
    started, stop, q = ctx.Event(), ctx.Event(), ctx.Queue()
    proc = ctx.Process(target=_generate_forever, args=(path, settings, started, stop, q))
    proc.start()
    started.wait(120)
    time.sleep(1.0)  # past the first prompt evaluation
    together = _detect_for(det, image, seconds)
    stop.set()
    gen = q.get(timeout=120)
    proc.join(30)
    det.close()
    return {
        "detector": str(det.plan.model_path) if det.plan else "default",
        "detector_threads": det.plan.options.threads if det.plan else None,
        "llm_threads": settings.resolved_threads(),
        "llm_nice": settings.nice,
        "host_cores": os.cpu_count(),
        "detect_alone": alone,
        "detect_while_generating": together,
        "detect_fps_ratio": round(together["fps"] / alone["fps"], 3) if alone["fps"] else None,
        "gen_tps_while_detecting": round(gen["tokens"] / gen["seconds"], 2),
        "ttft_s_while_detecting": round(statistics.median(gen["ttfts"]), 3) if gen["ttfts"] else None,
    }


def _combine_rounds(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Headline numbers as the mean over rounds (each round: one process, median of its runs); every
    round's numbers are kept, so the spread is visible."""
    keys = ("ttft_s", "prompt_tps", "gen_tps")
    out = dict(rounds[0])
    for k in keys:
        out[k] = round(statistics.fmean(r[k] for r in rounds), 4 if k == "ttft_s" else 2)
    out["peak_rss_mb"] = max(r["peak_rss_mb"] for r in rounds)
    out["rounds"] = [{k: r[k] for k in (*keys, "peak_rss_mb", "load_s")} for r in rounds]
    out.pop("runs", None)
    return out


def run_llm_bench(
    model: str | Path | None = None,
    profile: str = "desktop",
    *,
    threads: int | None = None,
    prompt_tokens: int = 256,
    gen_tokens: int = 64,
    runs: int = 3,
    rounds: int = 2,
    concurrent: bool = True,
    seconds: float = 15.0,
    probe: bool = True,
) -> dict[str, Any]:
    """Run every part and return the JSON-ready result (with the machine's state before and after)."""
    before = DeviceState.capture()
    _card, path = resolve_gguf(model)
    info = read_gguf_info(path)
    settings = llm_settings(profile, threads=threads)
    ctx = mp.get_context("spawn")
    rounds_out: dict[str, list[dict[str, Any]]] = {"raw": [], "assistant": []}
    for i in range(rounds):  # alternate which variant goes first, so drift hurts both alike
        for kind in ("raw", "assistant") if i % 2 == 0 else ("assistant", "raw"):
            q = ctx.Queue()
            p = ctx.Process(target=_variant, args=(kind, str(path), settings, prompt_tokens, gen_tokens, runs, q))
            p.start()
            rounds_out[kind].append(q.get(timeout=1800))
            p.join(60)
    variants = {kind: _combine_rounds(rs) for kind, rs in rounds_out.items()}
    raw, asst = variants["raw"], variants["assistant"]
    bandwidth = settings.mem_bandwidth_gbs
    result: dict[str, Any] = {
        "model": path.name,
        "weights_mb": round(info.weight_bytes / 2**20, 1),
        "profile": profile,
        "settings": {"threads": settings.resolved_threads(), "n_ctx": settings.n_ctx, "n_batch": settings.n_batch},
        "raw": raw,
        "assistant": asst,
        "ratios": {
            "gen_tps": round(asst["gen_tps"] / raw["gen_tps"], 3),
            "prompt_tps": round(asst["prompt_tps"] / raw["prompt_tps"], 3),
            "ttft": round(raw["ttft_s"] / asst["ttft_s"], 3),
        },
        "prediction": {
            "mem_bandwidth_gbs": bandwidth,
            "efficiency": DEFAULT_BANDWIDTH_EFFICIENCY,
            "predicted_gen_tps": round(predict_decode_tps(info, bandwidth), 1) if bandwidth else None,
            "measured_gen_tps": asst["gen_tps"],
            "note": "bandwidth bound for the profile's board; measured on this host",
        },
    }
    if probe:
        # the same roofline from what this host's probes measure, so the prediction can be checked here
        # (probes built with this model's layer shape and vocabulary; the context while generating: prompt + half)
        shape = DecodeShape.of(path)
        found = probe_decode(settings.resolved_threads(), shape, tokens=gen_tokens)  # runs as long as the timed ones
        n_past = int(asst["prompt_tokens"] + asst["gen_tokens"] / 2)
        here = found.predict_tps(shape, n_past)
        result["prediction"].update(
            probe=found.to_dict(),
            shape=asdict(shape),
            n_past=n_past,
            terms_ms={k: round(v, 3) for k, v in found.terms_ms(shape, n_past).items()},
            predicted_here_gen_tps=here,
            measured_over_predicted_here=round(asst["gen_tps"] / here, 3) if here else None,
        )
    if concurrent:
        # the thread budget and priority the assistant takes while the daemon runs (`edgekit ask` does the same)
        beside = settings.beside_camera().with_overrides(threads=threads)
        result["concurrent"] = _concurrent(str(path), beside, profile, seconds, ctx)
    result["device_state"] = bracket(before, DeviceState.capture())
    return result


def summary_lines(r: dict[str, Any]) -> list[str]:
    """A few human lines for the terminal."""
    raw, a, ratio, pred = r["raw"], r["assistant"], r["ratios"], r["prediction"]
    lines = [
        f"{r['model']} ({r['weights_mb']} MB), profile {r['profile']}, threads {r['settings']['threads']}, "
        f"prompt {a['prompt_tokens']} tok, {a['mode']} mode",
        f"{'':12}{'TTFT s':>9}{'prompt tok/s':>14}{'gen tok/s':>11}{'peak RSS MB':>13}",
    ]
    for name, v in (("raw", raw), ("assistant", a)):
        lines.append(
            f"{name:12}{v['ttft_s']:>9.3f}{v['prompt_tps']:>14.1f}{v['gen_tps']:>11.1f}{v['peak_rss_mb']:>13.1f}"
        )
    lines.append(
        f"assistant/raw: gen {ratio['gen_tps']:.3f}, prompt {ratio['prompt_tps']:.3f}, "
        f"TTFT {ratio['ttft']:.3f} (target ≥ 0.97)"
    )
    if pred["predicted_gen_tps"] is not None:
        lines.append(
            f"decode prediction for {r['profile']} ({pred['mem_bandwidth_gbs']} GB/s × "
            f"{pred['efficiency']}): {pred['predicted_gen_tps']} tok/s; measured here "
            f"{pred['measured_gen_tps']} tok/s"
        )
    if pred.get("predicted_here_gen_tps"):
        lines.append(
            f"decode prediction from this host's probes: {pred['predicted_here_gen_tps']} tok/s "
            f"(measured/predicted {pred['measured_over_predicted_here']}, target 0.8-1.2)"
        )
    if "concurrent" in r:
        c = r["concurrent"]
        lines.append(
            f"detection {c['detect_alone']['fps']} FPS alone, {c['detect_while_generating']['fps']} FPS "
            f"while generating ({c['detect_fps_ratio']}×); generation {c['gen_tps_while_detecting']} "
            f"tok/s while detecting vs {a['gen_tps']} alone, first token {c.get('ttft_s_while_detecting')} s "
            f"(LLM {c['llm_threads']} thread(s) at nice {c.get('llm_nice', 0)})"
        )
    return lines
