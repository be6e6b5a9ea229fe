"""Render benchmark JSON as Markdown tables (JSON stays the source of truth)."""

from __future__ import annotations

from typing import Any


def _row(name: str, r: dict[str, Any]) -> str:
    lat = r.get("latency_ms") or {}
    return (
        f"| {name} | {lat.get('p50', '–')} | {lat.get('p90', '–')} | {lat.get('p99', '–')} | "
        f"{r.get('fps', '–')} |"
    )


def model_bench_markdown(result: dict[str, Any]) -> str:
    """Markdown for ``edgekit bench``'s JSON result."""
    lines = [
        f"**{result['model']}** on {result['host']['model']} ({result['host']['cores']} cores), "
        f"profile `{result['plan']['profile']}` → {result['plan']['backend']} "
        f"{result['plan']['precision']}, {result['plan']['threads']} threads; "
        f"{result['warmup']} warm-up, {result['runs']} runs; peak RSS {result['peak_rss_mb']} MiB",
        "",
        "| what | p50 ms | p90 ms | p99 ms | FPS |",
        "|---|---|---|---|---|",
        _row("raw backend infer", result["raw"]),
        _row("detect (pre+infer+post)", result["detect"]),
    ]
    for stage, s in result["detect"]["stages_ms"].items():
        lines.append(f"| &nbsp;&nbsp;{stage} | {s['p50']} | {s['p90']} | {s['p99']} | |")
    if "pipeline" in result:
        p = result["pipeline"]
        lines.append(
            f"| video pipeline (decode → detect), {p['frames']} frames | {p['frame_ms']} (mean) | | | {p['fps']} |"
        )
    if result.get("ratios"):
        lines += ["", "Ratios: " + ", ".join(f"{k} = {v}" for k, v in result["ratios"].items())]
    for s in result["plan"].get("substitutions", []):
        lines.append(f"- substituted: {s}")
    if result["plan"].get("tuned"):
        lines.append(f"- plan: {result['plan']['tuned']}")
    pred = result.get("prediction") or {}
    if "predicted_ms" in pred:
        lines.append(
            f"- predicted raw latency {pred['predicted_ms']} ms ({pred['model_gflops']} GFLOPs at the probe's "
            f"{pred['probe_gflops_per_s']} GFLOP/s), measured {pred['measured_p50_ms']} ms "
            f"(measured/predicted {pred['measured/predicted']})"
        )
    state = result.get("device_state")
    if state:
        b = state["before"]
        lines.append(
            f"- machine: {b['cpu_model']}, {b['cores']} cores, VNNI {'yes' if b['vnni'] else 'no'}, governor "
            f"{b['governor'] or 'n/a'}, load {state['before']['load_avg'][0]} → {state['after']['load_avg'][0]}"
            + (" (BUSY: load above the core count)" if state["busy"] else "")
        )
    return "\n".join(lines)
