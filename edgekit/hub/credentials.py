"""One MQTT login per board for the central broker, and the ACL that keeps each board to its own topics.

A board's bridge publishes on the centre under its login, and its login is its device name, so Mosquitto's ACL
``pattern readwrite <prefix>/%u/#`` lets it write ``<prefix>/<device>/…`` (events, stats, its bridge's
availability) and nothing else: a publish under another board's name is dropped by the broker before any
subscriber sees it. It reads its own topics only: a daemon that logs in straight (no bridge) takes its rule
commands and assistant requests there; no board reads another's. The hub's own login reads ``<prefix>/#``.

Passwords come from :mod:`secrets`; the password file holds Mosquitto 2's own hash (PBKDF2-SHA512, ``$7$``, what
``mosquitto_passwd`` writes), so the broker's host needs no extra tool and no password passes through a command line.

Examples:
    >>> line = password_line("gate-1", "pw", salt=bytes(12))
    >>> line.split("$")[:3]
    ['gate-1:', '7', '101']
    >>> print(acl_text("edgekit", "edgekit-hub"))  # doctest: +ELLIPSIS
    # Written by edgekit fleet credentials...
    pattern readwrite edgekit/%u/#
    <BLANKLINE>
    user edgekit-hub
    topic read edgekit/#
    <BLANKLINE>
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from edgekit.errors import EdgekitError

# A login is a device name the hub accepts that Mosquitto's password file and ACL can hold: no ':' (the password
# file's separator) and none of '+ # /' (Mosquitto refuses to put those into an ACL pattern's %u).
_LOGIN_RE = re.compile(r"^[A-Za-z0-9_.-]{1,128}$")
_PREFIX_RE = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")
ITERATIONS = 101  # mosquitto_passwd's default for $7$ (Mosquitto 2.0)
HUB_USER = "edgekit-hub"
PASSWORD_ENV = "EDGEKIT_BRIDGE_PASSWORD"
HUB_PASSWORD_ENV = "EDGEKIT_HUB_MQTT_PASSWORD"


def check_login(name: str, what: str = "device") -> str:
    """``name`` if it can be a login; one clear ``EdgekitError`` otherwise."""
    if not _LOGIN_RE.match(name) or name in (".", ".."):
        raise EdgekitError(f"{what} {name!r} cannot be a broker login: use 1-128 letters, digits and _ . -")
    return name


def password_line(user: str, password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """One line of a Mosquitto 2 ``password_file``: ``user:$7$<iterations>$<salt>$<PBKDF2-SHA512>``."""
    salt = secrets.token_bytes(12) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations, 64)
    return f"{user}:$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def acl_text(prefix: str, hub_user: str) -> str:
    """The broker's ``acl_file``: every board writes and reads under its own name only; the hub reads all."""
    return (
        "# Written by edgekit fleet credentials. A board's login is its device name: it may write and read its own\n"
        "# topics, no other board's. Patterns come first: they apply to every login.\n"
        f"pattern readwrite {prefix}/%u/#\n\n"
        f"user {hub_user}\n"
        f"topic read {prefix}/#\n"
    )


def auth_conf(out: Path) -> str:
    """A ``conf.d`` fragment for the central broker naming the two files (its listeners are the admin's)."""
    return (
        "# Written by edgekit fleet credentials: logins and ACL of the fleet's central broker.\n"
        "allow_anonymous false\n"
        f"password_file {out / 'passwd'}\n"
        f"acl_file {out / 'acl'}\n"
    )


@dataclass(frozen=True)
class Credentials:
    """Passwords by login: every board's, and the hub's."""

    boards: dict[str, str]
    hub_user: str
    hub_password: str

    @classmethod
    def generate(cls, devices: Sequence[str], hub_user: str = HUB_USER) -> Credentials:
        check_login(hub_user, "hub user")
        names = [check_login(d) for d in devices]
        if not names:
            raise EdgekitError("name at least one device")
        if len(set(names)) != len(names):
            raise EdgekitError("a device is named twice")
        if hub_user in names:
            raise EdgekitError(f"device {hub_user!r} has the hub's login: name the hub's user otherwise (--hub-user)")
        return cls({d: secrets.token_urlsafe(24) for d in names}, hub_user, secrets.token_urlsafe(24))

    def files(self, out: Path, prefix: str = "edgekit", password_env: str = PASSWORD_ENV) -> dict[Path, str]:
        """What ``write`` puts where: the password file, the ACL, the broker fragment and one env file per side."""
        if not _PREFIX_RE.match(prefix):
            raise EdgekitError(f"topic prefix {prefix!r}: use letters, digits and _ . - separated by /")
        users = [(self.hub_user, self.hub_password), *sorted(self.boards.items())]
        out_abs = out.resolve()
        files = {
            out / "passwd": "".join(password_line(u, p) + "\n" for u, p in users),
            out / "acl": acl_text(prefix, self.hub_user),
            out / "mosquitto-auth.conf": auth_conf(out_abs),
            out / "hub.env": f"{HUB_PASSWORD_ENV}={self.hub_password}\n",
        }
        for device, pw in sorted(self.boards.items()):
            files[out / "boards" / f"{device}.env"] = f"EDGEKIT_DEVICE={device}\n{password_env}={pw}\n"
        return files


def logins(passwd: Path) -> list[str]:
    """The logins of an existing password file."""
    try:
        text = passwd.read_text()
    except OSError as e:
        raise EdgekitError(f"cannot read {passwd}: {e.strerror or e} (--add adds to an existing folder)") from None
    return [line.split(":", 1)[0] for line in text.splitlines() if ":" in line and not line.startswith("#")]


def added_files(out: Path, devices: Sequence[str], password_env: str = PASSWORD_ENV) -> dict[Path, str]:
    """New boards for an existing folder: their lines appended to its password file, and their env files. The ACL
    needs no change (its pattern covers every login); the other boards keep their passwords."""
    passwd = out / "passwd"
    have = logins(passwd)
    new = Credentials.generate(devices).boards
    taken = sorted(set(new) & set(have))
    if taken:
        raise EdgekitError(f"{taken[0]} already has a login in {passwd}: name only new boards, or --force to "
                           "replace every login")
    text = passwd.read_text()
    files = {passwd: text + ("" if text.endswith("\n") or not text else "\n")
             + "".join(password_line(d, pw) + "\n" for d, pw in sorted(new.items()))}
    for device, pw in sorted(new.items()):
        files[out / "boards" / f"{device}.env"] = f"EDGEKIT_DEVICE={device}\n{password_env}={pw}\n"
    return files


def write_files(files: dict[Path, str], force: bool = False, replace: Sequence[Path] = ()) -> None:
    """Write every file 0600 (folders 0700). An existing one is an error naming it, unless ``force`` or it is in
    ``replace`` (the password file that ``--add`` extends)."""
    if not force:
        there = sorted(str(p) for p in files if p.exists() and p not in replace)
        if there:
            raise EdgekitError(f"{there[0]} exists ({len(there)} file(s) in all): pass --force to replace them "
                               "(every board then needs its new password)")
    for path, text in files.items():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        tmp = path.with_name(path.name + ".part")
        tmp.unlink(missing_ok=True)
        # created 0600 in one step: a password is never readable by others, not even for a moment
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(text)
        tmp.replace(path)
