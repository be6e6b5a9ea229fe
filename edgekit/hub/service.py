"""The hub: central broker → checks → PostgreSQL, acknowledging each message only after its batch committed.

paho-mqtt 2 with ``manual_ack=True``: the network thread only queues messages; one writer thread takes them in
arrival order, commits them in batches and then sends the PUBACKs in the same order. Until then the broker keeps
each message in the hub's session (persistent, ``session_expiry_s``) and sends it again after a hub crash or a
reconnect. Acks are tied to the connection a message came on: after a reconnect the old ones are not sent (their
packet ids may be reused), the broker redelivers those messages and the event-id key drops the copies.

Several hubs with the same ``share_group`` split events and stats between them (``$share/<group>/...``).
Availability is subscribed without sharing so every hub gets the retained state of every board. Measured here:
Mosquitto 2.0.11 restores a persistent session's plain subscriptions after a restart but not its shared ones, so
with sharing, events published between a broker restart and the hubs' reconnect have no subscriber and are gone;
without ``share_group`` (one hub) the broker queues them.
"""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections import Counter
from typing import Any

from edgekit.config.hub import HubConfig
from edgekit.config.tls import apply_tls
from edgekit.contract.topics import Topics
from edgekit.errors import MissingDependencyError
from edgekit.hub.messages import FOREIGN_DEVICE, Incoming, Parsed, parse
from edgekit.hub.retention import expire_objects, expire_rows
from edgekit.hub.store import FleetStore
from edgekit.storage.s3 import make_client
from edgekit.timing import RateLimitedLog

log = logging.getLogger(__name__)
RETENTION_EVERY_S = 3600.0


