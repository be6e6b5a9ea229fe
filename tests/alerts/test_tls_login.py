"""MQTT over TLS with a login, for real: a Mosquitto the test configures with a CA and a server certificate it makes
(``cryptography``) and a password file (``mosquitto_passwd``). A good login delivers; a wrong password shows
"not authorised" in health and stats while events wait in the outbox, and they are delivered once the login is
fixed; a host name the certificate does not hold is one clear error."""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import signal
import ssl
import subprocess
import threading
import time
from pathlib import Path

import pytest

from edgekit.config.daemon import DaemonConfig
from edgekit.config.hub import HubMQTT
from edgekit.config.mqtt import MQTTConfig, TLSConfig
from edgekit.config.tls import apply_tls
from edgekit.delivery.mqtt import check_broker
from edgekit.errors import EdgekitError
from edgekit.pipeline.daemon import Daemon
from tests.alerts.test_delivery import make_event
from tests.conftest import MOSQUITTO, free_port, wait_port

PASSWD = shutil.which("mosquitto_passwd")
pytestmark = pytest.mark.skipif(MOSQUITTO is None or PASSWD is None, reason="needs mosquitto and mosquitto_passwd")


def make_pki(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for the name ``localhost`` only (not 127.0.0.1), signed by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc)

    def name(cn: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (x509.CertificateBuilder().subject_name(name("edgekit test CA")).issuer_name(name("edgekit test CA"))
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                       content_commitment=False, key_encipherment=False, data_encipherment=False,
                                       key_agreement=False, encipher_only=False, decipher_only=False), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(name("localhost")).issuer_name(ca.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(hours=1)).not_valid_after(now + dt.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .sign(ca_key, hashes.SHA256()))
    assert ipaddress.ip_address("127.0.0.1") not in cert.extensions.get_extension_for_class(
        x509.SubjectAlternativeName).value.get_values_for_type(x509.IPAddress)
    paths = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return paths


class SecureBroker:
    """Mosquitto with TLS only and a password file; ``set_password`` rewrites it and reloads (SIGHUP)."""

    def __init__(self, folder: Path) -> None:
        self.dir = folder
        self.ca, cert, key = make_pki(folder)
        self.port = free_port()
        self.passwd = folder / "passwd"
        self.set_password("alice", "right", reload=False)
        (folder / "mosquitto.conf").write_text(
            # user root: mosquitto started by root would switch to its own user, which cannot read tmp_path
            f"user root\nper_listener_settings false\nallow_anonymous false\npassword_file {self.passwd}\n"
            f"listener {self.port} 127.0.0.1\ncafile {self.ca}\ncertfile {cert}\nkeyfile {key}\n"
            f"log_dest file {folder}/mosquitto.log\n"
        )
        assert MOSQUITTO is not None
        self.proc = subprocess.Popen([MOSQUITTO, "-c", str(folder / "mosquitto.conf")],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, up=True)

    def set_password(self, user: str, password: str, reload: bool = True) -> None:
        """``user``'s password (the test's own subscriber, ``watcher``, keeps its login)."""
        assert PASSWD is not None
        self.passwd.write_text("")
        for u, pw in ((user, password), ("watcher", "watch")):
            subprocess.run([PASSWD, "-b", str(self.passwd), u, pw], check=True, capture_output=True)
        self.passwd.chmod(0o600)
        if reload:
            self.proc.send_signal(signal.SIGHUP)

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(10)


@pytest.fixture
def secure_broker(tmp_path: Path):  # type: ignore[no-untyped-def]
    d = tmp_path / "secure"
    d.mkdir()
    b = SecureBroker(d)
    yield b
    b.close()


def _mqtt(b: SecureBroker, host: str = "localhost", password: str = "right", **kw: object) -> dict:
    return {"host": host, "port": b.port, "username": "alice", "password": password, "keepalive": 5,
            "tls": {"ca_certs": str(b.ca)}, "stats_interval_s": 0.5, **kw}


def _subscriber(b: SecureBroker, got: list[bytes]):  # type: ignore[no-untyped-def]
    import paho.mqtt.client as mqtt

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="tls-sub", clean_session=False)
    c.username_pw_set("watcher", "watch")
    c.tls_set(ca_certs=str(b.ca))
    ready = threading.Event()
    c.on_connect = lambda cl, *_: (cl.subscribe("edgekit/tls/events", qos=1), ready.set())
    c.on_message = lambda _c, _u, m: got.append(bytes(m.payload))
    c.connect("localhost", b.port)
    c.loop_start()
    assert ready.wait(10)
    time.sleep(0.3)
    return c


