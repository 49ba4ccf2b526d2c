"""Retention: rows older than a cutoff go, the ledger stays.

Requests, capture rows, rejected lines and alerts are removed; the
`source_objects` ledger (and `detected_objects`, detection's cursor) keep
their rows, so a pruned object is never loaded again by a run that lists it.
Deletes run in batches, each its own transaction, so a prune of a busy year
neither holds locks for long nor needs the whole of it in one WAL segment.
On PostgreSQL cloudfront_requests is partitioned by day (migration 0011): the
days wholly before the cutoff are dropped, and only the day that straddles it
is deleted from.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, Table, delete, func, select, tuple_

from netsift.partitions import drop_days_before, is_partitioned

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


def prune(engine: Engine, cutoff: datetime) -> dict[str, int]:
    """Rows removed per table."""
    old_objects = select(source_objects.c.id).where(func.coalesce(source_objects.c.loaded_at,
                                                                  source_objects.c.updated_at) < cutoff)  # fmt: skip
    with engine.connect() as conn:
        partitioned = is_partitioned(conn)
    dropped = drop_days_before(engine, cutoff)[0] if partitioned else 0
    removed = {
        "cloudfront_requests": dropped + _delete_older(
            engine, cloudfront_requests, cloudfront_requests.c.ts, cutoff,
            [cloudfront_requests.c.source_object_id, cloudfront_requests.c.line_number, cloudfront_requests.c.ts]),
        "http_requests": _delete_older(engine, http_requests, http_requests.c.ts, cutoff, [http_requests.c.id]),
        "dns_queries": _delete_older(engine, dns_queries, dns_queries.c.ts, cutoff, [dns_queries.c.id]),
        "connections": _delete_older(engine, connections, connections.c.ts, cutoff,
                                     [connections.c.source_object_id, connections.c.uid]),
        "extracted_files": _delete_older(engine, extracted_files, extracted_files.c.ts, cutoff, [extracted_files.c.id]),
        "alerts": _delete_older(engine, alerts, alerts.c.last_seen, cutoff, [alerts.c.id]),
    }  # fmt: skip
    with engine.begin() as conn:
        removed["rejected_records"] = conn.execute(
            delete(rejected_records).where(rejected_records.c.source_object_id.in_(old_objects))
        ).rowcount
    return removed
