"""The Mosquitto bridge file of a board: ``<prefix>/<device>/#`` out to the central broker, QoS 1, kept on disk.

``edgekit bundle`` writes it into the bundle (``mosquitto/edgekit-bridge.conf``) when the config has a ``bridge:``
section, with the board's own values left as ``{NAME}`` placeholders (its device name, ``{EDGEKIT_DEVICE}``, and its
password, ``{<bridge.password_env>}``): no secret is in the bundle. The deploy fills them from the board's env file
(:func:`fill_bridge`, run there as ``edgekit fleet bridge --release DIR``) and installs the result into
``/etc/mosquitto/conf.d/``. The file is a ``conf.d`` fragment: the main ``mosquitto.conf`` (Debian's) names where
messages persist, and Mosquitto refuses a second ``persistence_location``. The bridge's own state is published on
the central broker as ``<prefix>/<device>/available`` (``1``/``0``, the bridge's last will), so the hub sees a board
whose link or power is gone as offline even when its daemon had no chance to say so.

The file holds the bridge alone: no ``listener`` and no ``allow_anonymous``. Under Mosquitto 2's global settings an
``allow_anonymous true`` in a fragment opens every listener of the board's broker, an authenticated one included. With
no listener of its own configured, Mosquitto 2 serves local clients on ``127.0.0.1:1883`` (its local-only mode), which
is where the daemon publishes; any other listener is the board admin's to configure. The bridge needs TLS
(``bridge.ca_certs``): without it the board's password and events cross the network in clear, so
:func:`bridge_conf` refuses unless the central broker is on loopback or ``bridge.insecure_plaintext`` says so, and
then the file says it in a comment.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping

from edgekit.config.bridge import BridgeConfig
from edgekit.config.dashboard import is_loopback
from edgekit.config.env import fill_text
from edgekit.errors import EdgekitError

_SAFE = re.compile(r"^[A-Za-z0-9_.:/@+-]+$")
#: where a bundle carries the bridge file, and the board variable that names the device in it
BUNDLE_PATH = "mosquitto/edgekit-bridge.conf"
DEVICE_VAR = "EDGEKIT_DEVICE"
log = logging.getLogger(__name__)


def _value(name: str, value: str, secret: bool = False) -> str:
    # Mosquitto's config has no quoting: a space or newline in a value would end it or start a new option.
    # A `{NAME}` placeholder (a bundle's template) is checked when the board fills it. A secret's value is never
    # repeated: this message ends up in the deploy's error line and its logs.
    if not _SAFE.match(fill_text(value, lambda _name: "x")):
        shown = "(value not shown)" if secret else repr(value)
        raise EdgekitError(f"bridge {name} {shown} has characters Mosquitto's config cannot hold "
                           "(use letters, digits and _ . : / @ + -)")
    return value


def _plaintext_note(cfg: BridgeConfig) -> list[str]:
    """Comment lines for a bridge without TLS; refuses one that would cross a network unless allowed."""
    if cfg.ca_certs:
        return []
    if not (cfg.insecure_plaintext or is_loopback(cfg.host)):
        raise EdgekitError(f"bridge to {cfg.host} has no ca_certs: the board's password and events would cross the "
                           "network in clear. Set bridge.ca_certs to the central broker's CA, or "
                           "bridge.insecure_plaintext: true for a network you trust")
    if not is_loopback(cfg.host):
        log.warning("bridge to %s without TLS (bridge.insecure_plaintext): the board's password and events cross "
                    "the network in clear", cfg.host)
    return ["# WARNING: no TLS (no bridge.ca_certs): the password and every event cross the network in clear."]


def bridge_conf(device: str, cfg: BridgeConfig, topic_prefix: str = "edgekit", password: str | None = None,
                persistence_dir: str | None = None, listener_port: int = 1883) -> str:
    """The Mosquitto bridge of the board's broker to the centre (a ``conf.d`` fragment).

    ``password`` defaults to the environment variable ``cfg.password_env``; a bridge without one logs in
    anonymously (for tests and closed networks only). ``persistence_dir`` None: the main config says where messages
    persist; set it for a file Mosquitto runs alone (``mosquitto -c FILE``). ``listener_port`` is where the daemon
    publishes, named in a comment only: the file opens no listener. Without TLS to a host off loopback, one
    ``EdgekitError`` unless ``cfg.insecure_plaintext``.
    """
    pw = password if password is not None else os.environ.get(cfg.password_env)
    name = _value("device", device)
    lines = [
        "# Written by edgekit bundle: this board's broker, bridged to the fleet's central broker.",
        "# It opens no listener and sets no allow_anonymous: those are global in Mosquitto 2 and stay the board",
        f"# admin's. The daemon publishes to 127.0.0.1:{listener_port} (Mosquitto's local-only mode serves 1883).",
        *_plaintext_note(cfg),
        # the bridge's store-and-forward: what the centre has not acknowledged survives a restart of this broker
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
        lines.append(f"remote_password {_value('password', pw, secret=True)}")
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
        return _value(name, value, secret=name != DEVICE_VAR)  # every other placeholder is the password

    return fill_text(template, value_of)
