"""Retention: rows older than a cutoff go, the ledger stays.

Requests, capture rows, rejected lines and alerts are removed; the
`source_objects` ledger (and `detected_objects`, detection's cursor) keep
their rows, so a pruned object is never loaded again by a run that lists it.
Deletes run in batches, each its own transaction, so a prune of a busy year
neither holds locks for long nor needs the whole of it in one WAL segment.
On PostgreSQL cloudfront_requests (migration 0011) and the capture tables
(0014) are partitioned by day: the days wholly before the cutoff are dropped,
and only the day that straddles it is deleted from. Every one of these `ts`
is NOT NULL (extracted_files' since 0014), so no row escapes a prune.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, Table, delete, func, select, tuple_

from netsift.partitions import drop_days_before, forget_days, partition_days

from netsift.schema import (
    alerts,
    cloudfront_requests,
    connections,
    dns_queries,
    extracted_files,
    http_requests,
    rejected_records,
    source_objects,
)

BATCH = 50_000
_AGE = re.compile(r"\A(\d{1,5})([dh])\Z")


def cutoff_of(age: str, now: datetime | None = None) -> datetime:
    """`90d` or `36h` before now; anything else is a ValueError saying what is accepted."""
    match = _AGE.match(age.strip())
    if not match or int(match[1]) == 0:
        raise ValueError(f"{age!r} is not an age; give days or hours, e.g. 90d or 36h")
    unit = timedelta(days=1) if match[2] == "d" else timedelta(hours=1)
    return (now or datetime.now(timezone.utc)) - int(match[1]) * unit


def _delete_older(engine: Engine, table: Table, column, cutoff: datetime, key: list) -> int:
    """Delete rows of `table` whose `column` is before `cutoff`, BATCH at a time."""
    removed = 0
    while True:
        with engine.begin() as conn:
            batch = select(*key).where(column < cutoff).limit(BATCH)
            done = conn.execute(delete(table).where(tuple_(*key).in_(batch))).rowcount
        removed += done
        if done < BATCH:
            return removed


# Each table by its time column, deleted by key; the key holds `ts` where
# PostgreSQL's partitioned key does (partitioned tables want the partition key in it).
TIMED = (
    (cloudfront_requests, ("source_object_id", "line_number", "ts")),
    (http_requests, ("id", "ts")),
    (dns_queries, ("id", "ts")),
    (connections, ("source_object_id", "uid", "ts")),
    (extracted_files, ("id", "ts")),
)


def prune(engine: Engine, cutoff: datetime) -> dict[str, int]:
    """Rows removed per table."""
    old_objects = select(source_objects.c.id).where(func.coalesce(source_objects.c.loaded_at,
                                                                  source_objects.c.updated_at) < cutoff)  # fmt: skip
    with engine.connect() as conn:
        partitioned = partition_days(conn, [table.name for table, _ in TIMED])
    removed = {}
    for table, key in TIMED:
        dropped = drop_days_before(engine, cutoff, table.name)[0] if table.name in partitioned else 0
        removed[table.name] = dropped + _delete_older(engine, table, table.c.ts, cutoff, [table.c[k] for k in key])
    if partitioned:
        forget_days(engine)  # this process's loads must not trust the days it had seen
    removed["alerts"] = _delete_older(engine, alerts, alerts.c.last_seen, cutoff, [alerts.c.id])
    with engine.begin() as conn:
        removed["rejected_records"] = conn.execute(
            delete(rejected_records).where(rejected_records.c.source_object_id.in_(old_objects))
        ).rowcount
    return removed
