"""EventStore on real SQLite files: idempotent writes, filters, grouping, concurrency, bad files."""

from __future__ import annotations

import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from edgekit.errors import EdgekitError
from edgekit.events import EventStore
from edgekit.types import Event


def ev(label: str = "Fall", source: str = "cam1", ts: float = 1000.0, rule: str = "fall", **kw: Any) -> Event:
    return Event(rule=rule, source=source, label=label, score=0.8, box=(1, 2, 3, 4), start_ts=ts, **kw)


@pytest.fixture()
def store(tmp_path: Path) -> EventStore:
    s = EventStore(tmp_path / "events.db")
    s.add_many(
        [
            ev("Fall", "cam1", 100.0),
            ev("Fall", "cam2", 200.0),
            ev("Normal", "cam1", 300.0, rule="person"),
            ev("Fall", "cam1", 400.0, track_id=7, extra={"zone": "gate"}),
            ev("Normal", "cam2", 500.0, rule="person"),
        ]
    )
    return s


def test_roundtrip_keeps_every_field(tmp_path: Path) -> None:
    e = ev(track_id=3, snapshot="/tmp/x.jpg", clip="/tmp/x.mp4", device="pi5", extra={"zone": "door", "n": 2},
           end_ts=1001.5)
    with EventStore(tmp_path / "e.db") as s:
        assert s.add(e) is True
        (back,) = s.query()
    assert back == e


V1_SCHEMA = """
CREATE TABLE events (id TEXT PRIMARY KEY, rule TEXT NOT NULL, source TEXT NOT NULL, device TEXT NOT NULL DEFAULT '',
    label TEXT NOT NULL, score REAL NOT NULL, box TEXT NOT NULL, track_id INTEGER, start_ts REAL NOT NULL,
    end_ts REAL, snapshot TEXT, extra TEXT NOT NULL DEFAULT '{}', schema_version INTEGER NOT NULL);
INSERT INTO events VALUES ('old', 'fall', 'cam1', '', 'Fall', 0.9, '[1,2,3,4]', 1, 5.0, NULL, NULL, '{}', 1);
PRAGMA user_version=1;
"""


def test_version_1_store_is_read_and_migrated(tmp_path: Path) -> None:
    """A store written before clips existed: readers see clip=None; the daemon adds the column and goes on."""
    path = tmp_path / "v1.db"
    with sqlite3.connect(path) as c:
        c.executescript(V1_SCHEMA)
    with EventStore(path, readonly=True) as r:
        (old,) = r.query()
    assert old.id == "old" and old.clip is None and old.schema_version == 1
    with EventStore(path) as s:
        s.add(ev(ts=6.0, clip="/clips/cam1/x.mp4"))
        got = {e.id: e.clip for e in s.query()}
    assert got["old"] is None and "/clips/cam1/x.mp4" in got.values()


def test_add_is_idempotent_by_id(tmp_path: Path) -> None:
    e = ev()
    with EventStore(tmp_path / "e.db") as s:
        assert s.add(e) is True
        assert s.add(e) is False
        assert s.add_many([e, ev()]) == 1
        assert s.count() == 2


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, 5),
        ({"label": "Fall"}, 3),
        ({"label": "Fall", "source": "cam1"}, 2),
        ({"rule": "person"}, 2),
        ({"since": 200.0}, 4),
        ({"until": 200.0}, 1),
        ({"since": 200.0, "until": 400.0}, 2),
        ({"since": datetime.fromtimestamp(300.0, tz=timezone.utc)}, 3),
        ({"label": "nobody"}, 0),
    ],
)
def test_count_and_query_agree(store: EventStore, filters: dict[str, object], expected: int) -> None:
    assert store.count(**filters) == expected  # type: ignore[arg-type]
    assert len(store.query(**filters)) == expected  # type: ignore[arg-type]


def test_query_newest_first_and_limit(store: EventStore) -> None:
    got = store.query(limit=3)
    assert [e.start_ts for e in got] == [500.0, 400.0, 300.0]
    assert [e.start_ts for e in store.last(2)] == [500.0, 400.0]
    assert store.query(limit=0) == []


def test_count_by(store: EventStore) -> None:
    assert store.count_by("label") == {"Fall": 3, "Normal": 2}
    assert store.count_by("source", label="Fall") == {"cam1": 2, "cam2": 1}
    assert store.count_by("label", since=450.0) == {"Normal": 1}


def test_count_by_rejects_unknown_field(store: EventStore) -> None:
    with pytest.raises(EdgekitError, match="cannot group events by"):
        store.count_by("score; DROP TABLE events")
    assert store.count() == 5


def test_filter_values_are_parameters_not_sql(store: EventStore) -> None:
    assert store.count(label="Fall' OR '1'='1") == 0
    assert store.count() == 5


def test_time_range(tmp_path: Path, store: EventStore) -> None:
    assert store.time_range() == (100.0, 500.0)
    with EventStore(tmp_path / "empty.db") as empty:
        assert empty.time_range() is None
        assert empty.count() == 0


def test_readonly_reader_sees_writer_and_cannot_write(tmp_path: Path) -> None:
    path = tmp_path / "e.db"
    writer = EventStore(path)
    writer.add(ev())
    reader = EventStore(path, readonly=True)
    assert reader.count() == 1
    writer.add(ev(ts=2.0))
    assert reader.count() == 2  # WAL: a reader sees commits made after it opened
    with pytest.raises(EdgekitError, match="read-only"):
        reader.add(ev())
    reader.close()
    writer.close()


def test_readonly_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EdgekitError, match="does not exist"):
        EventStore(tmp_path / "nope.db", readonly=True)


@pytest.mark.parametrize("readonly", [False, True])
def test_corrupt_file_is_one_clear_error(tmp_path: Path, readonly: bool) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(EdgekitError, match="not a usable SQLite database"):
        EventStore(path, readonly=readonly)


def test_foreign_sqlite_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as c:
        c.execute("CREATE TABLE t (x)")
    with pytest.raises(EdgekitError, match="not an edgekit event store"):
        EventStore(path, readonly=True)


def test_concurrent_writers_and_readers(tmp_path: Path) -> None:
    store = EventStore(tmp_path / "e.db")
    errors: list[BaseException] = []

    def write(k: int) -> None:
        try:
            for i in range(50):
                store.add(ev(source=f"cam{k}", ts=float(i)))
                store.count(source=f"cam{k}")
        except BaseException as e:  # collected and asserted below
            errors.append(e)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert store.count() == 200
    assert store.count_by("source") == {f"cam{k}": 50 for k in range(4)}
    store.close()
