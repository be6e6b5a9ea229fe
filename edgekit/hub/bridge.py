"""The Mosquitto bridge file of a board: ``<prefix>/<device>/#`` out to the central broker, QoS 1, kept on disk.

``edgekit bundle`` writes it into the bundle (``mosquitto/edgekit-bridge.conf``) when the config has a ``bridge:``
section, with the board's own values left as ``{NAME}`` placeholders (its device name, ``{EDGEKIT_DEVICE}``, and its
password, ``{<bridge.password_env>}``): no secret is in the bundle. The deploy fills them from the board's env file
(:func:`fill_bridge`, run there as ``edgekit fleet bridge --release DIR``) and installs the result into
``/etc/mosquitto/conf.d/``. The file is a ``conf.d`` fragment: the main ``mosquitto.conf`` (Debian's) names where
messages persist, and Mosquitto refuses a second ``persistence_location``. The bridge's own state is published on
the central broker as ``<prefix>/<device>/available`` (``1``/``0``, the bridge's last will), so the hub sees a board
whose link or power is gone as offline even when its daemon had no chance to say so.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from edgekit.config.bridge import BridgeConfig
from edgekit.config.env import fill_text
from edgekit.errors import EdgekitError

_SAFE = re.compile(r"^[A-Za-z0-9_.:/@+-]+$")
#: where a bundle carries the bridge file, and the board variable that names the device in it
BUNDLE_PATH = "mosquitto/edgekit-bridge.conf"
DEVICE_VAR = "EDGEKIT_DEVICE"


def _value(name: str, value: str) -> str:
    # Mosquitto's config has no quoting: a space or newline in a value would end it or start a new option.
    # A `{NAME}` placeholder (a bundle's template) is checked when the board fills it.
    if not _SAFE.match(fill_text(value, lambda _name: "x")):
        raise EdgekitError(f"bridge {name} {value!r} has characters Mosquitto's config cannot hold "
                           "(use letters, digits and _ . : / @ + -)")
    return value


def bridge_conf(device: str, cfg: BridgeConfig, topic_prefix: str = "edgekit", password: str | None = None,
                persistence_dir: str | None = None, listener_port: int = 1883) -> str:
    """The Mosquitto config text of the board's broker with its bridge to the centre.

    ``password`` defaults to the environment variable ``cfg.password_env``; a bridge without one logs in
    anonymously (for tests and closed networks only). ``persistence_dir`` None: a ``conf.d`` fragment, the main
    config says where messages persist; set it for a file Mosquitto runs alone (``mosquitto -c FILE``).
    """
    pw = password if password is not None else os.environ.get(cfg.password_env)
    name = _value("device", device)
    lines = [
        "# Written by edgekit bundle: this board's broker, bridged to the fleet's central broker.",
        f"listener {listener_port} 127.0.0.1",
        "allow_anonymous true",
        "persistence true",
        *([f"persistence_location {_value('persistence_dir', persistence_dir)}"] if persistence_dir else []),
        "autosave_interval 1",
        f"max_queued_messages {cfg.max_queued_messages}",
        "",
        f"connection edgekit-central-{name}",
        f"address {_value('host', cfg.host)}:{cfg.port}",
        f"remote_clientid edgekit-bridge-{name}",
        # persistent session both ways: the board keeps what the centre has not acknowledged, and the centre
        # keeps what it queued for the board
        "cleansession false",
        "bridge_protocol_version mqttv311",
        "try_private true",
        "restart_timeout 2 30",
        "keepalive_interval 30",
        "notifications true",
        f"notification_topic {_value('topic_prefix', topic_prefix)}/{name}/available",
        "notifications_local_only false",
        f"topic {topic_prefix}/{name}/# out 1",
    ]
    if cfg.username is not None or pw is not None:
        lines.append(f"remote_username {_value('username', cfg.username or device)}")
    if pw is not None:
        lines.append(f"remote_password {_value('password', pw)}")
    if cfg.ca_certs:
        lines += [f"bridge_cafile {_value('ca_certs', cfg.ca_certs)}", "bridge_insecure false"]
        if cfg.certfile and cfg.keyfile:
            lines += [f"bridge_certfile {_value('certfile', cfg.certfile)}",
                      f"bridge_keyfile {_value('keyfile', cfg.keyfile)}"]
    return "\n".join(lines) + "\n"


def bridge_template(cfg: BridgeConfig, topic_prefix: str, listener_port: int) -> str:
    """The bridge file a bundle carries: the board's device name and password as ``{NAME}`` placeholders."""
    return bridge_conf(f"{{{DEVICE_VAR}}}", cfg, topic_prefix, password=f"{{{cfg.password_env}}}",
                       listener_port=listener_port)


def fill_bridge(template: str, env: Mapping[str, str], device: str) -> str:
    """A bundle's bridge file with the board's values from ``env``; ``device`` (the bundle's) when the board sets
    no ``EDGEKIT_DEVICE``. A missing or empty value, or one Mosquitto's config cannot hold, is one clear error."""

    def value_of(name: str) -> str:
        value = env.get(name) or (device if name == DEVICE_VAR else "")
        if not value:
            raise EdgekitError(f"the Mosquitto bridge needs {name}: set it in the board's env file")
        return _value(name, value)

    return fill_text(template, value_of)
