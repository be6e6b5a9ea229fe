"""The running daemon answers questions over MQTT from its own event store (real SmolLM2, real Mosquitto; slow)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest
import yaml

from tests.helpers import wait_until
from tests.pipeline.test_daemon_e2e import daemon_config, start_daemon, walk_camera, walk_video  # noqa: F401

pytest.importorskip("llama_cpp", reason="needs llama-cpp-python (scripts/install_llm.sh)")


@pytest.mark.slow
def test_daemon_answers_assistant_requests_over_mqtt(broker, consumer_factory, walk_video, tmp_path):  # noqa: F811
    c = consumer_factory(["edgekit/e2e/events", "edgekit/e2e/assistant/response/#"])
    cfg = daemon_config(tmp_path, broker.port, {"walk": walk_camera(walk_video, on_end="retry")})
    data = yaml.safe_load(cfg.read_text())
    data["assistant"] = {"enabled": True}
    cfg.write_text(yaml.safe_dump(data))
    p = start_daemon(cfg)
    try:
        wait_until(lambda: len(c.events()) >= 3, 300, what="3 events from the daemon")
        c.client.publish("edgekit/e2e/assistant/request",
                         json.dumps({"id": "r1", "question": "how many events were there today?"}), qos=1)
        final: dict[str, object] = {}

        def answered() -> bool:
            for t, payload, _ in c.messages:
                if t == "edgekit/e2e/assistant/response/r1":
                    msg = json.loads(payload)
                    if msg.get("done"):
                        final.update(msg)
                        return True
            return False

        wait_until(answered, 300, what="the final answer")
        assert "error" not in final and final["answer"]
        calls = final["tool_calls"]
        assert isinstance(calls, list) and calls and calls[0]["tool"] == "events"
        assert calls[0]["args"]["op"] == "count" and final["answer"].startswith(f"{calls[0]['result']['count']} ")
        assert final["outcome"] == "answered"
        # per-request analytics reach the live stats (and from there /metrics)
        stats_file = tmp_path / "state" / "stats.json"

        def analytics() -> bool:
            try:
                return json.loads(stats_file.read_text()).get("assistant", {}).get("requests", 0) >= 1
            except (OSError, ValueError):
                return False

        wait_until(analytics, 60, what="assistant analytics in stats.json")
        # the service also streamed the answer before the final message
        chunks = [json.loads(pl) for t, pl, _ in c.messages if t == "edgekit/e2e/assistant/response/r1"]
        assert len(chunks) == int(final["chunks"]) + 1  # type: ignore[call-overload]
        # the malformed request is ignored and the daemon keeps running: a request behind it on the same connection
        # (one with an id but no question) is still answered, with its error
        c.client.publish("edgekit/e2e/assistant/request", b"{not json", qos=1)
        c.client.publish("edgekit/e2e/assistant/request", json.dumps({"id": "after"}), qos=1)

        def after() -> list[dict[str, object]]:
            return [json.loads(pl) for t, pl, _ in c.messages if t == "edgekit/e2e/assistant/response/after"]

        (reply,) = wait_until(after, 60, what="the error reply to the request behind the malformed one")
        assert reply["done"] and "question: Field required" in str(reply["error"])
        assert p.poll() is None
    finally:
        p.send_signal(signal.SIGTERM)
        out, _ = p.communicate(timeout=60)
    assert p.returncode == 0, out
    assert Path(tmp_path / "state" / "events.db").is_file()
