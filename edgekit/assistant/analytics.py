"""Per-request analytics of the assistant: tokens in/out, time to first token, tokens/s, tool calls, outcome.

:class:`AssistantAnalytics` is fed every :class:`~edgekit.assistant.agent.Transcript` (the daemon records each
answer of its assistant); :meth:`AssistantAnalytics.snapshot` is what goes into the live stats under
``"assistant"``, and :func:`metric_families` turns that snapshot into Prometheus metrics at scrape time.
"""

from __future__ import annotations

import statistics
import threading
from collections import Counter, deque
from collections.abc import Iterator
from typing import Any

from edgekit.assistant.agent import Transcript

RECENT = 100  # requests kept for the latency percentiles


class AssistantAnalytics:
    """Thread-safe totals and the last request's figures."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.outcomes: Counter[str] = Counter()
        self.tools: Counter[str] = Counter()
        self.tokens_in = 0
        self.tokens_out = 0
        self.model_calls = 0
        self._latency: deque[float] = deque(maxlen=RECENT)
        self._ttft: deque[float] = deque(maxlen=RECENT)
        self.last: dict[str, Any] | None = None

    def record(self, t: Transcript) -> None:
        with self._lock:
            self.outcomes[t.outcome] += 1
            self.tools.update(c.tool for c in t.tool_calls)
            self.tokens_in += t.llm.tokens_in
            self.tokens_out += t.llm.tokens_out
            self.model_calls += t.llm.calls
            self._latency.append(t.total_s)
            if t.llm.ttft_s is not None:
                self._ttft.append(t.llm.ttft_s)
            self.last = {"outcome": t.outcome, "total_s": round(t.total_s, 4), "tool_calls": len(t.tool_calls),
                         "model_calls": t.llm.calls, "tokens_in": t.llm.tokens_in, "tokens_out": t.llm.tokens_out,
                         "ttft_s": t.llm.ttft_s, "tokens_per_s": t.llm.tokens_per_s}

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready totals, recent p50 latency and TTFT, and the last request."""
        with self._lock:
            return {
                "requests": sum(self.outcomes.values()),
                "outcomes": dict(self.outcomes),
                "tool_calls": dict(self.tools),
                "model_calls": self.model_calls,
                "tokens_in": self.tokens_in,
                "tokens_out": self.tokens_out,
                "latency_p50_s": round(statistics.median(self._latency), 4) if self._latency else None,
                "ttft_p50_s": round(statistics.median(self._ttft), 4) if self._ttft else None,
                "last": self.last,
            }


def metric_families(snap: dict[str, Any] | None) -> Iterator[Any]:
    """Prometheus metric families of an analytics snapshot (nothing when the assistant is off)."""
    if not snap:
        return
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

    req = CounterMetricFamily("edgekit_assistant_requests", "Questions answered, by outcome", labels=["outcome"])
    for outcome, n in snap["outcomes"].items():
        req.add_metric([outcome], float(n))
    yield req
    tools = CounterMetricFamily("edgekit_assistant_tool_calls", "Tool calls, by tool", labels=["tool"])
    for tool, n in snap["tool_calls"].items():
        tools.add_metric([tool], float(n))
    yield tools
    tok = CounterMetricFamily("edgekit_assistant_tokens", "LLM tokens, prompt (in) and generated (out)",
                              labels=["direction"])
    tok.add_metric(["in"], float(snap["tokens_in"]))
    tok.add_metric(["out"], float(snap["tokens_out"]))
    yield tok
    yield CounterMetricFamily("edgekit_assistant_model_calls", "LLM generations", value=float(snap["model_calls"]))
    for key, name, doc in (("latency_p50_s", "edgekit_assistant_latency_p50_seconds", "Median answer time"),
                           ("ttft_p50_s", "edgekit_assistant_ttft_p50_seconds", "Median LLM time to first token")):
        if snap.get(key) is not None:
            yield GaugeMetricFamily(name, doc + f" over the last {RECENT} requests", value=float(snap[key]))
    last = snap.get("last") or {}
    if last.get("tokens_per_s") is not None:
        yield GaugeMetricFamily("edgekit_assistant_last_tokens_per_second", "Decode speed of the last generation",
                                value=float(last["tokens_per_s"]))
