"""The one TLS set-up of an MQTT client, for the daemon's link and the hub alike: verify the broker's certificate
(the configured CA, else the system's) and its host name unless ``insecure`` says otherwise."""

from __future__ import annotations

import ssl
from typing import Any

from edgekit.config.mqtt import TLSConfig
from edgekit.errors import EdgekitError


def tls_context(tls: TLSConfig) -> ssl.SSLContext:
    """A client context for ``tls``; an unreadable CA, certificate or key is one clear error naming the file."""
    try:
        ctx = ssl.create_default_context(cafile=tls.ca_certs)  # CERT_REQUIRED and host-name checks on
    except OSError as e:  # ssl.SSLError included
        raise EdgekitError(f"mqtt.tls.ca_certs {tls.ca_certs}: cannot load it ({e.strerror or e})") from None
    if tls.certfile:
        try:
            ctx.load_cert_chain(tls.certfile, tls.keyfile)
        except OSError as e:
            raise EdgekitError(f"mqtt.tls.certfile {tls.certfile} (keyfile {tls.keyfile}): cannot load it "
                               f"({e.strerror or e})") from None
    if tls.insecure:
        ctx.check_hostname = False  # the certificate itself is still verified
    return ctx


def apply_tls(client: Any, tls: TLSConfig | None) -> None:
    """Set TLS on a paho-mqtt client (nothing when ``tls`` is None); paho follows the context's host-name check."""
    if tls is not None:
        client.tls_set_context(tls_context(tls))
