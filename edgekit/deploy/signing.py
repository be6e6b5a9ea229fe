"""Bundle signatures: ed25519 over the bundle's ``manifest.json``, which lists every other file's sha256.

A bundle is code and configuration that a board runs as its service, so ``edgekit deploy`` installs only bundles
signed by a key the operator trusts. The operator's own key is made at the first ``edgekit bundle`` (kept 0600 in
``~/.config/edgekit/signing/``); keys of other people who build bundles are trusted by putting their public key file
(``edgekit bundle key`` prints one) into ``~/.config/edgekit/signing/trusted/``. The signature is the tar member
``manifest.sig``: ``{"format", "key_id", "public_key", "signature"}``, base64 where binary. Since the manifest names
the sha256 of every other member and ``verify_bundle`` checks those, one signature covers the whole bundle.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from edgekit.errors import EdgekitError, MissingDependencyError
from edgekit.paths import config_dir, private_dir

SIGNATURE = "manifest.sig"
SIG_FORMAT = "edgekit-sig/1"
PUBLIC_PREFIX = "edgekit-ed25519"


def _ed25519() -> Any:
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError as e:
        raise MissingDependencyError("cryptography (bundle signatures)", "pip install 'edgekit[deploy]'") from e
    return ed25519


def signing_dir() -> Path:
    return config_dir() / "signing"


def key_id(public_raw: bytes) -> str:
    """A short name of a public key: the first 16 hex digits of its sha256."""
    return hashlib.sha256(public_raw).hexdigest()[:16]


def public_line(public_raw: bytes) -> str:
    """The one-line public key file: ``edgekit-ed25519 <base64> <key id>``."""
    return f"{PUBLIC_PREFIX} {base64.b64encode(public_raw).decode()} {key_id(public_raw)}\n"


def parse_public(text: str, source: str) -> bytes:
    words = text.split()
    try:
        if len(words) < 2 or words[0] != PUBLIC_PREFIX:
            raise ValueError
        raw = base64.b64decode(words[1], validate=True)
        if len(raw) != 32:
            raise ValueError
    except ValueError:
        raise EdgekitError(f"{source}: not an edgekit public key (want one line '{PUBLIC_PREFIX} <base64>')") from None
    return raw


def operator_key(path: Path | None = None, create: bool = True) -> tuple[Any, bool]:
    """(the operator's private key, whether it was made now); made 0600 at the first call with ``create``."""
    ed = _ed25519()
    path = path or signing_dir() / "bundle.key"
    if path.is_file():
        raw = path.read_bytes()
        if len(raw) != 32:
            raise EdgekitError(f"{path}: not an edgekit signing key (32 raw bytes of an ed25519 key)")
        return ed.Ed25519PrivateKey.from_private_bytes(raw), False
    if not create:
        raise EdgekitError(f"no signing key at {path}: `edgekit bundle` makes one")
    private_dir(path.parent)
    key = ed.Ed25519PrivateKey.generate()
    from cryptography.hazmat.primitives import serialization

    raw = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                            serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(raw)
    (path.parent / "bundle.pub").write_text(public_line(public_raw(key)))
    return key, True


def public_raw(key: Any) -> bytes:
    from cryptography.hazmat.primitives import serialization

    return bytes(key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw))


def sign(manifest: bytes, key: Any) -> bytes:
    """The ``manifest.sig`` member for ``manifest`` (the exact bytes of ``manifest.json``)."""
    pub = public_raw(key)
    return json.dumps({"format": SIG_FORMAT, "key_id": key_id(pub), "public_key": base64.b64encode(pub).decode(),
                       "signature": base64.b64encode(key.sign(manifest)).decode()}, indent=2).encode()


def trusted_keys(extra: Iterable[Path] = ()) -> dict[str, bytes]:
    """Key id → public key: the operator's own key, ``signing/trusted/*.pub`` and ``extra`` files."""
    extra = list(extra)
    files = [signing_dir() / "bundle.pub", *sorted((signing_dir() / "trusted").glob("*.pub")), *extra]
    out: dict[str, bytes] = {}
    for f in files:
        if f.is_file():
            raw = parse_public(f.read_text(), str(f))
            out[key_id(raw)] = raw
        elif f in extra:
            raise EdgekitError(f"--trusted-key {f} not found")
    return out


def check_signature(bundle: Path, manifest: bytes, sig: bytes | None, trusted: dict[str, bytes]) -> str:
    """The id of the trusted key that signed ``manifest``; else one line that says why the bundle is refused."""
    how = "deploy it anyway with --insecure-unsigned"
    if sig is None:
        raise EdgekitError(f"bundle {bundle} is not signed: build it with this edgekit, or {how}")
    try:
        data = json.loads(sig)
        pub = base64.b64decode(data["public_key"], validate=True)
        signature = base64.b64decode(data["signature"], validate=True)
        if data.get("format") != SIG_FORMAT:
            raise ValueError
    except (ValueError, KeyError, TypeError):
        raise EdgekitError(f"bundle {bundle}: {SIGNATURE} is not an edgekit signature") from None
    kid = key_id(pub)
    if kid not in trusted or trusted[kid] != pub:
        raise EdgekitError(f"bundle {bundle} is signed by key {kid}, which you do not trust: add its public key "
                           f"to {signing_dir() / 'trusted'}/, or {how}")
    try:
        _ed25519().Ed25519PublicKey.from_public_bytes(pub).verify(signature, manifest)
    except Exception:  # cryptography's InvalidSignature, or a malformed key
        raise EdgekitError(f"bundle {bundle}: the signature does not match its manifest (changed after it was "
                           "signed)") from None
    return kid
