"""Start-up checks of a daemon config, before anything is opened: profile, model labels, camera files, broker.

Each failure is one :class:`~edgekit.errors.EdgekitError` line (a config error, exit 2). Whether the daemon may start
without its broker is decided by the error's type (:class:`~edgekit.delivery.mqtt.BrokerUnavailable`), never by its
wording.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from edgekit.config.daemon import DaemonConfig
from edgekit.delivery.mqtt import BrokerUnavailable, check_broker
from edgekit.errors import EdgekitError

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


def verify_affinity(cfg: DaemonConfig) -> None:
    """``scheduling.affinity`` names only CPUs this process may run on (a config written for a bigger board)."""
    from edgekit.backends.threads import check_cpus

    if cfg.scheduling.affinity is not None:
        try:
            check_cpus(cfg.scheduling.affinity)
        except ValueError as e:
            raise EdgekitError(f"scheduling.affinity: {e}") from None


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
    verify_affinity(cfg)
    if cfg.mqtt is not None:
        try:
            check_broker(cfg.mqtt)
        except BrokerUnavailable as e:  # BrokerRejected (a certificate that fails) is raised: no wait fixes it
            log.warning("%s; starting anyway: alerts wait in the outbox until the broker answers", e)
