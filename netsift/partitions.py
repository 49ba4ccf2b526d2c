"""Daily partitions of cloudfront_requests on PostgreSQL (migration 0011).

A prune then drops whole days instead of deleting rows. `ts` is NOT NULL, so
there is no DEFAULT partition: a row whose day has no partition is refused by
PostgreSQL, never parked where it would block creating that day later.

Partitions are made outside any loader's transaction. Attaching one clones
the foreign key to source_objects, which locks that table against the ledger
writes every loader holds until it commits; made inside a load, two loaders
would wait on each other. So a load that meets a day without a partition
gives up its transaction (`MissingPartitions`), the days are made in a short
transaction of their own, and the object is read again: once per new day.
CREATE TABLE ... PARTITION OF would lock the parent against every reader and
writer; CREATE TABLE + ATTACH PARTITION only against other attaches.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone
from typing import Iterable, Iterator, Sequence

from sqlalchemy import Connection, Engine, text

TABLE = "cloudfront_requests"
# One key for every process making partitions of this table: pg_advisory_xact_lock(int8).
ADVISORY_KEY = 0x6E657473_69667401
_NAME = re.compile(rf"\A{TABLE}_p(\d{{8}})\Z")


class MissingPartitions(Exception):
    """Rows for days that have no partition yet; the load is to be retried after `days` exist."""

    def __init__(self, days: set[date]):
        super().__init__(f"{TABLE}: no partition for {', '.join(sorted(map(str, days)))}")
        self.days = days


def not_a_partition(name, type_, parent_names) -> bool:
    """For Alembic's `include_name`: the day partitions are made at run time,
    not by a migration, so a schema comparison leaves them out."""
    return not (type_ == "table" and _NAME.match(name or ""))


def partition_name(day: date) -> str:
    return f"{TABLE}_p{day:%Y%m%d}"


def day_bounds(day: date) -> tuple[str, str]:
    """The partition's range as UTC literals (built from a date, never from row text)."""
    return f"{day:%Y-%m-%d} 00:00:00+00", f"{day + timedelta(days=1):%Y-%m-%d} 00:00:00+00"


def is_partitioned(conn: Connection) -> bool:
    if conn.dialect.name != "postgresql":
        return False
    kind = conn.execute(text("SELECT relkind FROM pg_class WHERE oid = to_regclass(:t)"), {"t": TABLE}).scalar()
    return kind == "p"


def attached_days(conn: Connection) -> set[date]:
    """Days that have a partition now (our own naming, set by `partition_name`)."""
    names = conn.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(:t)"
    ), {"t": TABLE}).scalars()  # fmt: skip
    return {datetime.strptime(m[1], "%Y%m%d").date() for name in names if (m := _NAME.match(name))}


def partition_days(conn: Connection) -> set[date] | None:
    """The days that have a partition, or None when the table is not
    partitioned (SQLite, or PostgreSQL before 0011): one query per load."""
    if conn.dialect.name != "postgresql":
        return None
    names = conn.execute(text(
        "SELECT c.relname FROM pg_class p LEFT JOIN pg_inherits i ON i.inhparent = p.oid "
        "LEFT JOIN pg_class c ON c.oid = i.inhrelid WHERE p.oid = to_regclass(:t) AND p.relkind = 'p'"
    ), {"t": TABLE}).scalars().all()  # fmt: skip
    if not names:
        return None
    return {datetime.strptime(m[1], "%Y%m%d").date() for name in names if name and (m := _NAME.match(name))}


# Per database: the days that had a partition when this process last read the
# catalog (None: the table is not partitioned). Read once, not once per object:
# a small object's load is mostly round trips. Only a hint: PostgreSQL refuses
# a row whose day has no partition whatever it says (`lacks_partition`), and
# the load then reads the catalog again; a stale hint costs a retry, never a row.
_KNOWN_DAYS: dict[str, set[date] | None] = {}


def known_days(conn: Connection) -> set[date] | None:
    """`partition_days`, as last read by this process for this database."""
    key = conn.engine.url.render_as_string()
    if key not in _KNOWN_DAYS:
        _KNOWN_DAYS[key] = partition_days(conn)
    return _KNOWN_DAYS[key]


def forget_days(engine: Engine) -> None:
    """The next load reads the catalog again."""
    _KNOWN_DAYS.pop(engine.url.render_as_string(), None)


