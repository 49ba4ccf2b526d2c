"""Writing rows: binary COPY on PostgreSQL, batched inserts on SQLite.

Rows are streamed: COPY sends them as they are parsed, and SQLite gets
batches of `chunk_rows`, so memory stays flat however large an object is.
"""

from __future__ import annotations

from itertools import islice
from typing import Iterable, Sequence

from sqlalchemy import ARRAY, BigInteger, Connection, DateTime, Float, Integer, Table, Text, insert

from netsift.ingest.pipeline import driver_errors

_PG_BINARY_TYPES = ((BigInteger, "int8"), (Integer, "int4"), (Float, "float8"), (Text, "text"))


def pg_type_name(column) -> str:
    """PostgreSQL's name for a column's type, as binary COPY needs it."""
    name = _pg_name(column.type)
    if name is None:
        raise TypeError(f"no binary COPY type for {column.table.name}.{column.name}")
    return name


def _pg_name(type_) -> str | None:
    if isinstance(type_, ARRAY):
        item = _pg_name(type_.item_type)
        return item and item + "[]"
    if isinstance(type_, DateTime):
        return "timestamptz" if type_.timezone else "timestamp"
    for sa_type, name in _PG_BINARY_TYPES:
        if isinstance(type_, sa_type):
            return name
    return None


def copy_rows(
    conn: Connection,
    table: Table,
    columns: Sequence[str],
    rows: Iterable[Sequence],
    chunk_rows: int = 10_000,
) -> int:
    """Write rows (tuples in `columns` order) in the connection's transaction."""
    if conn.dialect.name == "postgresql":
        return _pg_copy(conn, table, columns, rows)
    return _batched_insert(conn, table, columns, rows, chunk_rows)


# (table, columns) -> the COPY statement and its columns' type OIDs, built once
# per process rather than once per object.
_COPY_PLANS: dict[tuple[str, tuple[str, ...]], tuple[str, list[int]]] = {}


def _copy_plan(table: Table, columns: Sequence[str], cursor) -> tuple[str, list[int]]:
    key = (table.name, tuple(columns))
    plan = _COPY_PLANS.get(key)
    if plan is None:
        registry = cursor.adapters.types  # built-in types: the same OIDs on every server
        oids = [registry.get_oid(pg_type_name(table.c[name])) for name in columns]
        quoted = ", ".join(f'"{name}"' for name in columns)  # our own names, never data
        plan = _COPY_PLANS[key] = (f'COPY "{table.name}" ({quoted}) FROM STDIN (FORMAT BINARY)', oids)
    return plan


def _pg_copy(conn: Connection, table: Table, columns: Sequence[str], rows) -> int:
    count = 0
    with conn.connection.driver_connection.cursor() as cursor:
        statement, oids = _copy_plan(table, columns, cursor)
        with driver_errors(conn, statement), cursor.copy(statement) as copy:
            copy.set_types(oids)
            write = copy.write_row
            for row in rows:
                write(row)
                count += 1
    return count


def _batched_insert(conn, table, columns, rows, chunk_rows) -> int:
    placeholders = ", ".join("?" for _ in columns)
    quoted = ", ".join(f'"{name}"' for name in columns)
    statement = f'INSERT INTO "{table.name}" ({quoted}) VALUES ({placeholders})'
    # SQLAlchemy's own storage format for types the driver cannot take as is.
    processors = [
        (i, p)
        for i, name in enumerate(columns)
        if (p := table.c[name].type.dialect_impl(conn.dialect).bind_processor(conn.dialect))
        is not None
    ]
    count, rows = 0, iter(rows)
    while batch := list(islice(rows, chunk_rows)):
        if processors:
            batch = [_processed(row, processors) for row in batch]
        conn.exec_driver_sql(statement, batch)
        count += len(batch)
    return count


def _processed(row, processors) -> tuple:
    row = list(row)
    for i, process in processors:
        if row[i] is not None:
            row[i] = process(row[i])
    return tuple(row)


def insert_dicts(conn: Connection, table: Table, records: list[dict]) -> None:
    if records:
        conn.execute(insert(table), records)
