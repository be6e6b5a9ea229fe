"""The hub's PostgreSQL schema, migrated with alembic (versions in ``edgekit/hub/migrations/versions``)."""

from __future__ import annotations

import logging
from pathlib import Path

from edgekit.errors import EdgekitError, MissingDependencyError

MIGRATIONS = Path(__file__).with_name("migrations")
log = logging.getLogger(__name__)


def sqlalchemy_url(dsn: str) -> str:
    """``postgresql://...`` → ``postgresql+psycopg://...`` (SQLAlchemy's name for the psycopg 3 driver)."""
    scheme, rest = dsn.split("://", 1)
    return f"postgresql+psycopg://{rest}" if scheme in ("postgres", "postgresql") else dsn


def migrate(dsn: str, revision: str = "head") -> None:
    """Bring the database at ``dsn`` to ``revision`` (idempotent; safe when several hubs start together)."""
    try:
        from alembic import command
        from alembic.config import Config
    except ImportError as e:
        raise MissingDependencyError("alembic", "pip install 'edgekit[hub]'") from e
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # alembic's config is an INI file: '%' must be doubled in a URL with an escaped password
    cfg.set_main_option("sqlalchemy.url", sqlalchemy_url(dsn).replace("%", "%%"))
    try:
        command.upgrade(cfg, revision)
    except Exception as e:
        if type(e).__name__ in ("OperationalError",):
            raise EdgekitError(f"cannot migrate the hub database: {str(e).splitlines()[0]}") from e
        raise