class Hub:
    """``start()``, then it runs on its own threads until ``stop()``; ``stats()`` any time."""

    def __init__(self, cfg: HubConfig, store: FleetStore | None = None) -> None:
        try:
            import paho.mqtt.client as mqtt
            from paho.mqtt.packettypes import PacketTypes
            from paho.mqtt.properties import Properties
        except ImportError as e:
            raise MissingDependencyError("paho-mqtt", "pip install 'edgekit[hub]'") from e
        self.cfg = cfg
        self.store = store if store is not None else FleetStore(cfg.database.dsn, cfg.database.connect_timeout_s)
        self.counters: Counter[str] = Counter()
        self.reject_reasons: Counter[str] = Counter()
        self._foreign_log = RateLimitedLog(log)  # a board speaking for another: said every time, a few a minute
        self.connected = threading.Event()
        self.subscribed = threading.Event()
        self.db_ok = threading.Event()
        self._queue: queue.Queue[Incoming] = queue.Queue()
        self._stop = threading.Event()
        self._gen = 0  # connection generation: acks only go out on the connection their message came on
        self._gen_lock = threading.Lock()
        self._mqtt = mqtt
        m = cfg.mqtt
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=m.client_id, protocol=mqtt.MQTTv5,
                                  manual_ack=True)
        self.client.reconnect_delay_set(min_delay=1, max_delay=10)
        if m.username is not None:
            self.client.username_pw_set(m.username, m.password)
        apply_tls(self.client, m.tls)
        self._props = Properties(PacketTypes.CONNECT)
        self._props.SessionExpiryInterval = m.session_expiry_s
        self._props.ReceiveMaximum = m.receive_maximum
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self._writer = threading.Thread(target=self._write_loop, name="hub-writer", daemon=True)
        self._retention: threading.Thread | None = None
        self._s3: Any = None
        if cfg.retention_days is not None:
            # the client now: no credentials is one clear error at start, not a failure an hour later
            self._s3 = make_client(cfg.s3) if cfg.s3 is not None else None
            self._retention = threading.Thread(target=self._retention_loop, name="hub-retention", daemon=True)
            self._retention_log = RateLimitedLog(log, per_minute=1)

    # -- lifecycle -----------------------------------------------------------------------------------------------
    def start(self) -> None:
        m = self.cfg.mqtt
        self._writer.start()
        if self._retention is not None:
            self._retention.start()
        self.client.connect_async(m.host, m.port, keepalive=m.keepalive, clean_start=False, properties=self._props)
        self.client.loop_start()

    def stop(self, timeout_s: float = 10.0) -> None:
        """Commit and acknowledge what has arrived (bounded), then disconnect; the rest stays with the broker."""
        deadline = time.monotonic() + timeout_s
        while not self._queue.empty() and self.db_ok.is_set() and time.monotonic() < deadline:
            time.sleep(0.05)
        self._stop.set()
        self._writer.join(timeout=max(1.0, deadline - time.monotonic()))
        if self._retention is not None:
            self._retention.join(timeout=max(1.0, deadline - time.monotonic()))
        self.client.disconnect()
        self.client.loop_stop()
        self.store.close()

    # -- network thread: never block, never raise ----------------------------------------------------------------
    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        if reason_code.is_failure:
            self.counters["connect_refused"] += 1
            log.error("central broker %s:%s refused the hub: %s", self.cfg.mqtt.host, self.cfg.mqtt.port, reason_code)
            return
        with self._gen_lock:
            self._gen += 1
        g = self.cfg.mqtt.share_group
        share = f"$share/{g}/" if g else ""
        every = Topics(self.cfg.mqtt.topic_prefix, "+")  # the boards' topics, any device
        client.subscribe([(share + every.events, 1), (share + every.stats, 0), (every.available, 1)])
        self.counters["connects"] += 1
        self.connected.set()
        log.info("hub connected to %s:%s (session present: %s)", self.cfg.mqtt.host, self.cfg.mqtt.port,
                 getattr(flags, "session_present", "?"))

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, reason_codes: Any, properties: Any) -> None:
        failed = [str(rc) for rc in reason_codes if rc.is_failure]
        if failed:
            log.error("central broker refused the hub's subscriptions: %s (check its ACL)", ", ".join(failed))
            return
        self.subscribed.set()
        log.info("hub subscribed to every board's events, stats and availability")

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason_code: Any, properties: Any) -> None:
        self.connected.clear()
        self.subscribed.clear()
        with self._gen_lock:
            self._gen += 1  # what arrived on the old connection is redelivered, not acknowledged
        if not self._stop.is_set():
            self.counters["disconnects"] += 1
            log.warning("hub lost the central broker (%s); reconnecting", reason_code)

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        try:
            self._queue.put(Incoming(str(msg.topic), bytes(msg.payload), int(msg.mid), int(msg.qos), self._gen,
                                     time.time()))
            self.counters["received"] += 1
        except Exception:  # a message we cannot even queue must not kill paho's thread
            self.counters["dropped_in_callback"] += 1
            log.exception("hub could not queue a message")

    # -- writer thread -------------------------------------------------------------------------------------------
    def _next_batch(self) -> list[Incoming]:
        try:
            first = self._queue.get(timeout=0.2)
        except queue.Empty:
            return []
        batch = [first]
        deadline = time.monotonic() + self.cfg.limits.batch_wait_ms / 1000
        while len(batch) < self.cfg.limits.batch_max:
            try:
                batch.append(self._queue.get(timeout=max(0.0, deadline - time.monotonic())))
            except queue.Empty:
                break
        return batch

    def _write_loop(self) -> None:
        lim, prefix = self.cfg.limits, self.cfg.mqtt.topic_prefix
        while not self._stop.is_set():
            msgs = self._next_batch()
            if not msgs:
                continue
            parsed = [parse(m, prefix, lim.max_payload_bytes, lim.max_json_depth) for m in msgs]
            self._log_rejects(parsed)
            if not self._commit(parsed):
                return  # stopping with the batch uncommitted: the broker sends it again
            self._ack(msgs)

    def _commit(self, parsed: list[Parsed]) -> bool:
        delay = 0.5
        while True:
            try:
                res = self.store.write(parsed)
            except Exception as e:
                self.db_ok.clear()
                self.counters["db_errors"] += 1
                if self.counters["db_errors"] <= 5 or self.counters["db_errors"] % 100 == 0:
                    log.error("hub database unavailable (%s: %s); %d message(s) wait, unacknowledged, retrying",
                              type(e).__name__, str(e).splitlines()[0] if str(e) else "", len(parsed))
                if self._stop.wait(delay * random.uniform(0.5, 1.0)):
                    return False
                delay = min(10.0, delay * 2)
                continue
            if not self.db_ok.is_set():
                log.info("hub database reachable again")
            self.db_ok.set()
            self.counters["inserted"] += res.inserted
            self.counters["duplicates"] += res.duplicates
            self.counters["rejected"] += res.rejected
            self.counters["refused_by_db"] += res.refused
            self.counters["batches"] += 1
            return True

    def _ack(self, msgs: list[Incoming]) -> None:
        with self._gen_lock:
            gen = self._gen
        for m in msgs:
            if m.qos == 0:
                continue
            if m.gen != gen:
                self.counters["ack_skipped_reconnect"] += 1
                continue
            self.client.ack(m.mid, m.qos)
            self.counters["acked"] += 1

    def _log_rejects(self, parsed: list[Parsed]) -> None:
        for p in parsed:
            if p.kind != "reject":
                continue
            self.reject_reasons[p.reason.split(" (")[0]] += 1
            if p.reason.startswith(FOREIGN_DEVICE):
                self.counters["foreign_device"] += 1
                self._foreign_log.warning("hub rejected a message on %r: %s", p.topic, p.reason)
            elif sum(self.reject_reasons.values()) <= 20:
                log.warning("hub rejected a message on %s (%d bytes): %s", p.topic, p.size, p.reason)

    # -- retention thread ----------------------------------------------------------------------------------------
    def expire_once(self) -> None:
        """Delete rows (and, with ``s3``, objects) older than ``retention_days``; raises on failure."""
        import psycopg

        assert self.cfg.retention_days is not None
        cutoff = time.time() - self.cfg.retention_days * 86400
        db = self.cfg.database
        with psycopg.connect(db.dsn, autocommit=True, connect_timeout=max(1, round(db.connect_timeout_s)),
                             application_name="edgekit-hub-retention") as conn:
            events, rejects = expire_rows(conn, cutoff)
        objects = 0
        if self._s3 is not None and self.cfg.s3 is not None:
            objects = expire_objects(self._s3, self.cfg.s3.bucket, self.cfg.s3.prefix, cutoff)
        self.counters["expired_events"] += events
        self.counters["expired_rejects"] += rejects
        self.counters["expired_objects"] += objects
        self.counters["retention_runs"] += 1
        if events or rejects or objects:
            log.info("hub retention: deleted %d event(s), %d reject(s), %d object(s) older than %g days", events,
                     rejects, objects, self.cfg.retention_days)

    def _retention_loop(self) -> None:
        while True:
            try:
                self.expire_once()
            except Exception as e:  # database or store away: the next run tries again
                self.counters["retention_errors"] += 1
                self._retention_log.warning("hub retention failed (%s: %s); next try in %.0f s", type(e).__name__,
                                            str(e).splitlines()[0] if str(e) else "", RETENTION_EVERY_S)
            if self._stop.wait(RETENTION_EVERY_S):
                return

    def stats(self) -> dict[str, Any]:
        """Counters, queue depth and link states, for logs and tests."""
        return {**self.counters, "queued": self._queue.qsize(), "mqtt_connected": self.connected.is_set(),
                "db_ok": self.db_ok.is_set(), "reject_reasons": dict(self.reject_reasons)}
