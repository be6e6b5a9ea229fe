"""The daemon: builds every camera worker from a DaemonConfig, delivers their Events, reports stats.

Start-up checks run before anything starts (profile, model labels, broker reachability, ports), each failing with
one ``EdgekitError`` line. Then: cameras run on their own threads; each Event gets an annotated snapshot, goes to
the event store and to the MQTT outbox; a stats loop writes ``stats.json``, publishes ``<device>/stats`` and pings
systemd's watchdog while every camera thread is alive.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import psutil

from edgekit.alerts.counts import Counts
from edgekit.alerts.mqtt import MqttLink, check_broker
from edgekit.alerts.outbox import Outbox
from edgekit.alerts.rules import RuleEngine
from edgekit.alerts.snapshot import encode_jpeg, render_snapshot, write_snapshot
from edgekit.config.daemon import DaemonConfig
from edgekit.errors import EdgekitError
from edgekit.paths import state_dir
from edgekit.pipeline.camera import CameraWorker
from edgekit.pipeline.clips import Clip
from edgekit.pipeline.service import sd_notify, watchdog_interval_s
from edgekit.types import Detections, Event, Frame

log = logging.getLogger(__name__)


def model_labels(spec: str) -> list[str] | None:
    """Labels of a model card (None when ``spec`` is a bare model file: checked once the model is loaded)."""
    from edgekit.device.modelcards import load_card

    p = Path(spec)
    if p.suffix and p.suffix not in (".yaml", ".yml"):
        return None
    return list(load_card(spec).labels)


def verify_labels(cfg: DaemonConfig, labels_of: Callable[[str], list[str] | None] = model_labels) -> None:
    """Every rule's labels must exist in the model of every camera it applies to."""
    cache: dict[str, list[str] | None] = {}
    for rule in cfg.rules:
        for cam in cfg.cameras_of(rule):
            spec = cfg.model_of(cam)
            if spec not in cache:
                cache[spec] = labels_of(spec)
            known = cache[spec]
            bad = [lb for lb in rule.labels if known is not None and lb not in known]
            if bad:
                raise EdgekitError(f"rule {rule.name!r}: label {bad[0]!r} is not a label of model {spec!r} "
                                   f"on camera {cam!r}; its labels are {known}")
    for lb in cfg.pose.labels:
        for cam in cfg.cameras:
            known = cache.get(cfg.model_of(cam)) or labels_of(cfg.model_of(cam))
            if known is not None and lb not in known:
                raise EdgekitError(f"pose.labels: {lb!r} is not a label of model {cfg.model_of(cam)!r}; {known}")
    for cam_id, cam_cfg in cfg.cameras.items():
        known = cache.get(cfg.model_of(cam_id)) or labels_of(cfg.model_of(cam_id))
        bad = sorted(lb for lb in cam_cfg.objects.labels() if known is not None and lb not in known)
        if bad:
            raise EdgekitError(f"camera {cam_id!r}: objects names label {bad[0]!r}, which model "
                               f"{cfg.model_of(cam_id)!r} does not have; its labels are {known}")


def check_startup(cfg: DaemonConfig) -> None:
    """Everything that can be checked before loading models: profile, labels, broker."""
    if cfg.profile:
        from edgekit.device.profiles import load_profile

        load_profile(cfg.profile)
    verify_labels(cfg)
    if cfg.mqtt is not None:
        check_broker(cfg.mqtt)


def cpu_temperature() -> float | None:
    """CPU temperature in °C when the board exposes it (thermal zone 0), else None."""
    p = Path("/sys/class/thermal/thermal_zone0/temp")
    try:
        return round(int(p.read_text().strip()) / 1000, 1)
    except (OSError, ValueError):
        return None


