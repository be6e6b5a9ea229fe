"""The fleet store: boards, events (one row per event id), rejected messages.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from __future__ import annotations

from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE boards (
            device TEXT PRIMARY KEY,
            online BOOLEAN,
            availability_at DOUBLE PRECISION,
            last_seen DOUBLE PRECISION NOT NULL,
            last_event_ts DOUBLE PRECISION,
            stats JSONB,
            stats_at DOUBLE PRECISION
        )""")
    op.execute("""
        CREATE TABLE events (
            id TEXT PRIMARY KEY,
            device TEXT NOT NULL,
            source TEXT NOT NULL,
            rule TEXT NOT NULL,
            label TEXT NOT NULL,
            score REAL NOT NULL,
            box REAL[] NOT NULL,
            track_id BIGINT,
            start_ts DOUBLE PRECISION NOT NULL,
            end_ts DOUBLE PRECISION,
            snapshot TEXT,
            snapshot_key TEXT,
            extra JSONB NOT NULL DEFAULT '{}'::jsonb,
            schema_version INTEGER NOT NULL,
            topic TEXT NOT NULL,
            ingested_at DOUBLE PRECISION NOT NULL
        )""")
    op.execute("CREATE INDEX events_device_start ON events (device, start_ts)")
    op.execute("CREATE INDEX events_start ON events (start_ts)")
    op.execute("CREATE INDEX events_rule_start ON events (rule, start_ts)")
    op.execute("""
        CREATE TABLE rejects (
            seq BIGSERIAL PRIMARY KEY,
            received_at DOUBLE PRECISION NOT NULL,
            topic TEXT NOT NULL,
            device TEXT,
            reason TEXT NOT NULL,
            size INTEGER NOT NULL,
            sample TEXT
        )""")


def downgrade() -> None:
    op.execute("DROP TABLE rejects")
    op.execute("DROP TABLE events")
    op.execute("DROP TABLE boards")
