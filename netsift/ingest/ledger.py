"""`source_objects`: the ledger that makes loading exactly-once.

An object's ledger row is written in the same transaction as its rows, so a
crash leaves either both or neither. The row is locked while an object loads,
so two runs cannot load the same object at once. Every kind of source
(CloudFront logs, captures) loads through `load_once`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Callable, Iterable

from sqlalchemy import (
    Connection, Engine, Table, Text, any_, bindparam, column, delete, func, literal_column, select, text, update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert

from netsift.schema import rejected_records, source_objects
from netsift.ingest.pipeline import pipelined
from netsift.ingest.sources import SourceObject, identity_of

LOADED, PARTIAL, FAILED, SKIPPED = "loaded", "partial", "failed", "skipped"
DUPLICATE = "duplicate"  # the same bytes are loaded under another name
DONE = (LOADED, PARTIAL, DUPLICATE)


@dataclass(frozen=True)
class LedgerEntry:
    id: int
    status: str
    etag: str | None
    rows_loaded: int
    content_sha256: str | None = None


@dataclass(frozen=True)
class ObjectResult:
    uri: str
    status: str  # loaded | partial | skipped | failed
    rows_loaded: int = 0
    rows_rejected: int = 0
    error: str | None = None
    rows_by_table: dict | None = None
    # sha256 of the content read, for `load_once` to claim at commit (not reported).
    content_sha256: str | None = field(default=None, repr=False)
    # sha256 of a local file's bytes as stored, hashed as they were loaded (not reported).
    stored_sha256: str | None = field(default=None, repr=False)

    def as_dict(self) -> dict:
        reported = asdict(self)
        del reported["content_sha256"], reported["stored_sha256"]
        return reported


def now() -> datetime:
    return datetime.now(timezone.utc)


def claim(conn: Connection, uri: str, kind: str, parser_version: str) -> LedgerEntry:
    """The object's ledger row, created if new and locked until commit."""
    return claim_new(conn, uri, kind, parser_version)[0]


_CLAIMED = (source_objects.c.id, source_objects.c.status, source_objects.c.etag,
            source_objects.c.rows_loaded, source_objects.c.content_sha256)  # fmt: skip


def _new_row(dialect) -> Insert:
    """The ledger row of an object never seen, with its values as bound parameters."""
    return dialect.insert(source_objects).values(
        uri=bindparam("uri"),
        kind=bindparam("kind"),
        status=FAILED,  # until this transaction says otherwise
        rows_loaded=0,
        rows_rejected=0,
        error="never loaded",
        parser_version=bindparam("parser_version"),
        first_seen_at=bindparam("stamp"),
        updated_at=bindparam("stamp"),
    )


# Built once, so their compiled form is reused (netsift/ingest/pipeline.py).
_PG_NEW = _new_row(postgresql)
_PG_CLAIM = _PG_NEW.on_conflict_do_update(index_elements=["uri"], set_={"uri": _PG_NEW.excluded.uri}).returning(
    *_CLAIMED, literal_column("xmax = 0")
)
_SQLITE_CLAIM = _new_row(sqlite).on_conflict_do_nothing(index_elements=["uri"])
# set_config(…, true) is SET LOCAL: this transaction only; the value is a bound parameter.
_DURABILITY = select(func.set_config("synchronous_commit", bindparam("value"), True))
# The foreign keys from the loaded rows to this ledger are checked, row by row,
# with a plan PostgreSQL makes once per connection and table (partition) and
# keeps. Made while the ledger is nearly empty (a new database analyzed after
# its first objects), that plan scans the whole ledger, and goes on doing so
# for every row as the ledger grows: 1,980 small objects loaded after such an
# ANALYZE took 1.35x the time (bench/first_backfill.py; tests/test_ledger_plans.py
# counts the scans). A load looks rows up in the ledger only by an indexed key, so its
# transaction plans without sequential scans, and the plans it leaves behind
# stay index lookups whatever the ledger's size then.
_INDEX_LOOKUPS = select(func.set_config("enable_seqscan", "off", True))
_SAVEPOINT, _RELEASE, _ROLLBACK_TO = (
    text(f"{verb} content_claim") for verb in ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")
)
_FINISHED = ("status", "etag", "rows_loaded", "rows_rejected", "error", "parser_version", "loaded_at",
             "updated_at", "size_bytes", "last_modified")  # fmt: skip
_FINISH = update(source_objects).where(source_objects.c.id == bindparam("object_id")).values(
    {name: bindparam(name) for name in _FINISHED}
)
_FINISH_CLAIMING = _FINISH.values(content_sha256=bindparam("content_sha256"))


