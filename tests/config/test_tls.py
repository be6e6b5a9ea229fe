"""The one TLS set-up (``edgekit.config.tls``) that the daemon's MQTT link and the hub both use; against a real
broker in ``tests/alerts/test_tls_login.py``."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest

from edgekit.config.mqtt import TLSConfig
from edgekit.config.tls import tls_context
from edgekit.errors import EdgekitError


def test_context_verifies_certificate_and_host_name_unless_insecure() -> None:
    ctx = tls_context(TLSConfig())  # the system's CAs
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    ctx = tls_context(TLSConfig(insecure=True))
    assert ctx.verify_mode == ssl.CERT_REQUIRED and not ctx.check_hostname  # the certificate is still checked


def test_unreadable_files_are_one_line_naming_the_file(tmp_path: Path) -> None:
    with pytest.raises(EdgekitError, match=rf"^mqtt\.tls\.ca_certs {tmp_path}/nope\.pem: cannot load it") as e:
        tls_context(TLSConfig(ca_certs=str(tmp_path / "nope.pem")))
    assert "\n" not in str(e.value)
    bad = tmp_path / "client.pem"
    bad.write_text("not a certificate\n")
    with pytest.raises(EdgekitError, match=rf"^mqtt\.tls\.certfile {bad} \(keyfile None\): cannot load it"):
        tls_context(TLSConfig(certfile=str(bad)))
