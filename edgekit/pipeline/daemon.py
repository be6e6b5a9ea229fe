"""The daemon: builds every camera worker from a DaemonConfig, delivers their Events, reports stats.

Start-up checks run before anything starts (profile, model labels, broker reachability, ports), each failing with
one ``EdgekitError`` line. Then: cameras run on their own threads, each logging once what its detector runs (model
file, input size, precision, backend, providers, substitutions); each Event goes to the
:class:`~edgekit.delivery.handler.EventHandler` (snapshot, event store, outbox, rule state); a stats loop writes
``stats.json``, publishes the stats through the MQTT link and pings systemd's watchdog while every camera thread is
alive. The daemon never builds a topic: the link does.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from edgekit.config.daemon import DaemonConfig
from edgekit.contract.stats import CameraReport, DaemonStats, MqttReport, RuntimeInfo, StorageReport, write_stats
from edgekit.delivery.discovery import dashboard_url, discovery_messages
from edgekit.delivery.handler import EventHandler
from edgekit.delivery.mqtt import MqttLink, check_broker
from edgekit.delivery.outbox import Outbox
from edgekit.device.state import cpu_temperature
from edgekit.errors import EdgekitError
from edgekit.paths import state_dir
from edgekit.pipeline.camera import CameraWorker, EventSink
from edgekit.pipeline.clips import Clip
from edgekit.pipeline.retention import Retention
from edgekit.pipeline.service import sd_notify, watchdog_interval_s
from edgekit.tracking.counts import Counts
from edgekit.tracking.rules import RuleEngine
from edgekit.types import Detections, Event, Frame
from edgekit.vision.detector import Detector

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


def verify_camera_files(cfg: DaemonConfig) -> None:
    """A camera whose source is a file or folder that does not exist is a config error, not a camera to retry."""
    from edgekit.sources import missing_file

    for cam_id, cam in cfg.cameras.items():
        why = missing_file(cam.source) if cam.enabled else None
        if why:
            raise EdgekitError(f"cameras.{cam_id}.source: {why}")


def check_startup(cfg: DaemonConfig) -> None:
    """Everything that can be checked before loading models: profile, labels, camera files (config errors, exit 2).

    A broker that is down or unresolvable at start-up is not one: at boot it often comes up after the board, so
    the daemon warns, starts, keeps alerts in the outbox and connects when the broker answers.
    """
    if cfg.profile:
        from edgekit.device.profiles import load_profile

        load_profile(cfg.profile)
    verify_labels(cfg)
    verify_camera_files(cfg)
    if cfg.mqtt is not None:
        try:
            check_broker(cfg.mqtt)
        except EdgekitError as e:
            if "unreachable" not in str(e) and "does not resolve" not in str(e):
                raise  # e.g. a certificate that does not verify: no retry fixes that
            log.warning("%s; starting anyway: alerts wait in the outbox until the broker answers", e)


def runtime_info(det: Detector) -> RuntimeInfo:
    """What a loaded detector really runs: its plan (model file, precision, backend, substitutions) and input."""
    plan = det.plan
    providers = list(getattr(det.backend, "providers", None) or (plan.options.providers if plan else None) or ())
    return RuntimeInfo(
        model=str(plan.model_path) if plan else "", input_size=det.input_hw,
        precision=plan.precision if plan else "", backend=plan.backend if plan else getattr(det.backend, "name", ""),
        providers=providers, substitutions=list(plan.substitutions) if plan else [],
    )


def describe_runtime(cam_id: str, r: RuntimeInfo) -> str:
    """The start-up line that says what a camera runs.

    >>> describe_runtime("gate", RuntimeInfo(model="m.onnx", input_size=(640, 640), precision="fp32",
    ...                                      backend="onnxruntime", providers=["CPUExecutionProvider"]))
    'camera gate runs m.onnx at 640x640 fp32 on onnxruntime [CPUExecutionProvider]; no substitution'
    """
    size = "x".join(map(str, r.input_size)) if r.input_size else "?"
    subs = "; substitutions: " + " | ".join(r.substitutions) if r.substitutions else "; no substitution"
    return (f"camera {cam_id} runs {r.model} at {size} {r.precision} on {r.backend} "
            f"[{', '.join(r.providers)}]{subs}")


class Daemon:
    """All cameras of one config. ``start()``, then ``run(stop_event)`` until SIGTERM/SIGINT, then ``close()``."""

    def __init__(self, cfg: DaemonConfig, on_event: Callable[[Event], None] | None = None,
                 on_stats: Callable[[DaemonStats], None] | None = None) -> None:
        check_startup(cfg)
        self.cfg, self.on_stats = cfg, on_stats
        self.state = Path(cfg.state_dir) if cfg.state_dir else state_dir()
        self.state.mkdir(parents=True, exist_ok=True)
        self.snapshots = self.state / "snapshots"
        self.stats_path = Path(cfg.stats_file) if cfg.stats_file else self.state / "stats.json"
        self.outbox = Outbox(self.state / "outbox.db")
        from edgekit.events.store import EventStore

        self.store = EventStore(self.state / "events.db")
        self.events = EventHandler(self.snapshots, self.store, quality=cfg.snapshot_quality,
                                   snapshot_topic=cfg.mqtt is not None and cfg.mqtt.snapshots == "topic",
                                   on_event=on_event)
        self.retention = Retention(cfg.retention, self.snapshots, self.store, self.outbox,
                                   clips=[self.clip_folder(c) for c, cam in cfg.cameras.items() if cam.clips.enabled])
        self.uploader: Any = None
        if cfg.storage.s3 is not None:
            from edgekit.storage import S3Uploader, UploadQueue

            s3 = cfg.storage.s3
            self.uploader = S3Uploader(s3, UploadQueue(Path(s3.queue) if s3.queue else self.state / "uploads.db"))
            self.events.uploader = self.uploader
        self.link: MqttLink | None = None
        self.metrics: Any = None
        self.assistant_service: Any = None
        self.dashboard: Any = None
        self.assistant_analytics: Any = None
        self.workers: dict[str, CameraWorker] = {}
        self.runtime: dict[str, RuntimeInfo] = {}
        self._lock = threading.Lock()
        self._last: dict[str, tuple[float, int, int]] = {}
        self._proc = psutil.Process()
        self._build_workers()

    def _build_workers(self) -> None:
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
                engine = RuleEngine(cam_id, cam, rules, det.labels, device=self.cfg.device,
                                    min_visibility=self.cfg.pose.min_visibility)
            except ValueError as e:
                raise EdgekitError(f"camera {cam_id!r}: {e}") from None
            pose_ids = [det.labels.index(lb) for lb in self.cfg.pose.labels] or None
            self.workers[cam_id] = CameraWorker(
                cam_id, cam, det, engine, self._sink(cam_id), pose=pose, pose_class_ids=pose_ids,
                on_status=self._camera_status, clips_folder=self.clip_folder(cam_id),
                on_counts=self._publish_counts, on_clip=self._clip_ready)
            self.runtime[cam_id] = runtime_info(det)
            log.info(describe_runtime(cam_id, self.runtime[cam_id]))
        self._detectors = list(detectors.values())
        if any(d.plan is not None and d.plan.options.lean_memory for d in self._detectors):
            from edgekit.backends.memory import map_large_allocations

            map_large_allocations()  # per-frame buffers given back on free (profile's runtime.lean_memory)

    # -- events ------------------------------------------------------------------------------------------------
    def _sink(self, cam_id: str) -> EventSink:
        def sink(event: Event, frame: Frame, dets: Detections) -> None:
            w = self.workers[cam_id]
            self.events.handle(event, frame, dets, w.rules, w.detector.labels)

        return sink

    def clip_folder(self, cam_id: str) -> Path:
        """Where a camera's clips go (``clips.folder``, default ``<state_dir>/clips``)."""
        folder = self.cfg.cameras[cam_id].clips.folder
        return Path(folder) if folder else self.state / "clips"

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
                    capture_fps=round((s.captured - cap0) / dt, 2) if dt > 0 else 0.0,
                    process_fps=round((s.processed - proc0) / dt, 2) if dt > 0 else 0.0,
                    dropped=s.dropped, captured=s.captured, processed=s.processed, events=s.events,
                    reconnects=s.reconnects, max_lag_frames=s.max_lag_frames, stage_ms=s.stage_ms(),
                    status="ok" if s.status == "ok" else "down", last_error=s.last_error,
                    rate_warnings=s.rate_warnings,
                    runtime=self.runtime.get(cam_id), motion_skipped=s.skipped,
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
        assistant = self.assistant_analytics.snapshot() if self.assistant_analytics is not None else None
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
        report: dict[str, Any] = {
            "status": "ok" if not reasons else "unhealthy", "reasons": reasons,
            "cameras": {c: {"status": w.stats.status,
                            "runtime": self.runtime[c].model_dump(mode="json") if c in self.runtime else None}
                        for c, w in self.workers.items()},
        }
        return not reasons, report

    # -- lifecycle -----------------------------------------------------------------------------------------------
    def start(self) -> None:
        if self.cfg.dashboard.enabled:
            from edgekit.web.attach import DaemonDashboard

            self.dashboard = DaemonDashboard(self, self.cfg.dashboard)
            self.events.on_stored.append(self.dashboard.on_event)
            self.dashboard.start()
        if self.cfg.metrics.enabled:
            from edgekit.pipeline.metrics import MetricsServer

            self.metrics = MetricsServer(self.stats, self.health, self.cfg.metrics.host, self.cfg.metrics.port)
            self.metrics.start()
        if self.cfg.mqtt is not None:
            self.link = MqttLink(self.cfg.mqtt, self.cfg.device, self.outbox, on_command=self._on_command,
                                 on_connect=self._announce)
            self.events.link = self.link
            if self.metrics is not None:
                self.link.on_latency = self.metrics.alert_latency.observe
            if self.cfg.assistant.enabled:
                from edgekit.assistant.mqtt_service import AssistantMqttService

                # listening before the model loads: an early question is logged and answered once it is ready
                self.assistant_service = AssistantMqttService(self.link, self.cfg.device, None,
                                                              topic_prefix=self.link.topics.prefix)
                self.assistant_service.start()
            self.link.start()
            if self.assistant_service is not None:
                self._load_assistant()
        if self.uploader is not None:
            self.uploader.start()
        for w in self.workers.values():
            w.start()
        sd_notify("READY=1")
        log.info("daemon %s running %d camera(s)", self.cfg.device, len(self.workers))

    def _load_assistant(self) -> None:
        """Load the assistant's model for the service on the link's request topic, from this daemon's event store
        and stats.

        The model is loaded (after its fit check against the profile's LLM budget) before the cameras start, so a
        GGUF that does not fit fails start-up with one line instead of starving the pipeline later.
        """
        from edgekit.assistant.analytics import AssistantAnalytics
        from edgekit.assistant.loader import open_assistant

        assistant, loaded = open_assistant(
            self.cfg.assistant.model, self.cfg.profile, self.state / "events.db", self.stats_path,
            beside_camera=True,
        )
        self.assistant_analytics = AssistantAnalytics()
        assistant.on_transcript = self.assistant_analytics.record  # per-request tokens, TTFT, outcome → stats
        if self.dashboard is not None:
            assistant = self.dashboard.share_assistant(assistant)  # one llama.cpp context: the page asks in turn
        self.assistant_service.set_assistant(assistant)
        log.info("assistant ready on %s (predicted share of this daemon's RSS: %.0f MB)",
                 self.assistant_service.request_topic, loaded.fit.beside_daemon_mb)

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
        if self.dashboard is not None:
            self.dashboard.on_stats(s.model_dump(mode="json"))
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
        if self.dashboard is not None:
            self.dashboard.stop()
        if self.uploader is not None:
            self.uploader.stop(timeout_s=left())
            self.uploader.queue.close()
        in_use = {id(w.detector) for w in self.workers.values() if w.alive}
        for d in self._detectors:
            if id(d) not in in_use:  # freeing a session a stuck thread still runs would crash the process
                d.close()
        self.store.close()
        self.outbox.close()
