"""Daily partitions on PostgreSQL: cloudfront_requests (migration 0011) and
the capture tables (0014), each by the UTC day of its `ts`.

A prune then drops whole days instead of deleting rows. `ts` is NOT NULL in
each, so there is no DEFAULT partition: a row whose day has no partition is
refused by PostgreSQL, never parked where it would block creating that day later.

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
from typing import Callable, Iterable, Iterator, TypeVar

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

TABLE = "cloudfront_requests"
# A capture's rows go to all four: its days are made in each together.
CAPTURE_TABLES = ("connections", "dns_queries", "http_requests", "extracted_files")
PARTITIONED_TABLES = (TABLE, *CAPTURE_TABLES)
# One key for every process making partitions of these tables: pg_advisory_xact_lock(int8).
ADVISORY_KEY = 0x6E657473_69667401
_ANY_NAME = re.compile(rf"\A(?:{'|'.join(PARTITIONED_TABLES)})_p\d{{8}}\Z")
# A load that met new days is read again once they exist, and one refused
# for a day pruned since the catalog was read, read again after reading it;
# more than a few rounds means partitions keep vanishing (a prune racing the load).
PARTITION_ROUNDS = 4
T = TypeVar("T")


class MissingPartitions(Exception):
    """Rows for days that have no partition yet; the load is to be retried after `days` exist."""

    def __init__(self, days: set[date]):
        super().__init__(f"no partition for {', '.join(sorted(map(str, days)))}")
        self.days = days


class TooManyDays(ValueError):
    """One object's rows need more new days than `max_new_days`: a hostile
    or broken file could otherwise make a partition for every day it names,
    and every query over the table would then plan over them. The object
    fails with this reason; nothing is made and nothing of it is loaded."""

    def __init__(self, days: int, limit: int):
        super().__init__(
            f"its rows fall on more than {limit} days that have no partition yet (at least {days}); "
            f"one object may add at most {limit} (NETSIFT_MAX_NEW_DAYS_PER_OBJECT)"
        )


def not_a_partition(name, type_, parent_names) -> bool:
    """For Alembic's `include_name`: the day partitions are made at run time,
    not by a migration, so a schema comparison leaves them out."""
    return not (type_ == "table" and _ANY_NAME.match(name or ""))


def partition_name(day: date, table: str = TABLE) -> str:
    return f"{table}_p{day:%Y%m%d}"


def _day_of(name: str | None, table: str) -> date | None:
    """The day a partition of `table` holds, by our own naming (`partition_name`)."""
    prefix = f"{table}_p"
    if not name or not name.startswith(prefix) or not re.fullmatch(r"\d{8}", name[len(prefix):]):
        return None
    return datetime.strptime(name[len(prefix):], "%Y%m%d").date()


def day_bounds(day: date) -> tuple[str, str]:
    """The partition's range as UTC literals (built from a date, never from row text)."""
    return f"{day:%Y-%m-%d} 00:00:00+00", f"{day + timedelta(days=1):%Y-%m-%d} 00:00:00+00"


def attached_days(conn: Connection, table: str = TABLE) -> set[date]:
    """Days that have a partition now (our own naming, set by `partition_name`)."""
    names = conn.execute(text(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(:t)"
    ), {"t": table}).scalars()  # fmt: skip
    return {day for name in names if (day := _day_of(name, table))}


def partition_days(conn: Connection, tables: Iterable[str] = (TABLE,)) -> dict[str, set[date]]:
    """The days that have a partition, by table, for those of `tables` that
    are partitioned (none on SQLite, or on PostgreSQL before 0011/0014): one
    query per load."""
    if conn.dialect.name != "postgresql":
        return {}
    found = conn.execute(text(
        "SELECT p.relname, c.relname FROM pg_class p LEFT JOIN pg_inherits i ON i.inhparent = p.oid "
        "LEFT JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE p.relkind = 'p' AND p.oid IN (SELECT to_regclass(t) FROM unnest(CAST(:ts AS text[])) AS t)"
    ), {"ts": list(tables)}).all()  # fmt: skip
    known: dict[str, set[date]] = {}
    for table, name in found:
        days = known.setdefault(table, set())
        if day := _day_of(name, table):
            days.add(day)
    return known


# Per database and tables: the days that had a partition when this process
# last read the catalog (a table absent: not partitioned). Read once, not once
# per object: a small object's load is mostly round trips. Only a hint:
# PostgreSQL refuses a row whose day has no partition whatever it says
# (`lacks_partition`), and the load then reads the catalog again; a stale
# hint costs a retry, never a row.
_KNOWN_DAYS: dict[tuple[str, tuple[str, ...]], dict[str, set[date]]] = {}


def known_days(conn: Connection, tables: Iterable[str] = (TABLE,)) -> dict[str, set[date]]:
    """`partition_days`, as last read by this process for this database."""
    key = _days_key(conn.engine, tuple(tables))
    if key not in _KNOWN_DAYS:
        _KNOWN_DAYS[key] = partition_days(conn, key[1])
    return _KNOWN_DAYS[key]