def lacks_partition(error: BaseException) -> bool:
    """PostgreSQL refused a row because its day has no partition (a prune
    dropped the day since this process read the catalog)."""
    orig = getattr(error, "orig", error)
    return getattr(orig, "sqlstate", None) == "23514" and "no partition of relation" in str(orig)


def guarded_rows(rows: Iterable[Sequence], known: set[date], ts_index: int) -> Iterator[Sequence]:
    """The rows, as long as each one's day has a partition.

    At the first row that has none, the rest are still read (not written) to
    learn every missing day at once, so the load is retried once, not once per
    day; then `MissingPartitions` aborts the COPY and its transaction.
    """
    low = high = None
    missing: set[date] = set()
    for row in rows:
        ts = row[ts_index]
        if low is None or not (low <= ts < high):
            day = ts.astimezone(timezone.utc).date()
            if day not in known:
                missing.add(day)
            low = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
            high = low + timedelta(days=1)
        if not missing:
            yield row
    if missing:
        raise MissingPartitions(missing)


def create_days(engine: Engine, days: Iterable[date]) -> list[str]:
    """Make the partitions of `days` that do not exist yet; the names made.

    Its own transaction, under a transaction-level advisory lock, so concurrent
    loaders asking for the same day make it once and the others find it made.
    """
    made = []
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_KEY})
        if not is_partitioned(conn):  # a hint older than a downgrade: nothing to make
            return made
        existing = attached_days(conn)
        for day in sorted(set(days) - existing):
            name = partition_name(day)
            low, high = day_bounds(day)
            # Names and bounds come from a date object, never from log text.
            conn.exec_driver_sql(f'CREATE TABLE IF NOT EXISTS "{name}" (LIKE "{TABLE}" INCLUDING DEFAULTS)')
            conn.exec_driver_sql(
                f"ALTER TABLE \"{TABLE}\" ATTACH PARTITION \"{name}\" FOR VALUES FROM ('{low}') TO ('{high}')"
            )
            made.append(name)
    return made


# Days this process made or saw made: a hint that spares a transaction per
# object, never trusted for correctness (a prune may have dropped one since;
# `guarded_rows` checks the catalog in the load's own transaction).
_SEEN_DAYS: set[date] = set()


def prepare_day(engine: Engine, day: date | None) -> None:
    """Make `day`'s partition ahead of a load, when the object's name says its
    hour: the load then needs no second read for a new day."""
    if day is None or day in _SEEN_DAYS or engine.dialect.name != "postgresql":
        return
    with engine.connect() as conn:
        known = known_days(conn)
    if known is None:
        return
    if day not in known:
        create_days(engine, [day])
        forget_days(engine)
    _SEEN_DAYS.add(day)


def drop_days_before(engine: Engine, cutoff: datetime) -> tuple[int, list[str]]:
    """Drop the partitions wholly older than `cutoff`: rows they held, names dropped.

    DETACH ... CONCURRENTLY, outside a transaction, so the console's readers
    and the loaders are never locked out of the table; then DROP, which waits
    for loads in flight (it removes the foreign key's triggers on
    source_objects). A detach cut short (a crash) is finished by the next
    prune, and a table left detached is dropped by it.
    """
    removed, dropped = 0, []
    with engine.connect() as conn:
        pending = dict(conn.execute(text(
            "SELECT c.relname, i.inhdetachpending FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass(:t)"
        ), {"t": TABLE}).all())  # fmt: skip
        leftovers = conn.execute(text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r' AND NOT c.relispartition "
            "AND c.relname LIKE :pattern"
        ), {"pattern": f"{TABLE}\\_p%"}).scalars().all()  # fmt: skip
    old = sorted(name for name in pending if (m := _NAME.match(name)) and
                 datetime.strptime(m[1], "%Y%m%d").replace(tzinfo=timezone.utc) + timedelta(days=1) <= cutoff)
    auto = engine.execution_options(isolation_level="AUTOCOMMIT")
    for name in old:
        with auto.connect() as conn:
            removed += conn.exec_driver_sql(f'SELECT count(*) FROM "{name}"').scalar()
            how = "FINALIZE" if pending[name] else "CONCURRENTLY"
            conn.exec_driver_sql(f'ALTER TABLE "{TABLE}" DETACH PARTITION "{name}" {how}')
            conn.exec_driver_sql(f'DROP TABLE "{name}"')
        dropped.append(name)
    for name in leftovers:
        if _NAME.match(name):
            with auto.connect() as conn:
                conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')
    return removed, dropped
