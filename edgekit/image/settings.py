"""The first-boot settings file (``edgekit-settings.yaml`` on the image's FAT partition): its model, its reading
(one line per problem, with its YAML line) and the commented template the image ships.

The same model checks the file on the desktop (``edgekit image check-settings``) and on the board (the first-boot
unit, :mod:`edgekit.image.firstboot`), so both refuse the same files with the same line.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from edgekit.config.loader import dotted, line_of, read_text
from edgekit.errors import EdgekitError

FILENAME = "edgekit-settings.yaml"
ERROR_FILENAME = "edgekit-settings.error.txt"  # beside it on the FAT partition: what the board refused, and why
HOSTNAME = re.compile(r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?")
ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")  # the board's env file is read by sh too (see deploy.rollout)
SSH_KEY = re.compile(r"(ssh-(ed25519|rsa)|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com|"
                     r"sk-ecdsa-sha2-nistp256@openssh\.com) [A-Za-z0-9+/=]+( [^\n]*)?")


class Wifi(BaseModel):
    """A WPA2 network for wlan0 (the Pi 4's Broadcom radio, firmware-brcm80211)."""

    model_config = ConfigDict(extra="forbid")
    country: str = Field(pattern=r"^[A-Z]{2}$", description="ISO 3166 country code (the radio's legal channels).")
    ssid: str = Field(min_length=1, max_length=32)
    psk: str = Field(min_length=8, max_length=63, description="WPA2 passphrase, 8-63 characters.")


class FirstBootSettings(BaseModel):
    """What the user sets on a desktop before the first boot; applied once, then the file is removed."""

    model_config = ConfigDict(extra="forbid")
    hostname: str = Field(description="Device name: the board's hostname, its MQTT device name and client id.")
    ssh_authorized_keys: list[str] = Field(default_factory=list,
                                           description="Public keys that may log in as user `edgekit`.")
    wifi: Wifi | None = None
    env: dict[str, str] = Field(default_factory=dict,
                                description="The service's secrets: the config's {PLACEHOLDER} variables.")

    @field_validator("hostname")
    @classmethod
    def _hostname(cls, v: str) -> str:
        if not HOSTNAME.fullmatch(v):
            raise ValueError("use 1-63 lowercase letters, digits and '-' (not first or last)")
        return v

    @field_validator("ssh_authorized_keys")
    @classmethod
    def _keys(cls, v: list[str]) -> list[str]:
        for k in v:
            if not SSH_KEY.fullmatch(k.strip()):
                raise ValueError(f"not an OpenSSH public key line: {k[:40]!r}")
        return [k.strip() for k in v]

    @field_validator("env")
    @classmethod
    def _env(cls, v: dict[str, str]) -> dict[str, str]:
        for k, val in v.items():
            if not ENV_KEY.fullmatch(k):
                raise ValueError(f"{k!r} is not a variable name ([A-Za-z_][A-Za-z0-9_]*)")
            if "\n" in val or "\0" in val:
                raise ValueError(f"{k}: one line, please")
        return v


def parse_settings(text: str, name: str, needed_env: list[str] | None = None) -> FirstBootSettings:
    """Validate ``text``; the first problem is one ``EdgekitError`` line naming the file, its line and the key.
    ``needed_env``: the variables the image's config uses, each of which ``env`` must give."""
    try:
        raw: Any = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f":{mark.line + 1}" if mark is not None else ""
        raise EdgekitError(f"invalid settings {name}{at}: {getattr(e, 'problem', None) or 'bad YAML'}") from None
    if not isinstance(raw, dict):
        raise EdgekitError(f"invalid settings {name}: expected a mapping (hostname: ..., env: ...)")
    try:
        s = FirstBootSettings.model_validate(raw)
    except ValidationError as e:
        # an unknown key first: a misspelt key also makes its intended one "missing", and the misspelling is the news
        err = sorted(e.errors(), key=lambda x: x["type"] != "extra_forbidden")[0]
        loc = tuple(err["loc"])
        msg = f"unknown key {loc[-1]!r}" if err["type"] == "extra_forbidden" else \
            err["msg"].removeprefix("Value error, ")
        raise EdgekitError(f"invalid settings {name}:{line_of(root, loc)}: {dotted(loc) or '(top level)'}: {msg}") \
            from None
    return check_env(s, needed_env or [], name)


def check_env(s: FirstBootSettings, needed_env: list[str], name: str) -> FirstBootSettings:
    """``s``, once its ``env`` gives every variable the config needs (not empty)."""
    missing = [v for v in needed_env if not s.env.get(v)]
    if missing:
        raise EdgekitError(f"invalid settings {name}: env: the config needs {', '.join(missing)} (set, not empty)")
    return s


def load_settings(path: Path, needed_env: list[str] | None = None) -> FirstBootSettings:
    return parse_settings(read_text(path, "settings file"), str(path), needed_env)


def template(needed_env: list[str], hostname: str = "edgekit") -> str:
    """The commented file the image ships on its FAT partition: valid as it is except for the secrets to fill."""
    env = "".join(f"  {v}: \"\"        # required by the config\n" for v in needed_env) or "  {}\n"
    return f"""\
# edgekit first-boot settings. Edit this file on your computer (it is on the SD card's boot partition), then boot
# the Raspberry Pi. At the first boot the board applies it once and deletes it. If a value is wrong, the board
# applies nothing, keeps this file and writes the reason to {ERROR_FILENAME} beside it: fix, and boot again.
# Check it on your computer first: edgekit image check-settings {FILENAME}

# The board's name on the network ({hostname}.local) and its device name in MQTT and Home Assistant.
hostname: {hostname}

# Public keys allowed to log in as user `edgekit` (ssh edgekit@{hostname}.local). Paste yours (~/.ssh/id_ed25519.pub).
ssh_authorized_keys: []
#  - ssh-ed25519 AAAA... you@desktop

# Wi-Fi (leave out for Ethernet only). country: your two-letter country code.
# wifi:
#   country: GB
#   ssid: "my network"
#   psk: "my passphrase"

# The secrets the service's config uses ({{NAME}} placeholders), written to its env file (mode 0600).
env:
{env}"""
