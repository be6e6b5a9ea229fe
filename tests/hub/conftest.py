"""PostgreSQL for the hub tests: one cluster per session (initdb on a free loopback port), one database per test.

The central broker is the root conftest's Mosquitto (``broker``). ``hub_factory`` starts in-process hubs on it.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from edgekit.config.hub import HubConfig
from tests.conftest import MOSQUITTO, Broker
from tests.servers import PG_BIN, Postgres


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    """The central Mosquitto (persistence on, as every test broker), with room for many in-flight messages."""
    if MOSQUITTO is None:
        pytest.skip("mosquitto not installed (scripts/install_daemon.sh installs it)")
    d = tmp_path / "broker"
    d.mkdir()
    b = Broker(d)
    b.conf.write_text(b.conf.read_text() + "max_inflight_messages 1000\n")
    b.start()
    yield b
    with contextlib.suppress(Exception):
        b.kill()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Postgres]:
    if PG_BIN is None or shutil.which("runuser") is None:
        pytest.skip("PostgreSQL not installed (scripts/install_fleet.sh installs it)")
    # pytest's tmp folders are private to root; the server runs as `postgres`, so it gets a folder of its own
    work = Path(tempfile.mkdtemp(prefix="edgekit-pg-"))
    pg = Postgres(work)
    pg.start()
    yield pg
    pg.stop()
    shutil.rmtree(work, ignore_errors=True)


@pytest.fixture
def pg_dsn(pg_cluster: Postgres) -> Iterator[str]:
    """A fresh, empty database on the session's cluster."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_cluster.dsn, autocommit=True) as c:
        c.execute(f"CREATE DATABASE {name}")
    yield pg_cluster.dsn.rsplit("/", 1)[0] + f"/{name}"
    with contextlib.suppress(Exception), psycopg.connect(pg_cluster.dsn, autocommit=True) as c:
        c.execute(f"DROP DATABASE {name} WITH (FORCE)")


def hub_config(port: int, dsn: str, share_group: str | None = None, **limits: Any) -> HubConfig:
    return HubConfig.model_validate({
        "mqtt": {"host": "127.0.0.1", "port": port, "client_id": f"hub-{uuid.uuid4().hex[:6]}",
                 "share_group": share_group},
        "database": {"dsn": dsn, "connect_timeout_s": 2},
        "limits": {"batch_wait_ms": 10, **limits},
    })


from tests.storage.conftest import s3  # noqa: E402, F401  (SeaweedFS for the snapshot tests)
