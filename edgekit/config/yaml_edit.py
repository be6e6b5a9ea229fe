"""Write a camera's zones, lines and motion mask back into its daemon config file, keeping the rest of the file.

A YAML round trip (ruamel.yaml) keeps comments, key order, quoting and ``{ENV}`` placeholders; only the keys the zone
editor owns change. The new text is checked by the same loader as ``edgekit config check`` before anything is
written, then replaces the file atomically (a new file beside it, fsynced, renamed over it), so a crash or a bad
proposal leaves the old file whole.
"""

from __future__ import annotations

import io
import os
import stat
import tempfile
from pathlib import Path
from typing import Any

from edgekit.errors import EdgekitError, MissingDependencyError


def _yaml() -> Any:
    try:
        from ruamel.yaml import YAML
    except ImportError as e:
        raise MissingDependencyError("ruamel.yaml", "pip install 'edgekit[daemon]'") from e
    y = YAML()  # round-trip mode
    y.width = 4096  # a polygon stays on one line
    y.indent(mapping=2, sequence=4, offset=2)
    return y


def _flowed(value: Any) -> Any:
    """``value`` with every list of numbers, or of points, in flow style (``[[0, 0], [10, 0]]``)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq

    if isinstance(value, dict):
        m = CommentedMap()
        for k, v in value.items():
            m[k] = _flowed(v)
        return m
    if isinstance(value, list):
        s = CommentedSeq(_flowed(v) for v in value)
        flat = all(isinstance(v, int | float) for v in value)
        points = all(isinstance(v, list) and all(isinstance(x, int | float) for x in v) for v in value)
        if value and (flat or points):
            s.fa.set_flow_style()
        return s
    return value


def dump_yaml(tree: dict[str, Any]) -> str:
    """``tree`` as YAML, point lists in flow style."""
    buf = io.StringIO()
    _yaml().dump(_flowed(tree), buf)
    return buf.getvalue()


def read_only_reason(path: Path) -> str | None:
    """Why ``path`` cannot be rewritten in place, or None. A file without any write bit counts as read-only even
    for root: an operator who made it so meant it."""
    try:
        mode = path.stat().st_mode
    except OSError as e:
        return f"config {path} cannot be read ({e.strerror})"
    if not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH) or not os.access(path, os.W_OK):
        return f"config {path} is read-only: nothing was changed (copy the YAML below into it by hand)"
    if not os.access(path.parent, os.W_OK | os.X_OK):
        return (f"the folder of config {path} is not writable (the file is replaced atomically by a new one beside "
                "it): nothing was changed")
    return None


def _sync(old: Any, new: dict[str, dict[str, Any]]) -> None:
    """Make mapping ``old`` (zones or lines) hold ``new``, editing the shapes kept in place (their comments stay)."""
    for name in [n for n in old if n not in new]:
        del old[name]
    for name, shape in new.items():
        if isinstance(old.get(name), dict):
            for k, v in shape.items():
                if old[name].get(k) != v:
                    old[name][k] = _flowed(v)
        else:
            old[name] = _flowed(shape)


def merge_camera(text: str, cam_id: str, keys: dict[str, Any]) -> str:
    """``text`` with camera ``cam_id``'s ``zones``, ``lines``, ``motion.mask`` set from ``keys`` (absent: removed)
    and its ``frame_size`` set when it has none."""
    y = _yaml()
    data = y.load(text)
    cam = data["cameras"][cam_id]
    for key in ("zones", "lines"):
        if key in keys and isinstance(cam.get(key), dict):
            _sync(cam[key], keys[key])
        elif key in keys:
            cam[key] = _flowed(keys[key])
        elif key in cam:
            del cam[key]
    if "frame_size" in keys and not cam.get("frame_size"):
        cam["frame_size"] = _flowed(keys["frame_size"])
    mask = keys.get("motion", {}).get("mask")
    if mask:
        if not isinstance(cam.get("motion"), dict):
            cam["motion"] = _flowed({})
        cam["motion"]["mask"] = _flowed(mask)
    elif isinstance(cam.get("motion"), dict) and "mask" in cam["motion"]:
        del cam["motion"]["mask"]
    buf = io.StringIO()
    y.dump(data, buf)
    return buf.getvalue()


def replace_atomically(path: Path, text: str) -> None:
    """Write ``text`` to a new file beside ``path`` (same mode), fsync it, rename it over ``path``."""
    path = path.resolve()  # a symlinked config: replace its target, not the link
    mode = stat.S_IMODE(path.stat().st_mode)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise EdgekitError(f"cannot write config {path}: {e.strerror}: nothing was changed") from None
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a power cut
    finally:
        os.close(dir_fd)
