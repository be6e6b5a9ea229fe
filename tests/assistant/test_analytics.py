"""Per-request analytics: totals by outcome and tool, tokens, TTFT, and their Prometheus text."""

from __future__ import annotations

import pytest

from edgekit.assistant.agent import LLMUsage, ToolCallRecord, Transcript
from edgekit.assistant.analytics import AssistantAnalytics, metric_families


def transcript(outcome: str, calls: int, tokens: tuple[int, int], ttft: float | None) -> Transcript:
    t = Transcript(question="q", outcome=outcome, total_s=0.5)
    t.tool_calls = [ToolCallRecord("events", {"op": "count"})]
    t.llm = LLMUsage(calls=calls, tokens_in=tokens[0], tokens_out=tokens[1], ttft_s=ttft,
                     tokens_per_s=40.0 if calls else None)
    return t


def test_snapshot_and_metrics() -> None:
    prometheus = pytest.importorskip("prometheus_client")
    a = AssistantAnalytics()
    a.record(transcript("answered", 0, (0, 0), None))
    a.record(transcript("answered", 1, (180, 3), 0.2))
    a.record(transcript("unanswerable", 0, (0, 0), None))
    snap = a.snapshot()
    assert snap["requests"] == 3 and snap["outcomes"] == {"answered": 2, "unanswerable": 1}
    assert (snap["tokens_in"], snap["tokens_out"], snap["model_calls"]) == (180, 3, 1)
    assert snap["ttft_p50_s"] == 0.2 and snap["latency_p50_s"] == 0.5
    assert snap["last"]["outcome"] == "unanswerable"

    class Collector:
        def collect(self):  # type: ignore[no-untyped-def]
            yield from metric_families(snap)

    reg = prometheus.CollectorRegistry()
    reg.register(Collector())
    text = prometheus.generate_latest(reg).decode()
    assert 'edgekit_assistant_requests_total{outcome="answered"} 2.0' in text
    assert 'edgekit_assistant_tokens_total{direction="in"} 180.0' in text
    assert "edgekit_assistant_ttft_p50_seconds 0.2" in text
    assert list(metric_families(None)) == []
