"""Prometheus metrics of the daemon on a loopback HTTP port: ``/metrics`` (text format) and ``/healthz``.

Counters and gauges are read from the daemon's live stats at scrape time (a custom collector), so the pipeline
does not carry a metrics dependency; alert latency is a real histogram fed on each broker acknowledgement.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from edgekit.contract.stats import DaemonStats
from edgekit.errors import EdgekitError, MissingDependencyError

log = logging.getLogger(__name__)

StatsFn = Callable[[], DaemonStats]
HealthFn = Callable[[], tuple[bool, dict[str, Any]]]  # (healthy, JSON body with the reasons)


class _Collector:
    def __init__(self, stats: StatsFn) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, InfoMetricFamily

        s = self._stats()
        fam: dict[str, Any] = {
            "captured": CounterMetricFamily("edgekit_frames_captured", "Frames read from the source",
                                            labels=["camera"]),
            "processed": CounterMetricFamily("edgekit_frames_processed", "Frames run through the pipeline",
                                             labels=["camera"]),
            "dropped": CounterMetricFamily("edgekit_frames_dropped", "Stale frames skipped under load",
                                           labels=["camera"]),
            "events": CounterMetricFamily("edgekit_events", "Events fired", labels=["camera"]),
            "reconnects": CounterMetricFamily("edgekit_camera_reconnects", "Source reopen attempts",
                                              labels=["camera"]),
        }
        up = GaugeMetricFamily("edgekit_camera_up", "1 when the camera delivers frames", labels=["camera"])
        cfps = GaugeMetricFamily("edgekit_capture_fps", "Capture frames per second", labels=["camera"])
        pfps = GaugeMetricFamily("edgekit_process_fps", "Processed frames per second", labels=["camera"])
        stage = GaugeMetricFamily("edgekit_stage_ms", "Mean recent stage time (ms)", labels=["camera", "stage"])
        runtime = InfoMetricFamily("edgekit_runtime", "What each camera's detector runs (the runtime plan)",
                                   labels=["camera"])
        for cam, c in s.cameras.items():
            for k, f in fam.items():
                f.add_metric([cam], float(getattr(c, k)))
            up.add_metric([cam], 1.0 if c.status == "ok" else 0.0)
            cfps.add_metric([cam], c.capture_fps)
            pfps.add_metric([cam], c.process_fps)
            for st, ms in c.stage_ms.items():
                stage.add_metric([cam, st], float(ms))
            if c.runtime is not None:
                r = c.runtime
                size = "x".join(str(v) for v in r.input_size) if r.input_size else ""
                runtime.add_metric([cam], {"model": r.model, "input_size": size, "precision": r.precision,
                                           "backend": r.backend, "providers": ",".join(r.providers),
                                           "substitutions": " | ".join(r.substitutions)})
        yield from fam.values()
        yield from (up, cfps, pfps, stage, runtime)
        m = s.mqtt
        if m is not None:
            yield GaugeMetricFamily("edgekit_mqtt_connected", "1 while connected to the broker",
                                    value=1.0 if m.connected else 0.0)
            yield GaugeMetricFamily("edgekit_outbox_pending", "Events waiting for a broker ack", value=float(m.pending))
            for k in ("published", "acked", "malformed", "callback_errors"):
                yield CounterMetricFamily(f"edgekit_mqtt_{k}", f"MQTT messages {k.replace('_', ' ')}",
                                          value=float(getattr(m, k)))
        if s.storage is not None:
            deleted = CounterMetricFamily("edgekit_retention_deleted", "Files and rows deleted by retention",
                                          labels=["kind", "reason"])
            for key, n in s.storage.deleted.items():
                kind, _, reason = key.partition(":")
                deleted.add_metric([kind, reason], float(n))
            yield deleted
            if s.storage.free_mb is not None:
                yield GaugeMetricFamily("edgekit_state_free_bytes", "Free space for the state folder",
                                        value=s.storage.free_mb * 2**20)
        if s.cpu_temp_c is not None:
            yield GaugeMetricFamily("edgekit_cpu_temperature_celsius", "CPU temperature", value=s.cpu_temp_c)
        yield GaugeMetricFamily("edgekit_rss_bytes", "Resident memory of the daemon", value=float(s.rss))
        if s.assistant:
            from edgekit.assistant.analytics import metric_families

            yield from metric_families(s.assistant)


class MetricsServer:
    """Serves ``/metrics`` and ``/healthz`` (JSON; 200 when healthy, 503 with the reasons) on ``host:port``.

    Examples:
        >>> import urllib.request
        >>> srv = MetricsServer(DaemonStats, lambda: (True, {"status": "ok"}), port=0)
        >>> srv.start()
        >>> urllib.request.urlopen(f"http://127.0.0.1:{srv.port}/healthz").read()
        b'{"status": "ok"}\\n'
        >>> srv.stop()
    """

    def __init__(self, stats: StatsFn, health: HealthFn, host: str = "127.0.0.1",
                 port: int = 9108) -> None:
        try:
            from prometheus_client import CollectorRegistry, Histogram, generate_latest
        except ImportError as e:
            raise MissingDependencyError("prometheus-client", "pip install 'edgekit[daemon]'") from e
        self.registry = CollectorRegistry()
        self.registry.register(_Collector(stats))  # type: ignore[arg-type]
        self.alert_latency = Histogram(
            "edgekit_alert_latency_seconds", "Frame capture to broker acknowledgement of an event",
            buckets=(0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30, 60), registry=self.registry,
        )
        registry, health_fn = self.registry, health

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path.split("?")[0] == "/metrics":
                    body, code, ctype = generate_latest(registry), 200, "text/plain; version=0.0.4"
                elif self.path == "/healthz":
                    ok, report = health_fn()
                    body, code, ctype = (json.dumps(report) + "\n").encode(), 200 if ok else 503, "application/json"
                else:
                    body, code, ctype = b"see /metrics and /healthz\n", 404, "text/plain"
                self.send_response(code)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                log.debug("metrics: " + format, *args)

        try:
            self._server = ThreadingHTTPServer((host, port), Handler)
        except OSError as e:
            raise EdgekitError(f"metrics port {host}:{port} is not free ({e.strerror}): set metrics.port") from None
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="metrics", daemon=True)

    def start(self) -> None:
        self._thread.start()
        log.info("metrics on http://127.0.0.1:%d/metrics", self.port)

    def stop(self) -> None:
        if self._thread.ident is not None:  # shutdown() waits for serve_forever: never started, it would wait forever
            self._server.shutdown()
        self._server.server_close()