def _days_key(engine: Engine, tables: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    return engine.url.render_as_string(), tables


def _known_days_of(engine: Engine, tables: tuple[str, ...]) -> dict[str, set[date]]:
    """`known_days`, taking a connection from the pool only when this
    process has not read them yet (a small object's load asks once more
    inside its transaction)."""
    found = _KNOWN_DAYS.get(_days_key(engine, tables))
    if found is not None:
        return found
    with engine.connect() as conn:
        return known_days(conn, tables)


def forget_days(engine: Engine) -> None:
    """The next load reads the catalog again (after days were made or dropped)."""
    url = engine.url.render_as_string()
    for key in [key for key in _KNOWN_DAYS if key[0] == url]:
        del _KNOWN_DAYS[key]


def lacks_partition(error: BaseException) -> bool:
    """PostgreSQL refused a row because its day has no partition (a prune
    dropped the day since this process read the catalog)."""
    orig = getattr(error, "orig", error)
    return getattr(orig, "sqlstate", None) == "23514" and "no partition of relation" in str(orig)


def guarded_rows(
    rows: Iterable[T], known: dict[str, set[date]], place: Callable[[T], tuple[str, datetime]],
    max_new_days: int,
) -> Iterator[T]:
    """The rows, as long as each one's day has a partition in its table.

    `place` says a row's table and `ts`; rows of tables not in `known` (not
    partitioned) pass. At the first row that has none, the rest are still
    read (not written) to learn every missing day at once, so the load is
    retried once, not once per day; then `MissingPartitions` aborts the COPY
    and its transaction. More than `max_new_days` missing days raise
    `TooManyDays` as soon as they are seen.
    """
    current: dict[str, tuple[datetime, datetime]] = {}  # each table's last day seen, as a range
    missing: set[date] = set()
    for row in rows:
        table, ts = place(row)
        days = known.get(table)
        if days is not None:
            low, high = current.get(table) or (None, None)
            if low is None or not (low <= ts < high):
                day = ts.astimezone(timezone.utc).date()
                if day not in days:
                    missing.add(day)
                    if len(missing) > max_new_days:
                        raise TooManyDays(len(missing), max_new_days)
                low = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
                current[table] = (low, low + timedelta(days=1))
        if not missing:
            yield row
    if missing:
        raise MissingPartitions(missing)


def create_days(engine: Engine, days: Iterable[date], tables: Iterable[str] = (TABLE,)) -> list[str]:
    """Make the partitions of `days` that do not exist yet in `tables`; the names made.

    Its own transaction, under a transaction-level advisory lock, so concurrent
    loaders asking for the same day make it once and the others find it made.
    """
    made = []
    with engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": ADVISORY_KEY})
        partitioned = partition_days(conn, tables)  # a hint older than a downgrade: nothing to make
        for table, existing in partitioned.items():
            for day in sorted(set(days) - existing):
                name = partition_name(day, table)
                low, high = day_bounds(day)
                # Names and bounds come from a date object and our own table
                # names, never from log text.
                conn.exec_driver_sql(f'CREATE TABLE IF NOT EXISTS "{name}" (LIKE "{table}" INCLUDING DEFAULTS)')
                conn.exec_driver_sql(
                    f"ALTER TABLE \"{table}\" ATTACH PARTITION \"{name}\" FOR VALUES FROM ('{low}') TO ('{high}')"
                )
                made.append(name)
    return made


def prepare_days(engine: Engine, days: Iterable[date | None], tables: Iterable[str] = (TABLE,)) -> None:
    """Make the partitions of `days` ahead of a load, when the object's name
    (CloudFront) or its first and last packet (captures) say them: the load
    then needs no second read for a new day. Days already known (`known_days`)
    cost no query."""
    wanted = {(table, day) for table in tables for day in days if day is not None}
    if not wanted or engine.dialect.name != "postgresql":
        return
    known = _known_days_of(engine, tuple(sorted({table for table, _ in wanted})))
    missing = {(table, day) for table, day in wanted if table in known and day not in known[table]}
    if missing:
        create_days(engine, {day for _, day in missing}, sorted({table for table, _ in missing}))
        forget_days(engine)


def loaded_with_days(engine: Engine, load: Callable[[], T], tables: Iterable[str], what: str) -> T:
    """`load()`, run again after making the days it found missing.

    Nothing of the failed round committed; the days are made outside any
    load's transaction. More than a few rounds means partitions keep
    vanishing (a prune racing the load).
    """
    for _ in range(PARTITION_ROUNDS):
        try:
            return load()
        except MissingPartitions as missing:
            create_days(engine, missing.days, tables)
            forget_days(engine)
        except DBAPIError as error:  # refused: a day pruned since this process read the catalog
            if not lacks_partition(error):
                raise
            forget_days(engine)
    raise RuntimeError(f"{what}: partitions of its days kept disappearing during the load")


def drop_days_before(engine: Engine, cutoff: datetime, table: str = TABLE) -> tuple[int, list[str]]:
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
        ), {"t": table}).all())  # fmt: skip
        leftovers = conn.execute(text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND c.relkind = 'r' AND NOT c.relispartition "
            "AND c.relname LIKE :pattern"
        ), {"pattern": f"{table}\\_p%"}).scalars().all()  # fmt: skip
    old = sorted(name for name in pending if (day := _day_of(name, table)) and
                 datetime(day.year, day.month, day.day, tzinfo=timezone.utc) + timedelta(days=1) <= cutoff)
    auto = engine.execution_options(isolation_level="AUTOCOMMIT")
    for name in old:
        with auto.connect() as conn:
            removed += conn.exec_driver_sql(f'SELECT count(*) FROM "{name}"').scalar()
            how = "FINALIZE" if pending[name] else "CONCURRENTLY"
            conn.exec_driver_sql(f'ALTER TABLE "{table}" DETACH PARTITION "{name}" {how}')
            conn.exec_driver_sql(f'DROP TABLE "{name}"')
        dropped.append(name)
    for name in leftovers:
        if _day_of(name, table):
            with auto.connect() as conn:
                conn.exec_driver_sql(f'DROP TABLE IF EXISTS "{name}"')
    return removed, dropped
