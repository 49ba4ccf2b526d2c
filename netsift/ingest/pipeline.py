"""Several statements of one transaction in one round trip to PostgreSQL.

A small object's load is mostly waiting for the database: each statement
costs a round trip, and on a busy machine each round trip costs a wake-up of
the server's process and of ours. psycopg 3's pipeline mode sends statements
without waiting for each answer (and the transaction's BEGIN with them), so
the statements of one step of a load cost one round trip together
(bench/objects.py measures it). SQLite has no round trips: there the
statements simply run in turn.

Errors keep SQLAlchemy's types (IntegrityError, OperationalError, with
`connection_invalidated` when the connection is lost), so the retry rules of
tasks/retry.py see them as they see any other statement's.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Sequence

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.engine import Compiled
from sqlalchemy.sql import Executable


def pipelined(conn: Connection, steps: Sequence[tuple[Executable, dict]],
              then_commit: bool = False) -> list[list[tuple]]:  # fmt: skip
    """The rows each (statement, parameters) step returns ([] for those
    returning none), the statements sent together in the connection's
    transaction. A failing statement raises, and PostgreSQL skips the ones
    after it. Statements are built once (module constants), so each is
    compiled once per process.

    `then_commit`: these statements end the transaction. On PostgreSQL the
    COMMIT travels with them (the caller's transaction block then finds
    nothing left to commit); elsewhere that block commits as it ends. Either
    way nothing may follow them in the transaction.
    """
    if conn.dialect.name != "postgresql":
        return [_rows(conn.execute(statement, params)) for statement, params in steps]
    compiled = [(_compiled(statement, conn.dialect), params) for statement, params in steps]
    if then_commit:
        compiled.append((_compiled(_COMMIT, conn.dialect), {}))
    driver = conn.connection.driver_connection
    with driver_errors(conn, "; ".join(c.string for c, _ in compiled)):
        cursors = [driver.cursor() for _ in compiled]
        try:
            with driver.pipeline():
                for cursor, (statement, params) in zip(cursors, compiled):
                    cursor.execute(statement.string, statement.construct_params(params) or None)
            return [cursor.fetchall() if cursor.description else [] for cursor in cursors]
        finally:
            for cursor in cursors:
                cursor.close()


_COMMIT = text("COMMIT")
_COMPILED: dict[tuple[int, str], Compiled] = {}


def _compiled(statement: Executable, dialect) -> Compiled:
    key = (id(statement), dialect.name)
    found = _COMPILED.get(key)
    if found is None or found.statement is not statement:
        found = _COMPILED[key] = statement.compile(dialect=dialect)
    return found


def _rows(result) -> list[tuple]:
    return [tuple(row) for row in result] if result.returns_rows else []


@contextmanager
def driver_errors(conn: Connection, statement: str) -> Iterator[None]:
    """Work done on the driver's own connection (pipelines, COPY) raises
    what SQLAlchemy would have raised for it; a lost connection is
    invalidated, so the pool does not hand it out again."""
    dbapi = conn.dialect.loaded_dbapi
    try:
        yield
    except dbapi.Error as error:
        lost = conn.dialect.is_disconnect(error, conn.connection.dbapi_connection, None)
        if lost:
            conn.invalidate(error)
        raise DBAPIError.instance(
            statement, None, error, dbapi.Error, connection_invalidated=lost, dialect=conn.dialect
        ) from error
