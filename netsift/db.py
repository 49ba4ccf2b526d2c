"""Engines and schema upgrades.

One driver for PostgreSQL: psycopg 3 (see README, "Why psycopg 3"). A plain
`postgresql://` URL is pointed at it so users need not know the dialect name.
"""

from __future__ import annotations

import time
from datetime import datetime, timezone
from functools import lru_cache
from importlib.resources import files

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError

# Package data: the migrations and their Alembic configuration ship in the
# wheel, so `netsift db upgrade` works from any working directory.
MIGRATIONS = files("netsift") / "migrations"


def utc_datetime(value) -> datetime | None:
    """A timestamp as read back: SQLite returns naive UTC or text, PostgreSQL
    an aware datetime. Always aware UTC (None stays None)."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def normalized_url(url: str) -> str:
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One pooled engine per URL per process, shared by the tasks of a run."""
    url = normalized_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 60})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    engine = create_engine(url)
    _ping_when_idle(engine)
    return engine


# A connection back in the pool for less than this is handed out unpinged.
PING_AFTER_IDLE_SECONDS = 1.0


def _ping_when_idle(engine: Engine) -> None:
    """SQLAlchemy's pool_pre_ping, except for connections used within the
    last second: a ping is a round trip, and a run loading small objects
    checks a connection out for each one (bench/objects.py). One that was
    lost within that second fails its statement instead, which is retried
    as any lost connection is (tasks/retry.py)."""

    def note(dbapi_connection, record, *_) -> None:
        record.info["returned_at"] = time.monotonic()

    def ping_if_idle(dbapi_connection, record, _proxy) -> None:
        if time.monotonic() - record.info.get("returned_at", 0.0) < PING_AFTER_IDLE_SECONDS:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise DisconnectionError(f"the pooled connection was lost: {error}") from error  # the pool retries

    event.listen(engine, "connect", note)
    event.listen(engine, "checkin", note)
    event.listen(engine, "checkout", ping_if_idle)


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # Let SQLAlchemy, not pysqlite, say when transactions begin (see below).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()


def _sqlite_begin_immediate(connection) -> None:
    """Take the write lock at BEGIN: concurrent loaders then wait their turn
    instead of failing when a read transaction tries to become a writer."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def alembic_config(url: str):
    from alembic.config import Config

    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolation: a password with '%' must be doubled.
    config.set_main_option("sqlalchemy.url", normalized_url(url).replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the schema up to date; every command calls this before it works."""
    from alembic import command

    command.upgrade(alembic_config(url), revision)