def claim_new(conn: Connection, uri: str, kind: str, parser_version: str,
              synchronous_commit: str | None = None) -> tuple[LedgerEntry, bool]:  # fmt: skip
    """The object's ledger row, locked until commit, and whether this
    transaction created it (then no rows of an earlier version can exist).

    On PostgreSQL one round trip, BEGIN and the transaction's
    `synchronous_commit` included (netsift/ingest/pipeline.py): an upsert
    locks an existing row as `SELECT … FOR UPDATE` would, waiting for a
    concurrent holder, and `xmax = 0` tells a row just inserted. A small
    object's load is mostly round trips, so each one saved shows
    (bench/objects.py).
    """
    values = {"uri": uri, "kind": kind, "parser_version": parser_version, "stamp": now()}
    if conn.dialect.name == "postgresql":
        durability = [(_DURABILITY, {"value": synchronous_commit})] if synchronous_commit else []
        *entry, created = pipelined(conn, [*durability, (_INDEX_LOOKUPS, {}), (_PG_CLAIM, values)])[-1][0]
        return LedgerEntry(*entry), bool(created)
    created = conn.execute(_SQLITE_CLAIM, values).rowcount == 1
    return LedgerEntry(*conn.execute(select(*_CLAIMED).where(source_objects.c.uri == uri)).one()), created


def record(conn: Connection, object_id: int, **values) -> None:
    values.setdefault("updated_at", now())
    conn.execute(update(source_objects).where(source_objects.c.id == object_id).values(**values))


def claim_content(conn: Connection, object_id: int, sha256: str, finished: dict) -> str | None:
    """Record the load `finished` as the one that holds `sha256`'s content,
    and commit; or, when another object holds that content already, its URI
    (the transaction is then still open, for the caller to record this
    object `duplicate` and remove its rows).

    Called once the content is read and hashed. The unique index over loaded
    objects' hashes decides: a twin committed earlier fails the update at
    once; a twin loading concurrently makes PostgreSQL wait until it commits
    (then fail) or rolls back (then succeed). SQLite runs one writer at a
    time (BEGIN IMMEDIATE), so it never races. The update sits in a
    savepoint, so a refusal leaves the transaction usable; on PostgreSQL the
    savepoint, the update and the commit cost one round trip.
    """
    try:
        pipelined(conn, [(_SAVEPOINT, {}), (_FINISH_CLAIMING, {**finished, "object_id": object_id,
                                                              "content_sha256": sha256})], then_commit=True)  # fmt: skip
        return None
    except IntegrityError:
        pipelined(conn, [(_ROLLBACK_TO, {}), (_RELEASE, {})])
    twin = conn.execute(
        select(source_objects.c.uri).where(
            source_objects.c.content_sha256 == sha256,
            source_objects.c.status.in_((LOADED, PARTIAL)),
            source_objects.c.id != object_id,
        )
    ).scalar()
    if twin is None:  # the twin was changed or deleted meanwhile: retry the object
        raise RuntimeError(f"content {sha256} was claimed and released concurrently")
    return twin


def _twin_gone(conn: Connection, entry: LedgerEntry) -> bool:
    """A CloudFront duplicate whose content no loaded object holds any more
    (its twin changed since): it loads again rather than be lost."""
    if entry.status != DUPLICATE or entry.content_sha256 is None:
        return False
    holder = select(source_objects.c.id).where(
        source_objects.c.content_sha256 == entry.content_sha256,
        source_objects.c.status.in_((LOADED, PARTIAL)),
    )
    return conn.execute(holder.limit(1)).first() is None