def _wait(pred, timeout: float = 60.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return bool(pred())


def _daemon(tmp_path: Path, mqtt: dict) -> Daemon:
    return Daemon(DaemonConfig.model_validate({
        "device": "tls", "state_dir": str(tmp_path / "state"),
        "cameras": {"cam": {"source": "synthetic:0", "enabled": False}},
        "mqtt": mqtt, "metrics": {"enabled": False},
    }))


def test_good_login_over_tls_delivers(secure_broker, tmp_path):
    got: list[bytes] = []
    sub = _subscriber(secure_broker, got)
    d = _daemon(tmp_path, _mqtt(secure_broker))
    d.start()
    try:
        assert d.link is not None and d.link.connected.wait(20)
        d.link.publish_event(make_event(1, "tls"))
        assert _wait(lambda: len(got) == 1 and len(d.outbox) == 0)
        ok, report = d.health()
        assert ok, report
    finally:
        d.close()
        sub.loop_stop()


def test_wrong_password_is_not_authorised_then_delivered_once_fixed(secure_broker, tmp_path):
    got: list[bytes] = []
    sub = _subscriber(secure_broker, got)
    d = _daemon(tmp_path, _mqtt(secure_broker, password="wrong"))
    d.start()
    stop = threading.Event()
    runner = threading.Thread(target=d.run, args=(stop,), kwargs={"stats_every_s": 0.3})
    runner.start()
    try:
        assert d.link is not None
        assert _wait(lambda: d.link is not None and d.link.counters["refused"] >= 1, 30)
        for i in range(5):
            d.link.publish_event(make_event(i, "login"))
        ok, report = d.health()
        assert not ok and any("not authorised" in r for r in report["reasons"]), report
        assert _wait(lambda: "not authorised" in d.stats().mqtt.last_error)  # type: ignore[union-attr]
        stats_file = (tmp_path / "state" / "stats.json")
        assert _wait(lambda: stats_file.exists() and "not authorised" in stats_file.read_text())
        assert len(d.outbox) == 5 and got == []  # the events wait
        secure_broker.set_password("alice", "wrong")  # the broker's side is fixed; the link retries with backoff
        assert _wait(lambda: len(got) == 5 and len(d.outbox) == 0, 90)
        assert sorted(got) == sorted(make_event(i, "login").to_json().encode() for i in range(5))
        assert _wait(lambda: d.health()[0], 30), d.health()
    finally:
        stop.set()
        runner.join(30)
        d.close()
        sub.loop_stop()


def test_host_name_the_certificate_does_not_hold_is_one_clear_error(secure_broker):
    cfg = MQTTConfig(host="127.0.0.1", port=secure_broker.port, tls=TLSConfig(ca_certs=str(secure_broker.ca)))
    with pytest.raises(EdgekitError) as e:
        check_broker(cfg)
    msg = str(e.value)
    assert "\n" not in msg and "TLS certificate rejected" in msg and "127.0.0.1" in msg and "mqtt.host" in msg
    # the same with wait_for_broker: a broker that answers with the wrong certificate is not a broker to wait for
    with pytest.raises(EdgekitError, match="TLS certificate rejected"):
        check_broker(cfg.model_copy(update={"wait_for_broker": True}))
    check_broker(cfg.model_copy(update={"host": "localhost"}))  # the name it holds: fine


def _hub_client_connects(b: SecureBroker, cfg: HubMQTT) -> bool:
    """The hub's client (paho MQTT v5, TLS from the shared ``apply_tls``) reaches the broker and logs in."""
    import paho.mqtt.client as mqtt

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="tls-hub", protocol=mqtt.MQTTv5)
    c.username_pw_set(cfg.username, cfg.password)
    apply_tls(c, cfg.tls)
    try:
        c.connect(cfg.host, cfg.port, keepalive=5)
    except ssl.SSLCertVerificationError:
        return False
    ok = threading.Event()
    c.on_connect = lambda _c, _u, _f, rc, _p: ok.set() if not rc.is_failure else None
    c.loop_start()
    try:
        return ok.wait(10)
    finally:
        c.disconnect()
        c.loop_stop()


def test_hub_takes_the_daemons_tls_and_verifies_the_host_name_by_default(secure_broker):
    conf = {"port": secure_broker.port, "username": "alice", "password": "right",
            "tls": {"ca_certs": str(secure_broker.ca)}}
    assert _hub_client_connects(secure_broker, HubMQTT.model_validate({**conf, "host": "localhost"}))
    # 127.0.0.1 is not in the certificate: refused, as the daemon's link refuses it
    assert not _hub_client_connects(secure_broker, HubMQTT.model_validate({**conf, "host": "127.0.0.1"}))
    insecure = {**conf, "host": "127.0.0.1", "tls": {"ca_certs": str(secure_broker.ca), "insecure": True}}
    assert _hub_client_connects(secure_broker, HubMQTT.model_validate(insecure))
