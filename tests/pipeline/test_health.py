"""``/healthz`` says why alerts are not flowing: broker unreachable and a backlog older than ``max_backlog_s``
(503 with the reasons), and 200 once the broker is back and the backlog is delivered."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

from edgekit.config.daemon import DaemonConfig
from edgekit.pipeline.daemon import Daemon
from tests.delivery.test_mqtt import make_event
from tests.helpers import wait_until


def healthz(port: int) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_unreachable_broker_and_old_backlog_are_503_with_reasons(broker, tmp_path):
    broker.stop()
    d = Daemon(DaemonConfig.model_validate({
        "device": "hz", "state_dir": str(tmp_path / "state"),
        "cameras": {"cam": {"source": "synthetic:0", "enabled": False}},
        "mqtt": {"port": broker.port, "wait_for_broker": True, "keepalive": 5, "max_backlog_s": 1},
        "metrics": {"enabled": True, "port": 0},
    }))
    d.start()
    stop = threading.Event()
    runner = threading.Thread(target=d.run, args=(stop,), kwargs={"stats_every_s": 0.5})
    runner.start()
    try:
        assert d.link is not None
        for i in range(3):
            d.link.publish_event(make_event(i, "health"))

        def reasons() -> list[str]:
            code, body = healthz(d.metrics.port)
            return body["reasons"] if code == 503 else []

        wait_until(lambda: any("unreachable" in r for r in reasons()) and any("3 event(s) waiting" in r
                                                                              for r in reasons()),
                   90, 0.2, what=lambda: f"503 naming the broker and the backlog: {reasons()}")
        assert d.stats().mqtt.last_error.startswith("MQTT broker")  # type: ignore[union-attr]
        broker.start()
        wait_until(lambda: healthz(d.metrics.port)[0] == 200, 90, 0.2,
                   what=lambda: f"200 from /healthz: {healthz(d.metrics.port)}")
        assert len(d.outbox) == 0
    finally:
        stop.set()
        runner.join(30)
        d.close()