def load_once(
    engine: Engine,
    obj: SourceObject,
    *,
    kind: str,
    parser_version: str,
    tables: Iterable[Table],
    write: Callable[[Connection, int], ObjectResult],
    data_errors: tuple[type[BaseException], ...],
    synchronous_commit: str | None = None,
    write_hashes_stored: bool = False,
) -> ObjectResult:
    """Load `obj` unless this exact version (its ETag, or a local file's
    sha256) is loaded already.

    `write_hashes_stored`: `write` returns a local file's sha256 of the
    bytes it loaded (`stored_sha256`), so a file the ledger holds no loaded
    version of is read once, not hashed first and read again, and its
    identity is that of the very bytes loaded. Otherwise the file is hashed
    before `write` reads it (a file changed in between then differs from
    its recorded identity, and loads again next run).

    `synchronous_commit` (PostgreSQL) applies to the load's transaction only:
    'off' lets the commit return before its WAL is on disk. Rows and ledger
    row still commit or vanish together, so a crash that loses the last
    commits leaves those objects unloaded, and the next run loads them.

    `write(conn, object_id)` writes the object's rows into `tables` inside the
    transaction and says how it went. Its `data_errors` (the content is at
    fault; a retry would fail the same way) are recorded as failed
    and returned; anything else (network, database) is raised, for retries,
    with nothing of the object committed.
    """
    uri = obj.uri
    etag = obj.etag or (None if write_hashes_stored else identity_of(obj))
    details = {"size_bytes": obj.size, "last_modified": obj.last_modified}
    try:
        with engine.begin() as conn:
            entry, created = claim_new(conn, uri, kind, parser_version, synchronous_commit)
            if entry.status in DONE:
                etag = etag or identity_of(obj)  # only a version loaded before needs comparing
                if entry.etag == etag and not _twin_gone(conn, entry):
                    return ObjectResult(uri, SKIPPED, entry.rows_loaded)
            # A changed object replaces its old rows, in this same transaction.
            for table in () if created else (*tables, rejected_records):
                conn.execute(delete(table).where(table.c.source_object_id == entry.id))
            result = write(conn, entry.id)
            etag = etag or result.stored_sha256
            if etag is None:
                raise RuntimeError(f"{uri}: the load returned no identity of the bytes it read")
            stamp = now()
            finished = {
                "status": DUPLICATE if result.status == SKIPPED else result.status, "etag": etag,
                "rows_loaded": result.rows_loaded, "rows_rejected": result.rows_rejected, "error": result.error,
                "parser_version": parser_version, "loaded_at": stamp, "updated_at": stamp, **details,
            }  # fmt: skip
            if result.content_sha256 is None or result.status == SKIPPED:
                pipelined(conn, [(_FINISH, {**finished, "object_id": entry.id})], then_commit=True)
                return result
            twin = claim_content(conn, entry.id, result.content_sha256, finished)
            if twin is None:
                return result
            # Rare: this content is loaded under another name. Its rows go, where a
            # savepoint around them would cost two round trips every object.
            for table in (*tables, rejected_records):
                conn.execute(delete(table).where(table.c.source_object_id == entry.id))
            error = f"same content as {twin}"
            record(conn, entry.id, **{**finished, "status": DUPLICATE, "rows_loaded": 0, "rows_rejected": 0,
                                      "error": error, "content_sha256": result.content_sha256})  # fmt: skip
            return ObjectResult(uri, SKIPPED, error=error)
    except data_errors as error:
        reason = str(error)
    etag = etag or _identity_or_none(obj)
    with engine.begin() as conn:
        entry = claim(conn, uri, kind, parser_version)
        record(conn, entry.id, status=FAILED, etag=etag, error=reason, parser_version=parser_version, **details)
    return ObjectResult(uri, FAILED, error=reason)


def split_loaded(engine: Engine, objects: list[SourceObject]) -> tuple[list[SourceObject], list[ObjectResult]]:
    """The objects still to load, and a `skipped` result for each one whose
    exact version is loaded already: by the same rule as `load_once` (S3's
    ETag, or a local file's sha256), in one query for them all.

    A rerun over a day of loaded objects then costs one query instead of a
    task run and a transaction per object. Only files the ledger holds are
    hashed here, so a new local file is not read twice.
    """
    done = loaded_versions(engine, [obj.uri for obj in objects])
    pending, skipped = [], []
    for obj in objects:
        entry = done.get(obj.uri)
        if entry is not None and entry[0] == _identity_or_none(obj):
            skipped.append(ObjectResult(obj.uri, SKIPPED, entry[1]))
        else:
            pending.append(obj)
    return pending, skipped


def _identity_or_none(obj: SourceObject) -> str | None:
    """None for a local file gone or unreadable since it was listed: its
    load then fails with the reason."""
    try:
        return identity_of(obj)
    except OSError:
        return None


def loaded_versions(engine: Engine, uris: list[str]) -> dict[str, tuple[str | None, int]]:
    """{uri: (etag, rows_loaded)} of the given URIs whose ledger row is done.

    The URIs travel as one bound parameter (an array on PostgreSQL, a JSON
    list on SQLite), so the query stays one statement for any number of them.
    """
    if not uris:
        return {}
    query = select(source_objects.c.uri, source_objects.c.etag, source_objects.c.rows_loaded).where(
        source_objects.c.status.in_(DONE)
    )
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            uri_list = bindparam("uris", list(uris), type_=postgresql.ARRAY(Text))
            rows = conn.execute(query.where(source_objects.c.uri == any_(uri_list)))
        else:
            listed = select(column("value")).select_from(func.json_each(bindparam("uris", json.dumps(list(uris)))))
            rows = conn.execute(query.where(source_objects.c.uri.in_(listed)))
        return {uri: (etag, rows_loaded) for uri, etag, rows_loaded in rows}


def record_failure(engine: Engine, obj: SourceObject, *, kind: str, parser_version: str, reason: str) -> None:
    """Record `obj` failed with `reason` when it could not be loaded for a
    reason outside its content (S3 or the database unreachable, retries spent),
    so an operator sees it in `source_objects`. A row that holds this exact
    version loaded is left as it is."""
    etag = _identity_or_none(obj)
    with engine.begin() as conn:
        entry = claim(conn, obj.uri, kind, parser_version)
        if entry.status in DONE and entry.etag == etag:
            return
        record(conn, entry.id, status=FAILED, etag=etag, error=reason, parser_version=parser_version,
               size_bytes=obj.size, last_modified=obj.last_modified)  # fmt: skip
