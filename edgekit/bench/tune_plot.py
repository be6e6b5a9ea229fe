"""A PNG of a tune result: every trial's pipeline FPS as a bar (winner, kept, dropped), the baseline as a line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgekit.bench.plot import pyplot


def plot_tune(data: dict[str, Any], out: Path) -> Path:
    """Draw ``edgekit tune --json``'s result into ``out``."""
    plt = pyplot()
    rows = data["rows"]
    labels = [r["label"] for r in rows]
    fps = [r["fps"] or 0.0 for r in rows]
    colours = ["tab:green" if r["label"] == data["winner"] else "tab:blue" if r["status"] == "measured"
               else "lightgrey" for r in rows]
    fig, ax = plt.subplots(figsize=(8, 0.45 * len(rows) + 1.5))
    ax.barh(labels, fps, color=colours)
    for i, r in enumerate(rows):
        text = f"{r['fps']:.2f} ({r['x_fp32']:.2f}×)" if r["fps"] and r["x_fp32"] else r["status"]
        ax.text(fps[i], i, " " + text, va="center", fontsize=8)
    if rows and rows[0]["fps"]:
        ax.axvline(rows[0]["fps"], color="k", linestyle=":", linewidth=1)
    ax.invert_yaxis()
    ax.set_xlabel("pipeline FPS (capture, detect, track, rules)")
    ax.set_title(f"edgekit tune {data['profile']} / {data['model']} on {data['cpu']}", fontsize=9)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
