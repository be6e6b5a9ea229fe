"""Resident memory of the real daemon: ``edgekit run`` in its own process, measured from outside at steady state.

The daemon runs a config (one synthetic camera by default) until its ``stats.json`` shows ``frames`` processed
frames, then its RSS is sampled for ``sample_s`` seconds while it keeps processing; the median is the steady state
(the first frames grow ONNX Runtime's arena, so they are waited out). RSS is split into anonymous memory (heap,
arenas, tensors: what edgekit controls) and file-backed pages (shared libraries and mapped model files) from
``/proc/<pid>/smaps_rollup``.

Examples:
    >>> cfg = daemon_config("/tmp/state", profile="rpi5", mqtt_port=1883, metrics_port=9108)
    >>> cfg["profile"], list(cfg["cameras"]), cfg["assistant"]["enabled"]
    ('rpi5', ['cam'], False)
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import psutil
import yaml

from edgekit.contract.topics import Topics
from edgekit.errors import EdgekitError

MIB = 2**20


def daemon_config(state: str | Path, profile: str = "rpi5", mqtt_port: int | None = None,
                  metrics_port: int = 0, assistant: str | None = None) -> dict[str, Any]:
    """One synthetic 1280×720 camera with a zone, a line and three rules; MQTT when ``mqtt_port`` is given
    (stats every second); the assistant on ``assistant`` (a model card or GGUF) when given (it needs MQTT)."""
    return {
        "device": "memory", "profile": profile, "state_dir": str(state),
        "cameras": {"cam": {"source": "synthetic:0:8", "realtime": True,
                            "zones": {"mid": {"polygon": [[320, 0], [960, 0], [960, 720], [320, 720]]}},
                            "lines": {"gate": {"start": [640, 0], "end": [640, 720]}}}},
        "rules": [{"name": "in_zone", "zone": "mid", "min_frames": 2, "cooldown_s": 5},
                  {"name": "entering", "line": "gate", "direction": "in", "cooldown_s": 5},
                  {"name": "fall", "labels": ["Fall"], "min_frames": 3, "cooldown_s": 30}],
        "mqtt": {"host": "127.0.0.1", "port": mqtt_port, "stats_interval_s": 1} if mqtt_port else None,
        "metrics": {"enabled": True, "port": metrics_port},
        "assistant": {"enabled": assistant is not None, "model": assistant},
    }


def rss_breakdown(pid: int) -> dict[str, float]:
    """RSS, anonymous and file-backed resident memory of ``pid`` in MiB (``/proc/<pid>/smaps_rollup``)."""
    out = {"rss": psutil.Process(pid).memory_info().rss / MIB}
    try:
        text = Path(f"/proc/{pid}/smaps_rollup").read_text()
    except OSError:
        return out
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key in ("Anonymous", "Rss") and value.strip().endswith("kB"):
            out["anon" if key == "Anonymous" else "rss_smaps"] = int(value.split()[0]) / 1024
    if "anon" in out and "rss_smaps" in out:
        out["file"] = out.pop("rss_smaps") - out["anon"]
    return out


@dataclass
class DaemonMemory:
    """Steady-state memory of one daemon run."""

    rss_mb: float
    """Median RSS over the sampling window."""
    rss_max_mb: float
    anon_mb: float
    file_mb: float
    frames: int
    """Frames processed when sampling started (the warm-up)."""
    processed_end: int
    process_fps: float
    runtime: dict[str, Any] = field(default_factory=dict)
    """What the camera ran (model, input size, precision, backend), from ``stats.json``."""
    samples_mb: list[float] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for k, v in d.items():
            if isinstance(v, float):
                d[k] = round(v, 1)
        d["samples_mb"] = [round(x, 1) for x in self.samples_mb]
        return d


def _processed(stats_path: Path) -> tuple[int, dict[str, Any]]:
    try:
        cam = json.loads(stats_path.read_text())["cameras"]["cam"]
    except (OSError, ValueError, KeyError, TypeError):
        return 0, {}
    return int(cam.get("processed", 0)), cam.get("runtime") or {}


def measure_daemon(config: Mapping[str, Any], work: Path, frames: int = 30, sample_s: float = 8.0,
                   timeout_s: float = 600.0, python: str = sys.executable,
                   env: Mapping[str, str] | None = None, cwd: Path | None = None,
                   before_sampling: Callable[[], None] | None = None) -> DaemonMemory:
    """Run ``edgekit run -c <config>`` (``python -m edgekit.cli.main``) until ``frames`` frames are processed, call
    ``before_sampling`` (e.g. ask the assistant a question), sample its RSS for ``sample_s`` seconds, stop it with
    SIGTERM. ``env``/``cwd`` pick which edgekit runs (PYTHONPATH)."""
    work.mkdir(parents=True, exist_ok=True)
    cfg_path = work / "daemon.yaml"
    cfg_path.write_text(yaml.safe_dump(dict(config)))
    stats = Path(config["state_dir"]) / "stats.json"
    log = (work / "daemon.log").open("wb")
    proc = subprocess.Popen([python, "-m", "edgekit.cli.main", "run", "-c", str(cfg_path), "--quiet"],
                            stdout=log, stderr=subprocess.STDOUT, env=dict(env) if env is not None else None,
                            cwd=cwd)
    try:
        deadline = time.monotonic() + timeout_s
        while (done := _processed(stats))[0] < frames:
            if proc.poll() is not None:
                raise EdgekitError(f"the daemon exited ({proc.returncode}) before {frames} frames: see "
                                   f"{work / 'daemon.log'}")
            if time.monotonic() > deadline:
                raise EdgekitError(f"the daemon processed {done[0]} of {frames} frames in {timeout_s:.0f} s")
            time.sleep(0.25)
        if before_sampling is not None:
            before_sampling()
        start_frames, runtime = _processed(stats)
        t0 = time.monotonic()
        samples: list[dict[str, float]] = []
        while time.monotonic() - t0 < sample_s:
            samples.append(rss_breakdown(proc.pid))
            time.sleep(0.25)
        end_frames, _ = _processed(stats)
        elapsed = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(10)
        log.close()
    rss = [s["rss"] for s in samples]
    return DaemonMemory(
        rss_mb=statistics.median(rss), rss_max_mb=max(rss),
        anon_mb=statistics.median(s.get("anon", 0.0) for s in samples),
        file_mb=statistics.median(s.get("file", 0.0) for s in samples),
        frames=start_frames, processed_end=end_frames,
        process_fps=(end_frames - start_frames) / elapsed if elapsed > 0 else 0.0,
        runtime=runtime, samples_mb=rss,
    )


def edgekit_env(repo: Path | None = None, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """This environment with ``repo`` (an edgekit checkout) first on PYTHONPATH, plus ``extra``."""
    env = dict(os.environ)
    if repo is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(repo), *filter(None, [env.get("PYTHONPATH")])])
    env.update(extra or {})
    return env


def ask_over_mqtt(port: int, device: str, question: str = "how many events today?", timeout_s: float = 300.0,
                  prefix: str = "edgekit") -> dict[str, Any]:
    """Ask the daemon's assistant one question over MQTT and return its final response (so every weight page has
    been read once: a decode touches them all)."""
    import paho.mqtt.client as mqtt

    done: dict[str, Any] = {}
    got = threading.Event()
    rid = f"mem{os.getpid()}"

    def on_message(_c: Any, _u: Any, msg: Any) -> None:
        body = json.loads(msg.payload)
        if body.get("done"):
            done.update(body)
            got.set()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"edgekit-mem-{rid}")
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    topics = Topics(prefix=prefix, device=device)
    client.subscribe(topics.assistant_response_prefix + rid, qos=1)
    client.loop_start()
    try:
        client.publish(topics.assistant_request, json.dumps({"id": rid, "question": question}),
                       qos=1).wait_for_publish(30)
        if not got.wait(timeout_s):
            raise EdgekitError(f"the assistant did not answer within {timeout_s:.0f} s")
    finally:
        client.loop_stop()
        client.disconnect()
    return done
