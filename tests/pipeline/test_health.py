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


def test_a_rule_switched_off_over_mqtt_shows_in_stats_and_healthz(broker, tmp_path):
    """Switching a rule off over MQTT is said where people look (the review: no log line, and /healthz stayed
    silent); a retained OFF does not switch off a safety rule (``remote_off: live``), a live one does."""
    import paho.mqtt.publish as publish

    def off(retain: bool) -> None:
        publish.single("edgekit/hz/cam/door/set", b"OFF", hostname="127.0.0.1", port=broker.port, qos=1,
                       retain=retain)

    off(retain=True)  # waiting at the broker, replayed to the daemon when it subscribes
    d = Daemon(DaemonConfig.model_validate({
        "device": "hz", "state_dir": str(tmp_path / "state"),
        "cameras": {"cam": {"source": "synthetic:0:60", "realtime": True}},
        "rules": [{"name": "door", "labels": ["Normal"], "remote_off": "live"},
                  {"name": "other", "labels": ["Normal"]}],
        "mqtt": {"port": broker.port, "keepalive": 5},
        "metrics": {"enabled": True, "port": 0},
    }))
    d.start()
    stop = threading.Event()
    runner = threading.Thread(target=d.run, args=(stop,), kwargs={"stats_every_s": 0.5})
    runner.start()
    try:
        assert d.link is not None and d.metrics is not None
        publish.single("edgekit/hz/cam/other/set", b"OFF", hostname="127.0.0.1", port=broker.port, qos=1,
                       retain=True)  # an ordinary rule obeys a retained OFF: it is how the switch is seen to work
        # healthy (a switched-off rule is a choice, not a fault) once the camera runs, and the rule listed
        _, body = wait_until(lambda: (h := healthz(d.metrics.port))[0] == 200 and h[1].get("rules_off") and h,
                             90, 0.2, what=lambda: f"200 listing the other rule: {healthz(d.metrics.port)}")
        assert [r.split(" ")[0] for r in body["rules_off"]["cam"]] == ["other"]  # door refused the retained OFF
        off(retain=False)
        wait_until(lambda: len(d.stats().cameras["cam"].rules_off) == 2, 90, 0.2, what="door switched off live")
        assert "door (off since" in d.stats().cameras["cam"].rules_off[0]
        assert "live message" in d.stats().cameras["cam"].rules_off[0]
    finally:
        for rule in ("door", "other"):
            publish.single(f"edgekit/hz/cam/{rule}/set", b"", hostname="127.0.0.1", port=broker.port, retain=True)
        stop.set()
        runner.join(30)
        d.close()
