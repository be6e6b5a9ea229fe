"""Alembic environment of the hub's schema (run by ``edgekit.hub.schema.migrate``; plain ``alembic`` works too).

An advisory lock serialises migrations, so several hubs started together never migrate at the same time.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, text

_LOCK = 0x6564676B  # "edgk": the advisory lock id of the hub's migrations

def run_migrations() -> None:
    url = context.config.get_main_option("sqlalchemy.url")
    engine = create_engine(url or "", future=True)
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _LOCK})
        try:
            context.configure(connection=connection, target_metadata=None, version_table="edgekit_schema_version")
            with context.begin_transaction():
                context.run_migrations()
            connection.commit()
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _LOCK})
            connection.commit()
    engine.dispose()


if getattr(context, "config", None) is not None:  # run by alembic, not merely imported (e.g. by a doctest walk)
    run_migrations()
