"""PNG plots of a benchmark JSON (matplotlib, headless): latency CDF per stage, FPS over time, and the side-by-side
FPS of raw backend, edgekit and (where the JSON has it) Ultralytics.

The JSON stays the source of truth: a plot only draws what the JSON holds, so any saved result can be re-plotted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from edgekit.errors import EdgekitError, MissingDependencyError


def pyplot() -> Any:
    try:
        import matplotlib
    except ImportError as e:
        raise MissingDependencyError("matplotlib", "pip install 'edgekit[bench]' to draw plots") from e
    matplotlib.use("Agg")  # no display on a board or in CI
    import matplotlib.pyplot as plt

    return plt


def latency_series(result: dict[str, Any]) -> dict[str, list[float]]:
    """Every latency sample list in ``result``, by a readable name (raw, detect, and each detect stage)."""
    series: dict[str, list[float]] = {}
    if result.get("raw", {}).get("samples_ms"):
        series["raw backend infer"] = result["raw"]["samples_ms"]
    det = result.get("detect", {})
    if det.get("samples_ms"):
        series["detect (pre+infer+post)"] = det["samples_ms"]
    for stage, samples in det.get("stage_samples_ms", {}).items():
        if samples:
            series[f"  {stage}"] = samples
    return series


def fps_over_time(done_s: list[float], window_s: float | None = None) -> tuple[list[float], list[float]]:
    """Frames per second in a sliding window, at each frame's completion time.

    The window is ``window_s``, or by default 1 s widened to five frame intervals so a slow pipeline (a Pi at
    2 FPS) draws a rate, not a staircase of 1s and 2s.

    Examples:
        >>> t, f = fps_over_time([0.1 * i for i in range(1, 31)])
        >>> round(f[-1])
        10
    """
    t = np.asarray(done_s, dtype=np.float64)
    if t.size == 0:
        return [], []
    if window_s is None:
        window_s = max(1.0, 5 * float(np.median(np.diff(t, prepend=0.0))))
    first = np.searchsorted(t, t - window_s, side="right")
    span = np.maximum(t - np.where(first > 0, t[first - 1], 0.0), 1e-9)
    fps = (np.arange(t.size) - first + 1) / np.minimum(span, window_s)
    keep = t >= min(window_s, t[-1])  # the first second has no full window
    return t[keep].tolist(), fps[keep].tolist()


def comparison(result: dict[str, Any]) -> dict[str, float]:
    """FPS of each variant the JSON holds, in the order raw → edgekit → peer."""
    bars: dict[str, float] = {}
    for key, name in (("raw", "raw backend"), ("detect", "edgekit detect"), ("pipeline", "edgekit pipeline")):
        if result.get(key, {}).get("fps"):
            bars[name] = float(result[key]["fps"])
    peer = result.get("ultralytics") or result.get("peer")
    if isinstance(peer, dict) and peer.get("fps"):
        bars["Ultralytics"] = float(peer["fps"])
    return bars


def plot_bench(result: dict[str, Any], out: Path) -> Path:
    """Write the three panels for ``edgekit bench``'s JSON ``result`` to ``out`` (PNG)."""
    series = latency_series(result)
    if not series:
        raise EdgekitError("this benchmark result has no latency samples to plot (re-run it with this edgekit)")
    plt = pyplot()
    fig, (ax_cdf, ax_fps, ax_bar) = plt.subplots(1, 3, figsize=(15, 4.2))
    for name, samples in series.items():
        x = np.sort(np.asarray(samples))
        ax_cdf.plot(x, np.arange(1, x.size + 1) / x.size, label=name.strip(), linestyle=":" if name[0] == " " else "-")
    ax_cdf.set(xlabel="latency (ms)", ylabel="fraction of runs ≤ x", title="Latency CDF per stage")
    ax_cdf.set_xscale("log")
    ax_cdf.grid(True, alpha=0.3)
    ax_cdf.legend(fontsize=8)

    done = result.get("pipeline", {}).get("frame_done_s") or []
    t, fps = fps_over_time(done)
    if t:
        ax_fps.plot(t, fps, color="tab:green")
        ax_fps.axhline(result["raw"]["fps"], color="tab:blue", linestyle="--", label="raw backend FPS")
        ax_fps.legend(fontsize=8)
    else:
        ax_fps.text(0.5, 0.5, "no pipeline run", ha="center", va="center", transform=ax_fps.transAxes)
    ax_fps.set(xlabel="time (s)", ylabel="FPS (sliding window ≥ 1 s)", title="Pipeline FPS over time")
    ax_fps.grid(True, alpha=0.3)

    bars = comparison(result)
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red"][: len(bars)]
    ax_bar.bar(list(bars), list(bars.values()), color=colors)
    for i, v in enumerate(bars.values()):
        ax_bar.text(i, v, f"{v:.1f}", ha="center", va="bottom", fontsize=9)
    ax_bar.set(ylabel="FPS", title="Side by side, one run")
    ax_bar.tick_params(axis="x", labelsize=8)

    state = result.get("device_state", {}).get("before", {})
    plan = result.get("plan", {})
    fig.suptitle(
        f"{Path(str(result.get('model', '?'))).name} · {plan.get('backend', '?')} {plan.get('precision', '')} "
        f"{'×'.join(str(v) for v in result.get('input', []))} · {state.get('cpu_model', '?')} "
        f"({state.get('cores', '?')} cores, load {state.get('load_avg', ['?'])[0]})",
        fontsize=10,
    )
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        fig.savefig(out, dpi=100)
    except OSError as e:
        raise EdgekitError(f"cannot write plot {out}: {e.strerror or e}") from None
    finally:
        plt.close(fig)
    return out
