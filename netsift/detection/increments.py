"""What detection has not seen yet: the cursor of incremental detection.

The cursor is the set of source objects detection has classified and alerted
on (`detected_objects`), committed in the same transaction as the alerts, so
a failed run leaves it where it was and the next run resumes (dlt's lesson).
An object counts as unseen when it has no row there, when it was reloaded
since (another `loaded_at`), or when the rules changed (another version: a
full recompute).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import Connection, delete, func, insert, or_, select

from netsift.db import utc_datetime
from netsift.schema import detected_objects, source_objects

# Objects are looked for from the newest loaded_at detection has seen, minus
# this: a load stamps loaded_at before its transaction commits, so one that
# commits after a detect run read the cursor is still found by the next.
# Far longer than one object's load (tshark's pass is capped at 15 minutes).
COMMIT_SLACK = timedelta(hours=6)
CHUNK = 1000


@dataclass(frozen=True)
class Unseen:
    """Object ids by kind; `everything` when nothing has been seen (first run,
    new rules): then queries read whole tables instead of lists of ids."""

    ids: dict[str, list[int]]
    loaded_at: dict[int, datetime]
    everything: bool

    def of(self, kind: str) -> list[int]:
        return self.ids.get(kind, [])


def unseen_objects(conn: Connection, rules_version: str) -> Unseen:
    conn.execute(delete(detected_objects).where(detected_objects.c.rules_version != rules_version))
    newest = conn.execute(select(func.max(detected_objects.c.loaded_at))).scalar()
    seen = detected_objects
    query = (
        select(source_objects.c.id, source_objects.c.kind, source_objects.c.loaded_at)
        .outerjoin(seen, seen.c.source_object_id == source_objects.c.id)
        .where(source_objects.c.loaded_at.is_not(None))
        .where(or_(seen.c.source_object_id.is_(None), seen.c.loaded_at != source_objects.c.loaded_at))
    )
    if newest is not None:
        query = query.where(source_objects.c.loaded_at >= utc_datetime(newest) - COMMIT_SLACK)
    ids: dict[str, list[int]] = {}
    loaded_at: dict[int, datetime] = {}
    for row in conn.execute(query):
        ids.setdefault(row.kind, []).append(row.id)
        loaded_at[row.id] = utc_datetime(row.loaded_at)
    return Unseen(ids, loaded_at, everything=newest is None)


def mark_seen(conn: Connection, unseen: Unseen, rules_version: str) -> None:
    """Advance the cursor; the caller commits it with the alerts."""
    stamp = datetime.now(timezone.utc)
    ids = list(unseen.loaded_at)
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        conn.execute(delete(detected_objects).where(detected_objects.c.source_object_id.in_(chunk)))
        conn.execute(insert(detected_objects), [
            {"source_object_id": i, "loaded_at": unseen.loaded_at[i], "rules_version": rules_version,
             "detected_at": stamp} for i in chunk
        ])  # fmt: skip


def id_chunks(ids: list[int]):
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]

