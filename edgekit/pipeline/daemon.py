"""The daemon: runs every camera of a DaemonConfig, delivers their Events, reports stats.

Its parts come in through its constructor: :func:`~edgekit.pipeline.services.build_services` builds what needs no
daemon (start-up checks, state, stores, upload queue, loaded models), the constructor builds the rest in the order
each needs the other (see :meth:`Daemon.__init__`), and a :class:`~edgekit.pipeline.services.Watcher` (the dashboard,
built by the CLI) gets frames, events and stats. Cameras run on their own threads, each logging once what its
detector runs; each Event goes to the :class:`~edgekit.delivery.handler.EventHandler` (snapshot, event store, outbox,
rule state); a stats loop writes ``stats.json``, publishes the stats through the MQTT link and pings systemd's
watchdog while every camera thread is alive. The daemon never builds a topic: the link does.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import psutil

from edgekit.config.daemon import DaemonConfig
from edgekit.contract.stats import CameraReport, DaemonStats, MqttReport, StorageReport, write_stats
from edgekit.delivery.discovery import dashboard_url, discovery_messages
from edgekit.delivery.handler import EventHandler
from edgekit.delivery.mqtt import MqttLink
from edgekit.device.state import cpu_temperature
from edgekit.pipeline.camera import CameraWorker, EventSink
from edgekit.pipeline.clips import Clip
from edgekit.pipeline.metrics import MetricsServer
from edgekit.pipeline.retention import Retention
from edgekit.pipeline.service import sd_notify, watchdog_interval_s
from edgekit.pipeline.services import Services, Watcher, build_services
from edgekit.tracking.counts import Counts
from edgekit.types import Detections, Event, Frame

if TYPE_CHECKING:
    from edgekit.assistant.mqtt_service import AssistantMqttService

log = logging.getLogger(__name__)


class Daemon:
    """All cameras of one config. ``start()``, then ``run(stop_event)`` until SIGTERM/SIGINT, then ``close()``.

    ``services``: built by :func:`build_services` when not given. The daemon owns them from here and closes them.
    """

    def __init__(self, cfg: DaemonConfig, services: Services | None = None, *, watcher: Watcher | None = None,
                 on_event: Callable[[Event], None] | None = None,
                 on_stats: Callable[[DaemonStats], None] | None = None) -> None:
        s = services if services is not None else build_services(cfg)
        self.cfg, self.services, self.watcher, self.on_stats = cfg, s, watcher, on_stats
        self.state, self.snapshots, self.stats_path = s.state, s.snapshots, s.stats_path
        self.outbox, self.store, self.uploader, self.assistant = s.outbox, s.store, s.uploader, s.assistant
        if cfg.dashboard.enabled and watcher is None:
            log.warning("dashboard.enabled, but this daemon was given no dashboard: it is built above the pipeline "
                        "(edgekit.cli.run.build_daemon, what `edgekit run` uses)")
        # Each part is built after what it calls: /metrics before the link (the link feeds its latency histogram),
        # the link before the assistant's MQTT service (which answers on it) and the event handler (which publishes
        # through it), the handler before the cameras (their events go to it). The callbacks of the link and of
        # /metrics are this daemon's methods; none of them runs before start().
        self.metrics: MetricsServer | None = None
        self.link: MqttLink | None = None
        self.assistant_service: AssistantMqttService | None = None
        try:
            if cfg.metrics.enabled:
                self.metrics = MetricsServer(self.stats, self.health, cfg.metrics.host, cfg.metrics.port)
            if cfg.mqtt is not None:
                self.link = MqttLink(cfg.mqtt, cfg.device, self.outbox, on_command=self._on_command,
                                     on_connect=self._announce,
                                     on_latency=self.metrics.alert_latency.observe if self.metrics else None)
            if self.link is not None and self.assistant is not None:
                from edgekit.assistant.mqtt_service import AssistantMqttService

                # listening before the model loads: an early question is logged and answered once it is ready
                self.assistant_service = AssistantMqttService(self.link, cfg.device, None,
                                                              topic_prefix=self.link.topics.prefix)
            self.events = EventHandler(self.snapshots, self.store, quality=cfg.snapshot_quality,
                                       snapshot_topic=cfg.mqtt is not None and cfg.mqtt.snapshots == "topic",
                                       link=self.link, on_event=on_event, uploader=self.uploader,
                                       on_stored=[watcher.on_event] if watcher is not None else ())
            self.retention = Retention(cfg.retention, self.snapshots, self.store, self.outbox,
                                       clips=[c.clips for c in s.cameras.values() if c.cfg.clips.enabled])
            self.workers = {cam_id: CameraWorker(
                cam_id, cam.cfg, cam.detector, cam.rules, self._sink(cam_id), pose=s.pose,
                pose_class_ids=cam.pose_class_ids, on_status=self._camera_status, clips_folder=cam.clips,
                on_counts=self._publish_counts, on_clip=self._clip_ready,
                on_frame=watcher.frame_sink(cam_id) if watcher is not None else None,
                affinity=cfg.scheduling.cpus, capture_nice=cfg.scheduling.capture_nice,
            ) for cam_id, cam in s.cameras.items()}
        except BaseException:  # a port in use, a bad object filter: let go of what is open, then tell
            if self.metrics is not None:
                self.metrics.stop()
            s.close()
            raise
        self.runtime = {cam_id: cam.runtime for cam_id, cam in s.cameras.items()}
        self._lock = threading.Lock()
        self._last: dict[str, tuple[float, int, int]] = {}
        self._proc = psutil.Process()

    # -- events ------------------------------------------------------------------------------------------------
    def _sink(self, cam_id: str) -> EventSink:
        def sink(event: Event, frame: Frame, dets: Detections) -> None:
            w = self.workers[cam_id]
            self.events.handle(event, frame, dets, w.rules, w.detector.labels)

        return sink

    def _publish_counts(self, cam_id: str, counts: Counts) -> None:
        if self.link is not None:
            self.link.publish_counts(cam_id, counts)

    def _clip_ready(self, clip: Clip) -> None:
        log.info("clip of event %s: %s (%.1f s)", clip.event_id, clip.path, clip.duration)
        if self.link is not None:
            self.link.publish_clip(clip.camera, json.dumps(
                {"event_id": clip.event_id, "clip": str(clip.path), "duration_s": round(clip.duration, 2)}))

    def _camera_status(self, cam_id: str, up: bool) -> None:
        if self.link is not None:
            self.link.set_camera_available(cam_id, up)

    def _on_command(self, cam: str, rule: str, enabled: bool, retained: bool) -> bool:
        w = self.workers.get(cam)
        return w is not None and w.rules.set_enabled(rule, enabled, retained=retained)

    def _announce(self) -> None:
        """On (re)connect: discovery and the current camera availability."""
        if self.link is None or self.cfg.mqtt is None:
            return
        labels = {c: w.detector.labels for c, w in self.workers.items()}
        dash = self.cfg.dashboard
        discovery = discovery_messages(self.cfg, labels, dashboard_url(dash.host, dash.port)) \
            if self.cfg.mqtt.discovery else []
        self.link.announce(discovery, {cam_id: w.stats.status == "ok" for cam_id, w in self.workers.items()})

    # -- stats ---------------------------------------------------------------------------------------------------
    def stats(self) -> DaemonStats:
        """Live stats (``stats.json``, the stats topic, /metrics, /healthz)."""
        now = time.monotonic()
        cams: dict[str, CameraReport] = {}
        with self._lock:
            for cam_id, w in self.workers.items():
                s = w.stats
                t0, cap0, proc0 = self._last.get(cam_id, (now, s.captured, s.processed))
                dt = now - t0
                cams[cam_id] = CameraReport(
                    **s.counters(),
                    capture_fps=round((s.captured - cap0) / dt, 2) if dt > 0 else 0.0,
                    process_fps=round((s.processed - proc0) / dt, 2) if dt > 0 else 0.0,
                    stage_ms=s.stage_ms(), status="ok" if s.status == "ok" else "down",
                    rules_off=w.rules.rules_off(), runtime=self.runtime.get(cam_id),
                    clips=len(w.recorder.clips) if w.recorder else 0,
                    clip_frames_dropped=w.recorder.dropped if w.recorder else 0,
                )
                if dt >= 1.0 or cam_id not in self._last:
                    self._last[cam_id] = (now, s.captured, s.processed)
        mqtt = None
        if self.link is not None:
            mqtt = MqttReport(connected=self.link.connected.is_set(), pending=len(self.outbox),
                              last_error=self.link.last_error, **self.link.counters)
        r = self.retention
        storage = StorageReport(free_mb=r.free_mb, snapshots_mb=r.snapshots_mb, clips_mb=r.clips_mb,
                                deleted={f"{k}:{why}": n for (k, why), n in sorted(r.deleted.items())})
        assistant = self.assistant.analytics.snapshot() if self.assistant is not None and self.assistant.ready \
            else None
        return DaemonStats(device=self.cfg.device, cameras=cams, cpu_temp_c=cpu_temperature(),
                           rss=self._proc.memory_info().rss, mqtt=mqtt, storage=storage, assistant=assistant,
                           uploads=self.uploader.stats() if self.uploader is not None else None)

    def stuck(self) -> list[str]:
        """Threads that should run and do not (a restart fixes them; a broker outage is not one of them)."""
        out = [f"camera {c} hung" for c, w in self.workers.items() if w.alive and time.monotonic() - w.heartbeat > 60]
        if self.link is not None and self.link.started and not self.link.alive:
            out.append("MQTT link threads died")
        if self.assistant_service is not None and not self.assistant_service.alive:
            out.append("assistant worker died")
        return out

    def health(self) -> tuple[bool, dict[str, Any]]:
        """(healthy, report): the reasons it is not, and what each camera runs."""
        reasons = []
        dead = [c for c, w in self.workers.items() if not w.alive and not w.finished]
        down = [c for c, w in self.workers.items() if w.stats.status != "ok"]
        if dead:
            reasons.append(f"camera threads dead: {dead}")
        if down:
            reasons.append(f"cameras down: {down}")
        if self.link is not None and self.cfg.mqtt is not None:
            reasons += self.link.problems(self.cfg.mqtt.max_backlog_s)
        if self.assistant_service is not None and not self.assistant_service.alive:
            reasons.append("assistant service stopped")
        # A rule switched off over MQTT is a choice, not a fault (no restart brings it back), so it stays healthy,
        # but it is said here, where a monitor looks, and on the dashboard.
        rules_off = {c: off for c, w in self.workers.items() if (off := w.rules.rules_off())}
        report: dict[str, Any] = {
            "status": "ok" if not reasons else "unhealthy", "reasons": reasons,
            "cameras": {c: {"status": w.stats.status,
                            "runtime": self.runtime[c].model_dump(mode="json") if c in self.runtime else None}
                        for c, w in self.workers.items()},
            **({"rules_off": rules_off} if rules_off else {}),
        }
        return not reasons, report

    # -- lifecycle -----------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start every part, the cameras last. The order, and why: the watcher (dashboard) and /metrics first, so
        they show the start; the assistant's MQTT service before the link connects (its subscription goes out with
        the first connect); the link; the assistant's model before the cameras (a GGUF that does not fit fails
        start-up with one line instead of starving the pipeline later); the uploader before the first event;
        then the cameras, whose frames and events every part above takes."""
        if self.watcher is not None:
            self.watcher.start()
        if self.metrics is not None:
            self.metrics.start()
        if self.assistant_service is not None:
            self.assistant_service.start()
        if self.link is not None:
            self.link.start()
        if self.assistant_service is not None:
            self._load_assistant(self.assistant_service)
        if self.uploader is not None:
            self.uploader.start()
        for w in self.workers.values():
            w.start()
        sd_notify("READY=1")
        log.info("daemon %s running %d camera(s)", self.cfg.device, len(self.workers))

    def _load_assistant(self, service: AssistantMqttService) -> None:
        """Load the assistant's model (after its fit check against the profile's LLM budget) from this daemon's
        event store and stats into the shared assistant, and let ``service`` answer with it."""
        from edgekit.assistant.loader import open_assistant

        assert self.assistant is not None  # there is a service only for an assistant (see __init__)
        assistant, loaded = open_assistant(
            self.cfg.assistant.model, self.cfg.profile, self.state / "events.db", self.stats_path,
            beside_camera=True,
        )
        self.assistant.load(assistant)
        service.set_assistant(self.assistant)
        log.info("assistant ready on %s (predicted share of this daemon's RSS: %.0f MB)",
                 service.request_topic, loaded.fit.beside_daemon_mb)

    def run(self, stop: threading.Event, stats_every_s: float | None = None) -> None:
        """Report stats and feed the watchdog until ``stop`` is set or every camera has finished."""
        every = stats_every_s or (self.cfg.mqtt.stats_interval_s if self.cfg.mqtt else 5.0)
        wd = watchdog_interval_s()
        tick = min(every, wd or every, self.cfg.retention.interval_s, 1.0)
        next_stats = next_sweep = time.monotonic()
        while not stop.wait(tick):
            if time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + self.cfg.retention.interval_s
                self.sweep()
            if wd is not None and not self.stuck():
                sd_notify("WATCHDOG=1")  # a stuck thread stops the pings: systemd restarts the daemon
            if time.monotonic() >= next_stats:
                next_stats = time.monotonic() + every
                self.report()
            if self.workers and all(w.finished for w in self.workers.values()):
                log.info("all cameras finished")
                break
        self.report()

    def sweep(self) -> None:
        """One retention pass (never fatal: a failed pass is logged and the next one tries again)."""
        try:
            self.retention.sweep()
        except Exception:
            log.exception("retention pass failed")

    def report(self) -> DaemonStats:
        """Take the stats and hand them to every reader: ``stats.json`` (its one writer), the link, ``on_stats``."""
        s = self.stats()
        try:
            write_stats(self.stats_path, s)
        except OSError as e:
            log.warning("cannot write %s: %s", self.stats_path, e)
        if self.link is not None:
            self.link.publish_stats(s.to_json())
        if self.watcher is not None:
            self.watcher.on_stats(s)
        if self.on_stats is not None:
            self.on_stats(s)
        return s

    def close(self, timeout_s: float = 20.0) -> None:
        """Stop cameras, flush the outbox, disconnect, close stores — all within ``timeout_s`` (``edgekit run`` gives
        it what is left of its 2 s stop). What does not finish in time is left to the process exit: a camera thread
        stuck in a source or an inference keeps its model open, unsent alerts stay in the outbox for the next start.
        """
        deadline = time.monotonic() + timeout_s

        def left(share: float = 1.0) -> float:
            return max(0.0, (deadline - time.monotonic()) * share)

        sd_notify("STOPPING=1")
        for w in self.workers.values():
            w.stop()
        for w in self.workers.values():
            w.join(timeout=left())
        busy = [c for c, w in self.workers.items() if w.alive]
        if busy:
            log.warning("camera(s) %s still busy at stop (a source or an inference that does not return); "
                        "not waiting for them", ", ".join(busy))
        for cam_id in self.workers:
            if self.link is not None:
                self.link.set_camera_available(cam_id, False)
        if self.assistant_service is not None:
            self.assistant_service.stop(timeout=left(0.3))
        if self.link is not None:
            self.link.stop(flush_timeout_s=min(5.0, left(0.7)))
        if self.metrics is not None:
            self.metrics.stop()
        if self.watcher is not None:
            self.watcher.stop()
        if self.uploader is not None:
            self.uploader.stop(timeout_s=left())
        self.services.close(in_use=[w.detector for w in self.workers.values() if w.alive])
