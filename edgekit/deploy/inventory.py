"""Many boards: an inventory YAML deployed in rolling batches that stop at the first unhealthy board.

Each board gets its own device name, so its own MQTT client id (``edgekit-<device>``), topics and Home Assistant
unique ids; its camera sources and secrets file come from its entry. These reach the daemon through the board's
env file (``EDGEKIT_DEVICE``, ``EDGEKIT_MQTT_CLIENT_ID``, ``EDGEKIT_CAMERA_<ID>``), so one bundle serves all::

    batch_size: 1                      # boards deployed at once; the next batch waits for this one to be healthy
    defaults:                          # any board key, applied where a board does not set it
      manager: systemd-user
      ssh_options: ["-i", "~/.ssh/edgekit"]
    boards:
      - target: ssh://pi@porch.local
        device: porch
        env_file: porch.env            # MQTT_PASSWORD=... (relative to the inventory file)
        cameras: {front: "picamera2:0"}
        env: {METRICS_PORT: "9108"}    # any other variable the config uses
"""

from __future__ import annotations

import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from edgekit.deploy.bundle import bundle_env_vars
from edgekit.deploy.manifest import Manifest
from edgekit.deploy.remote import BoardError, SSHTarget
from edgekit.deploy.rollout import (
    MANAGERS,
    DeployOptions,
    DeployResult,
    board_env,
    check_base,
    check_env_key,
    deploy_one,
)
from edgekit.errors import EdgekitError


class Board(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: str = Field(description="ssh://user@host[:port]")
    device: str = Field(pattern=r"^[A-Za-z0-9_-]+$", description="Device name: MQTT topics, client id, HA ids")
    env_file: str | None = None
    cameras: dict[str, str] = Field(default_factory=dict, description="camera id → source URI on this board")
    env: dict[str, str] = Field(default_factory=dict)
    manager: str = Field("systemd-user", pattern="^(" + "|".join(MANAGERS) + ")$")
    base: str = "edgekit"
    python: str = "python3"
    ssh_options: list[str] = Field(default_factory=list)

    @field_validator("env")
    @classmethod
    def _env_keys(cls, env: dict[str, str]) -> dict[str, str]:
        try:
            for key in env:
                check_env_key(key)
        except EdgekitError as e:  # pydantic reports ValueErrors (with the field's place), nothing else
            raise ValueError(str(e)) from None
        return env

    @field_validator("base")
    @classmethod
    def _base(cls, base: str) -> str:
        try:
            return check_base(base)
        except EdgekitError as e:
            raise ValueError(str(e)) from None


class Inventory(BaseModel):
    model_config = ConfigDict(extra="forbid")

    batch_size: int = Field(1, ge=1)
    defaults: dict[str, Any] = Field(default_factory=dict)
    boards: list[Board] = Field(min_length=1)


def load_inventory(path: Path) -> tuple[Inventory, Path]:
    if not path.is_file():
        raise EdgekitError(f"inventory {path} not found")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        defaults = data.get("defaults") or {}
        data["boards"] = [{**defaults, **b} for b in data.get("boards") or []]
        inv = Inventory.model_validate(data)
    except (yaml.YAMLError, AttributeError, TypeError) as e:
        raise EdgekitError(f"inventory {path}: not a YAML mapping with `boards:` ({e})") from None
    except ValidationError as e:
        err = e.errors()[0]
        msg = err["msg"].removeprefix("Value error, ")
        raise EdgekitError(f"inventory {path}: {'.'.join(map(str, err['loc']))}: {msg}") from None
    names = [b.device for b in inv.boards]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise EdgekitError(f"inventory {path}: device names must be unique (each is an MQTT client id): {dup}")
    return inv, path.parent


def camera_var(cam_id: str) -> str:
    return "EDGEKIT_CAMERA_" + re.sub(r"[^A-Z0-9]", "_", cam_id.upper())


def board_overrides(board: Board) -> dict[str, str]:
    """The per-board variables the daemon reads over the shared config."""
    env = {**board.env, "EDGEKIT_DEVICE": board.device, "EDGEKIT_MQTT_CLIENT_ID": f"edgekit-{board.device}"}
    env.update({camera_var(c): src for c, src in board.cameras.items()})
    return env


def rollout(bundle: Path, manifest: Manifest, inv: Inventory, root: Path, dry_run: bool = False,
            health_timeout_s: float = 120.0, say: Callable[[str], None] = lambda s: None) -> list[DeployResult]:
    """Deploy to every board, ``batch_size`` at a time; stop after the first batch with a failed board."""
    jobs = []
    needed = bundle_env_vars(bundle)
    for b in inv.boards:
        env_file = (root / b.env_file).expanduser() if b.env_file else None
        opts = DeployOptions(base=b.base, manager=b.manager, python=b.python, health_timeout_s=health_timeout_s,
                             env=board_env(needed, env_file, board_overrides(b)))
        jobs.append((b, SSHTarget.parse(b.target, [str(Path(o).expanduser()) if o.startswith("~") else o
                                                     for o in b.ssh_options]), opts))
    results: list[DeployResult] = []
    for i in range(0, len(jobs), inv.batch_size):
        batch = jobs[i:i + inv.batch_size]

        def one(job: tuple[Board, SSHTarget, DeployOptions]) -> DeployResult:
            b, target, opts = job

            def tagged(line: str) -> None:
                say(f"[{b.device}] {line}")

            try:
                return deploy_one(bundle, target, opts, manifest, dry_run=dry_run, say=tagged)
            except EdgekitError as e:
                return DeployResult(target.name, manifest.id, False, str(e))

        with ThreadPoolExecutor(max_workers=len(batch)) as pool:
            done = list(pool.map(one, batch))
        results += done
        if not all(r.ok for r in done):
            skipped = [b.device for b, _, _ in jobs[i + inv.batch_size:]]
            if skipped:
                say(f"stopped: a board in this batch failed; not deployed: {', '.join(skipped)}")
            break
    return results


__all__ = ["Board", "BoardError", "Inventory", "board_overrides", "load_inventory", "rollout"]
