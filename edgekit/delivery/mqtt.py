"""MQTT link (paho-mqtt 2.x): the one owner of the broker connection and of every topic the daemon uses.

The daemon calls verbs (:meth:`MqttLink.publish_event`, :meth:`~MqttLink.set_rule_state`,
:meth:`~MqttLink.publish_snapshot`, :meth:`~MqttLink.announce`, :meth:`~MqttLink.publish_stats`,
:meth:`~MqttLink.set_camera_available`); topic names come from :class:`edgekit.contract.topics.Topics` (the layout is
documented there). Events go through the outbox (QoS 1, at least once); the rest is best effort. Services that answer
on the link (the assistant) use the paho-like ``subscribe``/``message_callback_add``/``publish`` methods, whose
subscriptions the link renews on every reconnect and whose callbacks it guards.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import queue
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

from edgekit.config.mqtt import MQTTConfig
from edgekit.config.tls import apply_tls, tls_context
from edgekit.contract.topics import Topics
from edgekit.delivery.outbox import Outbox
from edgekit.errors import EdgekitError, MissingDependencyError
from edgekit.types import Event

log = logging.getLogger(__name__)

CommandHandler = Callable[[str, str, bool, bool], bool]  # (camera, rule, enabled, retained) -> known?
MessageCallback = Callable[[Any, Any, Any], None]  # paho's (client, userdata, message)


def probe_broker(cfg: MQTTConfig) -> str | None:
    """Why the broker cannot be reached (one line), or None when TCP (and TLS, when configured) succeed."""
    try:
        sock = socket.create_connection((cfg.host, cfg.port), timeout=cfg.connect_timeout_s)
    except OSError as e:
        return f"MQTT broker {cfg.host}:{cfg.port} is unreachable ({e.strerror or e})"
    try:
        if cfg.tls is not None:
            with tls_context(cfg.tls).wrap_socket(sock, server_hostname=cfg.host):
                pass
    except ssl.SSLCertVerificationError as e:
        why = e.verify_message or e.reason or str(e)
        return (f"MQTT broker {cfg.host}:{cfg.port}: TLS certificate rejected ({why}): connect by a name the "
                "certificate holds (mqtt.host) or give the CA that signed it (mqtt.tls.ca_certs)")
    except (ssl.SSLError, OSError) as e:
        return f"MQTT broker {cfg.host}:{cfg.port}: TLS handshake failed ({getattr(e, 'reason', None) or e})"
    finally:
        sock.close()
    return None


def check_broker(cfg: MQTTConfig) -> None:
    """Fail fast at start-up: the host must resolve, and (unless ``wait_for_broker``) accept a TCP connection; a
    reachable broker whose TLS certificate does not verify is always an error."""
    try:
        socket.getaddrinfo(cfg.host, cfg.port, type=socket.SOCK_STREAM)
    except socket.gaierror as e:
        raise EdgekitError(f"mqtt.host {cfg.host!r} does not resolve ({e.strerror}): fix mqtt.host") from None
    why = probe_broker(cfg)
    if why is None or (cfg.wait_for_broker and "unreachable" in why):
        return
    if "unreachable" in why:
        why += (": start it, fix mqtt.host/port, or set mqtt.wait_for_broker: true to start anyway and keep alerts "
                "in the outbox")
    raise EdgekitError(why)


class MqttLink:
    """One broker connection for the daemon. Thread-safe; ``start()`` then ``publish_event()`` from any thread."""

    def __init__(self, cfg: MQTTConfig, device: str, outbox: Outbox, on_command: CommandHandler | None = None,
                 on_connect: Callable[[], None] | None = None, window: int = 50) -> None:
        try:
            import paho.mqtt.client as mqtt
        except ImportError as e:
            raise MissingDependencyError("paho-mqtt", "pip install 'edgekit[daemon]'") from e
        self.cfg, self.device, self.outbox, self.window = cfg, device, outbox, window
        self.topics = Topics(cfg.topic_prefix, device, cfg.discovery_prefix)
        self.base = self.topics.base
        self._services: dict[str, tuple[int, MessageCallback | None]] = {}  # topic -> (qos, callback)
        self._on_command, self._on_connect_hook = on_command, on_connect
        self.connected = threading.Event()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._acks: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._inflight: dict[int, tuple[int, str]] = {}  # mid -> (outbox seq, key); drain thread only
        self._last_handed = 0
        self._t_capture: dict[str, int] = {}  # event id -> capture monotonic ns, for latency
        self.latencies_ms: collections.deque[float] = collections.deque(maxlen=10000)
        self.on_latency: Callable[[float], None] | None = None
        self.counters = {"published": 0, "acked": 0, "malformed": 0, "connects": 0, "disconnects": 0,
                         "callback_errors": 0, "refused": 0}
        self.last_error = ""  # why the link is down: "not authorised: ...", a TLS or network error
        self._down_since: float | None = time.monotonic()
        self._mqtt = mqtt
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cfg.client_id or f"edgekit-{device}",
                                  protocol=mqtt.MQTTv311)
        self.client.max_inflight_messages_set(window)
        self.client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.client.will_set(self.topics.available, "offline", qos=1, retain=True)
        if cfg.username is not None:
            self.client.username_pw_set(cfg.username, cfg.password)
        apply_tls(self.client, cfg.tls)
        self.client.on_connect = self._handle_connect
        self.client.on_disconnect = self._handle_disconnect
        self.client.on_connect_fail = self._handle_connect_fail
        self.client.on_publish = self._handle_publish
        self.client.on_message = self._handle_message
        self._drain = threading.Thread(target=self._drain_loop, name="mqtt-outbox", daemon=True)

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background (reconnecting with backoff) and start draining the outbox."""
        self.client.connect_async(self.cfg.host, self.cfg.port, keepalive=self.cfg.keepalive)
        self.client.loop_start()
        self._drain.start()

    def stop(self, flush_timeout_s: float = 5.0) -> None:
        """Wait (bounded) for the outbox to drain, say ``offline``, disconnect cleanly."""
        deadline = time.monotonic() + flush_timeout_s
        while len(self.outbox) and self.connected.is_set() and time.monotonic() < deadline:
            self._wake.set()
            time.sleep(0.05)
        self._stop.set()
        self._wake.set()
        if self._drain.is_alive():
            self._drain.join(timeout=min(2.0, max(0.2, deadline - time.monotonic())))
        if self.connected.is_set():
            info = self.client.publish(self.topics.available, "offline", qos=1, retain=True)
            # not connected any more: the retained last will says offline anyway
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout=min(2.0, max(0.2, deadline - time.monotonic())))
        self.client.disconnect()
        self.client.loop_stop()
        left = len(self.outbox)
        if left:
            log.warning("%d alert(s) stay in the outbox %s; they are sent on the next start", left, self.outbox.path)

    # -- verbs -----------------------------------------------------------------------------------------------------
    def publish_event(self, event: Event, t_capture_ns: int | None = None) -> None:
        """Commit the event to the outbox (durable) and wake the drain; never blocks on the network."""
        if t_capture_ns is not None:
            self._t_capture[event.id] = t_capture_ns
        self.outbox.add(event.id, self.topics.events, event.to_json().encode())
        self._wake.set()

    def set_rule_state(self, camera: str, rule: str, on: bool, attributes: str | None = None) -> None:
        """A rule's Home Assistant state (``ON``/``OFF``) and, when given, its attributes (the Event JSON)."""
        self._publish(self.topics.rule_state(camera, rule), "ON" if on else "OFF")
        if attributes is not None:
            self._publish(self.topics.rule_attributes(camera, rule), attributes)

    def publish_snapshot(self, camera: str, jpeg: bytes) -> None:
        """The camera's latest annotated JPEG, retained."""
        self._publish(self.topics.snapshot(camera), jpeg, qos=0, retain=True)

    def publish_counts(self, camera: str, counts: dict[tuple[str, str], int]) -> None:
        """Retained object counts per (zone, label): Home Assistant's count sensors read them."""
        for (zone, label), n in counts.items():
            self._publish(self.topics.zone_count(camera, zone, label), str(n), qos=0, retain=True)

    def publish_clip(self, camera: str, clip_json: str) -> None:
        """An event's clip is on disk (QoS 1: an automation may wait for it)."""
        self._publish(self.topics.clip(camera), clip_json, qos=1)

    def set_camera_available(self, camera: str, up: bool) -> None:
        self._publish(self.topics.camera_available(camera), "online" if up else "offline", qos=1, retain=True)

    def publish_stats(self, stats_json: str) -> None:
        """The periodic stats JSON (QoS 0: the next one replaces a lost one)."""
        self._publish(self.topics.stats, stats_json)

    def announce(self, discovery: list[tuple[str, str]], cameras: dict[str, bool]) -> None:
        """Retained discovery configs and each camera's availability (call on every connect)."""
        for topic, payload in discovery:
            self._publish(topic, payload, qos=1, retain=True)
        for camera, up in cameras.items():
            self.set_camera_available(camera, up)

    def _publish(self, topic: str, payload: str | bytes, qos: int = 0, retain: bool = False) -> bool:
        """Best-effort publish; False when not connected."""
        if not self.connected.is_set():
            return False
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        return info.rc == self._mqtt.MQTT_ERR_SUCCESS

    # -- services on the link (paho-like, for the assistant) -----------------------------------------------------
    def subscribe(self, topic: str, qos: int = 1) -> None:
        """Subscribe now and again after every reconnect (a clean session forgets subscriptions)."""
        cb = self._services.get(topic, (qos, None))[1]
        self._services[topic] = (qos, cb)
        if self.connected.is_set():
            self.client.subscribe(topic, qos=qos)

    def unsubscribe(self, topic: str) -> None:
        self._services.pop(topic, None)
        self.client.unsubscribe(topic)

    def message_callback_add(self, topic: str, callback: MessageCallback) -> None:
        """Route ``topic`` to ``callback`` on paho's network thread; an exception in it is logged and counted."""
        qos = self._services.get(topic, (1, None))[0]
        self._services[topic] = (qos, callback)
        self.client.message_callback_add(topic, self._guarded(callback))

    def message_callback_remove(self, topic: str) -> None:
        self.client.message_callback_remove(topic)

    def publish(self, topic: str, payload: str | bytes | None = None, qos: int = 0, retain: bool = False) -> Any:
        """Publish a service's reply (paho semantics: QoS 1 messages are queued while disconnected)."""
        return self.client.publish(topic, payload, qos=qos, retain=retain)

    def _guarded(self, callback: MessageCallback) -> MessageCallback:
        def run(client: Any, userdata: Any, msg: Any) -> None:
            try:
                callback(client, userdata, msg)
            except BaseException as e:  # RecursionError, MemoryError...: paho's thread must survive any message
                if isinstance(e, (KeyboardInterrupt, SystemExit)):
                    raise
                self.counters["callback_errors"] += 1
                log.error("handler of %s failed on a %d-byte message: %s: %s", msg.topic, len(msg.payload),
                          type(e).__name__, e)

        return run

    # -- paho callbacks (network thread: never block here) ------------------------------------------------------
    def _handle_connect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            self.counters["refused"] += 1
            auth = str(reason_code).lower() in ("not authorized", "bad user name or password")
            why = (f"not authorised: the broker refused the login of {self.cfg.username or '(no user)'} "
                   f"({reason_code}); fix mqtt.username/password" if auth else f"broker refused: {reason_code}")
            if why != self.last_error:
                log.error("MQTT %s:%s %s; alerts wait in the outbox", self.cfg.host, self.cfg.port, why)
            self.last_error = why
            return
        self.counters["connects"] += 1
        self.last_error = ""
        self._down_since = None
        log.info("MQTT connected to %s:%s", self.cfg.host, self.cfg.port)
        client.publish(self.topics.available, "online", qos=1, retain=True)
        subs = [(self.topics.rule_set(), 1), (self.topics.discovery_status, 1)]
        client.subscribe(subs + [(t, q) for t, (q, _) in self._services.items()])
        self.connected.set()
        self._wake.set()
        if self._on_connect_hook is not None:
            try:
                self._on_connect_hook()
            except Exception:
                log.exception("on-connect hook failed")

    def _handle_connect_fail(self, client: Any, userdata: Any) -> None:
        why = probe_broker(self.cfg) or "connection failed"
        if why != self.last_error:
            log.error("%s; retrying with backoff, alerts wait in the outbox", why)
        self.last_error = why

    def _handle_disconnect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if self.connected.is_set():
            self._down_since = time.monotonic()
        self.connected.clear()
        self.counters["disconnects"] += 1
        if not self._stop.is_set():
            log.warning("MQTT disconnected (%s); reconnecting with backoff, alerts wait in the outbox", reason_code)

    def _handle_publish(self, client: Any, userdata: Any, mid: int, reason_code: Any, properties: Any) -> None:
        self._acks.put(mid)
        self._wake.set()

    def _handle_message(self, client: Any, userdata: Any, msg: Any) -> None:
        try:
            ok = self._dispatch(str(msg.topic), bytes(msg.payload), bool(getattr(msg, "retain", False)))
        except Exception:
            log.exception("command handler failed on %s", msg.topic)
            ok = False
        if not ok:
            self.counters["malformed"] += 1
            if self.counters["malformed"] <= 10:
                log.warning("ignored malformed message on %s (%d bytes)", msg.topic, len(msg.payload))

    def _dispatch(self, topic: str, payload: bytes, retained: bool = False) -> bool:
        if topic == self.topics.discovery_status:
            if payload == b"online" and self._on_connect_hook is not None:
                self._on_connect_hook()  # Home Assistant restarted: announce the entities again
            return payload in (b"online", b"offline")
        target = self.topics.parse_rule_set(topic)
        if target is None:
            return False
        try:
            text = payload.decode("utf-8").strip().upper()
        except UnicodeDecodeError:
            return False
        if text not in ("ON", "OFF") or self._on_command is None:
            return False
        return self._on_command(target[0], target[1], text == "ON", retained)

    # -- the drain (its own thread: owns _inflight and _last_handed) --------------------------------------------
    def _drain_loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=0.5)
            self._wake.clear()
            try:
                self._drain_once()
            except Exception:
                log.exception("outbox drain failed; retrying")
                time.sleep(1.0)

    def _drain_once(self) -> None:
        while True:
            try:
                mid = self._acks.get_nowait()
            except queue.Empty:
                break
            entry = self._inflight.pop(mid, None)
            if entry is None:
                continue
            seq, key = entry
            self.outbox.remove(seq)
            self.counters["acked"] += 1
            t0 = self._t_capture.pop(key, None)
            if t0 is not None:
                ms = (time.monotonic_ns() - t0) / 1e6
                self.latencies_ms.append(ms)
                if self.on_latency is not None:
                    self.on_latency(ms / 1000)
        if not self.connected.is_set():
            return
        room = self.window - len(self._inflight)
        if room <= 0:
            return
        for row in self.outbox.pending(limit=room, after_seq=self._last_handed):
            # paho keeps an unacknowledged QoS 1 message across reconnects and re-sends it, so each row is
            # handed to paho once per process; the outbox covers a crash of the process itself.
            info = self.client.publish(row.topic, row.payload, qos=1)
            if info.rc not in (self._mqtt.MQTT_ERR_SUCCESS, self._mqtt.MQTT_ERR_NO_CONN):
                log.warning("publish of %s refused by paho (rc=%s); retrying later", row.key, info.rc)
                break
            self._inflight[info.mid] = (row.seq, row.key)
            self._last_handed = row.seq
            self.counters["published"] += 1

    @property
    def started(self) -> bool:
        return self._drain.ident is not None

    @property
    def alive(self) -> bool:
        """The link's threads run (paho's network loop and the outbox drain); False means alerts stopped."""
        net = getattr(self.client, "_thread", None)
        return self._drain.is_alive() and (net is None or net.is_alive())

    def problems(self, max_backlog_s: float, grace_s: float = 10.0) -> list[str]:
        """Why alerts are not flowing (empty when all is well), for ``/healthz``."""
        out = []
        if self.started and not self.alive:
            out.append("MQTT link stopped (network or outbox thread died)")
        if not self.connected.is_set() and self._down_since is not None and (
                time.monotonic() - self._down_since > grace_s or self.last_error.startswith("not authorised")):
            out.append(f"MQTT down: {self.last_error or 'broker unreachable'}")
        oldest = self.outbox.oldest_created()
        if oldest is not None and time.time() - oldest > max_backlog_s:
            out.append(f"{len(self.outbox)} event(s) waiting, oldest {time.time() - oldest:.0f} s "
                       f"(over {max_backlog_s:g} s)")
        return out

    @property
    def pending(self) -> int:
        """Messages not yet acknowledged by the broker."""
        return len(self.outbox)
