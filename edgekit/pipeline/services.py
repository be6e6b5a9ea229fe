"""What the daemon is built from, built before it and passed to its constructor: :func:`build_services`.

Callers that add their own parts (the dashboard, a test's assistant) build the services, build their parts from
them, and hand both to :class:`~edgekit.pipeline.daemon.Daemon`. A part that watches the daemon (the dashboard, from
a floor above the pipeline) comes in as a :class:`Watcher`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from edgekit.config.cameras import CameraConfig
from edgekit.config.daemon import DaemonConfig
from edgekit.contract.stats import DaemonStats, RuntimeInfo
from edgekit.delivery.outbox import Outbox
from edgekit.errors import EdgekitError
from edgekit.events.store import EventStore
from edgekit.paths import state_dir
from edgekit.pipeline.answerer import SharedAssistant
from edgekit.pipeline.runtime import describe_runtime, runtime_info
from edgekit.pipeline.startup import check_startup
from edgekit.storage.s3 import S3Uploader
from edgekit.tracking.rules import RuleEngine
from edgekit.types import Detections, Event, Frame
from edgekit.vision.detector import Detector
from edgekit.vision.pose import PoseEstimator

log = logging.getLogger(__name__)

FrameSink = Callable[[Frame, Detections], None]


class Watcher(Protocol):
    """A service that shows what the daemon sees (the dashboard). The daemon starts it before its cameras, gives
    each camera worker its :meth:`frame_sink`, calls :meth:`on_event` with each stored event and :meth:`on_stats`
    with each stats report, and stops it after the cameras."""

    def frame_sink(self, cam_id: str) -> FrameSink | None: ...
    def on_event(self, event: Event, frame: Frame) -> None: ...
    def on_stats(self, stats: DaemonStats) -> None: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...


@dataclass(frozen=True)
class CameraPlan:
    """One enabled camera, ready to run: its config, its loaded detector, its rules, and what it runs."""

    cfg: CameraConfig
    detector: Detector
    rules: RuleEngine
    runtime: RuntimeInfo
    clips: Path
    """Where its clips go (``clips.folder``, default ``<state_dir>/clips``)."""
    pose_class_ids: list[int] | None = None


@dataclass
class Services:
    """The daemon's parts that need no daemon (:func:`build_services` opens them, and says in which order)."""

    state: Path
    snapshots: Path
    stats_path: Path
    outbox: Outbox
    store: EventStore
    uploader: S3Uploader | None
    assistant: SharedAssistant | None
    """The assistant every asker shares (MQTT, the dashboard); its model is loaded by ``Daemon.start``."""
    cameras: dict[str, CameraPlan]
    pose: PoseEstimator | None

    @property
    def detectors(self) -> list[Detector]:
        """Each loaded detector once (cameras with the same model and threshold share one)."""
        return list({id(c.detector): c.detector for c in self.cameras.values()}.values())

    def close(self, in_use: Collection[Detector] = ()) -> None:
        """Free the detectors (but those in ``in_use``: a stuck camera thread still runs them) and close the stores."""
        busy = {id(d) for d in in_use}
        for d in self.detectors:
            if id(d) not in busy:  # freeing a session a stuck thread still runs would crash the process
                d.close()
        if self.assistant is not None:
            self.assistant.close()
        if self.uploader is not None:
            self.uploader.queue.close()
        self.store.close()
        self.outbox.close()


def clip_folder(cfg: DaemonConfig, state: Path, cam_id: str) -> Path:
    """Where a camera's clips go (``clips.folder``, default ``<state_dir>/clips``)."""
    folder = cfg.cameras[cam_id].clips.folder
    return Path(folder) if folder else state / "clips"


def build_services(cfg: DaemonConfig) -> Services:
    """Check the config, then open the daemon's parts in this order: config errors first (nothing is opened for a
    config that cannot run), then the state everything writes to (outbox, event store), the upload queue, and the
    models last (the slow part, once every cheap error has had its say)."""
    check_startup(cfg)
    state = Path(cfg.state_dir) if cfg.state_dir else state_dir()
    state.mkdir(parents=True, exist_ok=True)
    outbox = Outbox(state / "outbox.db")
    store = EventStore(state / "events.db")
    uploader = None
    try:
        if cfg.storage.s3 is not None:
            from edgekit.storage import UploadQueue

            s3 = cfg.storage.s3
            uploader = S3Uploader(s3, UploadQueue(Path(s3.queue) if s3.queue else state / "uploads.db"))
        cameras = load_cameras(cfg, state)
    except BaseException:  # e.g. no S3 credentials, a model that does not load: the stores are let go first
        if uploader is not None:
            uploader.queue.close()
        store.close()
        outbox.close()
        raise
    # the assistant answers over the link: without MQTT there is no one to ask it (the daemon loads no model)
    assistant = SharedAssistant() if cfg.assistant.enabled and cfg.mqtt is not None else None
    pose = PoseEstimator(model_complexity=cfg.pose.model_complexity) if cfg.pose.enabled else None
    return Services(
        state=state, snapshots=state / "snapshots",
        stats_path=Path(cfg.stats_file) if cfg.stats_file else state / "stats.json",
        outbox=outbox, store=store, uploader=uploader, assistant=assistant,
        cameras=cameras, pose=pose,
    )


def load_cameras(cfg: DaemonConfig, state: Path) -> dict[str, CameraPlan]:
    """Every enabled camera with its detector loaded and its rules built, each logging once what it runs."""
    profile = cfg.profile or "desktop"
    detectors: dict[tuple[str, float], Detector] = {}
    plans: dict[str, CameraPlan] = {}
    for cam_id, cam in cfg.cameras.items():
        if not cam.enabled:
            continue
        key = (cfg.model_of(cam_id), cam.conf)
        if key not in detectors:
            # Cameras with the same model share one detector, which runs one inference at a time.
            sched = cfg.scheduling
            detectors[key] = Detector.load(key[0], profile=profile, conf=cam.conf, threads=sched.threads,
                                           spinning=sched.spinning, affinity=sched.cpus)
        det = detectors[key]
        rules = [r for r in cfg.rules if cam_id in cfg.cameras_of(r)]
        try:
            engine = RuleEngine(cam_id, cam, rules, det.labels, device=cfg.device,
                                min_visibility=cfg.pose.min_visibility)
        except ValueError as e:
            raise EdgekitError(f"camera {cam_id!r}: {e}") from None
        plans[cam_id] = CameraPlan(cam, det, engine, runtime_info(det), clip_folder(cfg, state, cam_id),
                                   [det.labels.index(lb) for lb in cfg.pose.labels] or None)
        log.info(describe_runtime(cam_id, plans[cam_id].runtime))
    if any(d.plan is not None and d.plan.options.lean_memory for d in detectors.values()):
        from edgekit.backends.memory import map_large_allocations

        map_large_allocations()  # per-frame buffers given back on free (profile's runtime.lean_memory)
    return plans