class Daemon:
    """All cameras of one config. ``start()``, then ``run(stop_event)`` until SIGTERM/SIGINT, then ``close()``."""

    def __init__(self, cfg: DaemonConfig, on_event: Callable[[Event], None] | None = None,
                 on_stats: Callable[[dict[str, Any]], None] | None = None) -> None:
        check_startup(cfg)
        self.cfg, self.on_event, self.on_stats = cfg, on_event, on_stats
        self.state = Path(cfg.state_dir) if cfg.state_dir else state_dir()
        self.state.mkdir(parents=True, exist_ok=True)
        self.snapshots = self.state / "snapshots"
        self.stats_path = Path(cfg.stats_file) if cfg.stats_file else self.state / "stats.json"
        self.outbox = Outbox(self.state / "outbox.db")
        from edgekit.events.store import EventStore

        self.store = EventStore(self.state / "events.db")
        self.link: MqttLink | None = None
        self.metrics: Any = None
        self.assistant_service: Any = None
        self.assistant_analytics: Any = None
        self.workers: dict[str, CameraWorker] = {}
        self._lock = threading.Lock()
        self._last: dict[str, tuple[float, int, int]] = {}
        self._proc = psutil.Process()
        self._build_workers()

    def _build_workers(self) -> None:
        from edgekit.vision.detector import Detector

        profile = self.cfg.profile or "desktop"
        detectors: dict[tuple[str, float], Detector] = {}
        pose = None
        if self.cfg.pose.enabled:
            from edgekit.vision.pose import PoseEstimator

            pose = PoseEstimator(model_complexity=self.cfg.pose.model_complexity)
        for cam_id, cam in self.cfg.cameras.items():
            if not cam.enabled:
                continue
            key = (self.cfg.model_of(cam_id), cam.conf)
            if key not in detectors:
                # Sessions are shared between cameras with the same model: ORT runs them thread-safely.
                detectors[key] = Detector.load(key[0], profile=profile, conf=cam.conf)
            det = detectors[key]
            rules = [r for r in self.cfg.rules if cam_id in self.cfg.cameras_of(r)]
            try:
                engine = RuleEngine(cam_id, cam, rules, det.labels, device=self.cfg.device)
            except ValueError as e:
                raise EdgekitError(f"camera {cam_id!r}: {e}") from None
            pose_ids = [det.labels.index(lb) for lb in self.cfg.pose.labels] or None
            self.workers[cam_id] = CameraWorker(cam_id, cam, det, engine, self._handle_event, pose=pose,
                                                pose_class_ids=pose_ids, on_status=self._camera_status,
                                                clips_folder=Path(cam.clips.folder) if cam.clips.folder
                                                else self.state / "clips",
                                                on_counts=self._publish_counts, on_clip=self._clip_ready)
        self._detectors = list(detectors.values())

    # -- events ------------------------------------------------------------------------------------------------
    def _handle_event(self, event: Event, frame: Frame, dets: Detections) -> None:
        worker = self.workers[event.source]
        zone = event.extra.get("zone")
        poly = worker.rules.zones[zone].polygon if zone in worker.rules.zones else None
        jpeg = encode_jpeg(render_snapshot(frame.image, dets, worker.detector.labels, event, poly),
                           self.cfg.snapshot_quality)
        path = write_snapshot(self.snapshots, event, jpeg)
        event = replace(event, snapshot=str(path))
        self.store.add(event)
        if self.link is not None:
            self.link.publish_event(event, t_capture_ns=frame.t_capture_ns)
            base = self.link.base
            self.link.publish(f"{base}/{event.source}/{event.rule}/state", "ON")
            self.link.publish(f"{base}/{event.source}/{event.rule}/attributes", event.to_json())
            if self.cfg.mqtt is not None and self.cfg.mqtt.snapshots == "topic":
                self.link.publish(f"{base}/{event.source}/snapshot", jpeg, qos=0, retain=True)
        log.info("event %s %s on %s (track %s)", event.rule, event.label, event.source, event.track_id)
        if self.on_event is not None:
            self.on_event(event)

    def _publish_counts(self, cam_id: str, counts: Counts) -> None:
        """Retained per-zone, per-label counts (Home Assistant's count sensors read them)."""
        if self.link is None:
            return
        from edgekit.alerts.discovery import count_topic

        for (zone, label), n in counts.items():
            self.link.publish(count_topic(self.link.base, cam_id, zone, label), str(n), qos=0, retain=True)

    def _clip_ready(self, clip: Clip) -> None:
        log.info("clip of event %s: %s (%.1f s)", clip.event_id, clip.path, clip.duration)
        if self.link is not None:
            self.link.publish(f"{self.link.base}/{clip.camera}/clip", json.dumps(
                {"event_id": clip.event_id, "clip": str(clip.path), "duration_s": round(clip.duration, 2)}))

    def _camera_status(self, cam_id: str, up: bool) -> None:
        if self.link is not None:
            self.link.set_camera_available(cam_id, up)

    def _on_command(self, cam: str, rule: str, enabled: bool) -> bool:
        w = self.workers.get(cam)
        return w is not None and w.rules.set_enabled(rule, enabled)

    def _announce(self) -> None:
        """On (re)connect: discovery and the current camera availability."""
        if self.link is None or self.cfg.mqtt is None:
            return
        if self.assistant_service is not None:
            self.assistant_service.subscribe()  # a clean session forgets subscriptions
        if self.cfg.mqtt.discovery:
            from edgekit.alerts.discovery import discovery_messages

            labels = {c: w.detector.labels for c, w in self.workers.items()}
            for topic, payload in discovery_messages(self.cfg, labels, self._configuration_url()):
                self.link.client.publish(topic, payload, qos=1, retain=True)
        for cam_id, w in self.workers.items():
            self.link.client.publish(f"{self.link.base}/{cam_id}/available",
                                     "online" if w.stats.status == "ok" else "offline", qos=1, retain=True)

    def _configuration_url(self) -> str:
        """The dashboard's address for Home Assistant's device page."""
        from edgekit.alerts.discovery import dashboard_url

        dash = getattr(self.cfg, "dashboard", None)
        return dashboard_url(dash.host, dash.port) if dash is not None else dashboard_url()

    # -- stats ---------------------------------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """Live stats in the shared format (``stats.json``, the stats topic, /metrics)."""
        now = time.monotonic()
        cams: dict[str, Any] = {}
        with self._lock:
            for cam_id, w in self.workers.items():
                s = w.stats
                t0, cap0, proc0 = self._last.get(cam_id, (now, s.captured, s.processed))
                dt = now - t0
                cams[cam_id] = {
                    "capture_fps": round((s.captured - cap0) / dt, 2) if dt > 0 else 0.0,
                    "process_fps": round((s.processed - proc0) / dt, 2) if dt > 0 else 0.0,
                    "dropped": s.dropped, "captured": s.captured, "processed": s.processed,
                    "events": s.events, "reconnects": s.reconnects, "max_lag_frames": s.max_lag_frames,
                    "motion_skipped": s.skipped,
                    "clips": len(w.recorder.clips) if w.recorder else 0,
                    "stage_ms": w.stats.stage_ms(),
                    "status": "ok" if s.status == "ok" else "down",
                    "last_error": s.last_error,
                }
                if dt >= 1.0 or cam_id not in self._last:
                    self._last[cam_id] = (now, s.captured, s.processed)
        out: dict[str, Any] = {"ts": time.time(), "device": self.cfg.device, "cameras": cams,
                               "cpu_temp_c": cpu_temperature(), "rss": self._proc.memory_info().rss}
        if self.link is not None:
            out["mqtt"] = {"connected": self.link.connected.is_set(), "pending": len(self.outbox),
                           **self.link.counters}
        if self.assistant_analytics is not None:
            out["assistant"] = self.assistant_analytics.snapshot()
        return out

    def _write_stats(self, stats: dict[str, Any]) -> None:
        tmp = self.stats_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(stats))
        os.replace(tmp, self.stats_path)

    def health(self) -> tuple[bool, str]:
        dead = [c for c, w in self.workers.items() if not w.alive and not w.finished]
        down = [c for c, w in self.workers.items() if w.stats.status != "ok"]
        if dead:
            return False, f"camera threads dead: {dead}"
        return (not down, "ok" if not down else f"cameras down: {down}")

    # -- lifecycle -----------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self.cfg.metrics.enabled:
            from edgekit.pipeline.metrics import MetricsServer

            self.metrics = MetricsServer(self.stats, self.health, self.cfg.metrics.host, self.cfg.metrics.port)
            self.metrics.start()
        if self.cfg.mqtt is not None:
            self.link = MqttLink(self.cfg.mqtt, self.cfg.device, self.outbox, on_command=self._on_command,
                                 on_connect=self._announce)
            if self.metrics is not None:
                self.link.on_latency = self.metrics.alert_latency.observe
            if self.cfg.assistant.enabled:
                self._start_assistant(self.link)
            self.link.start()
        for w in self.workers.values():
            w.start()
        sd_notify("READY=1")
        log.info("daemon %s running %d camera(s)", self.cfg.device, len(self.workers))

    def _start_assistant(self, link: MqttLink) -> None:
        """Answer questions on ``<prefix>/<device>/assistant/request`` from this daemon's event store and stats.

        The model is loaded (after its fit check against the profile's LLM budget) before the cameras start, so a
        GGUF that does not fit fails start-up with one line instead of starving the pipeline later.
        """
        from edgekit.assistant.analytics import AssistantAnalytics
        from edgekit.assistant.loader import open_assistant
        from edgekit.assistant.mqtt_service import AssistantMqttService

        assistant, _loaded = open_assistant(
            self.cfg.assistant.model, self.cfg.profile, self.state / "events.db", self.stats_path,
            beside_camera=True,
        )
        self.assistant_analytics = AssistantAnalytics()
        assistant.on_transcript = self.assistant_analytics.record  # per-request tokens, TTFT, outcome → stats
        self.assistant_service = AssistantMqttService(link.client, self.cfg.device, assistant,
                                                      topic_prefix=link.base.rsplit("/", 1)[0])
        self.assistant_service.start()

    def run(self, stop: threading.Event, stats_every_s: float | None = None) -> None:
        """Report stats and feed the watchdog until ``stop`` is set or every camera has finished."""
        every = stats_every_s or (self.cfg.mqtt.stats_interval_s if self.cfg.mqtt else 5.0)
        wd = watchdog_interval_s()
        tick = min(every, wd or every, 1.0)
        next_stats = time.monotonic()
        while not stop.wait(tick):
            hung = [c for c, w in self.workers.items() if w.alive and time.monotonic() - w.heartbeat > 60]
            if wd is not None and not hung:
                sd_notify("WATCHDOG=1")  # a hung camera thread stops the pings: systemd restarts the daemon
            if time.monotonic() >= next_stats:
                next_stats = time.monotonic() + every
                self.report()
            if self.workers and all(w.finished for w in self.workers.values()):
                log.info("all cameras finished")
                break
        self.report()

    def report(self) -> dict[str, Any]:
        s = self.stats()
        try:
            self._write_stats(s)
        except OSError as e:
            log.warning("cannot write %s: %s", self.stats_path, e)
        if self.link is not None:
            self.link.publish(f"{self.link.base}/stats", json.dumps(s))
        if self.on_stats is not None:
            self.on_stats(s)
        return s

    def close(self) -> None:
        """Stop cameras, flush the outbox (bounded), disconnect, close stores."""
        sd_notify("STOPPING=1")
        for w in self.workers.values():
            w.stop()
        for w in self.workers.values():
            w.join(timeout=10)
        for cam_id in self.workers:
            if self.link is not None:
                self.link.set_camera_available(cam_id, False)
        if self.assistant_service is not None:
            self.assistant_service.stop(timeout=10)
        if self.link is not None:
            self.link.stop()
        if self.metrics is not None:
            self.metrics.stop()
        for d in self._detectors:
            d.close()
        self.store.close()
        self.outbox.close()
