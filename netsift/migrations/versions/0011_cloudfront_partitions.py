"""cloudfront_requests partitioned by day on PostgreSQL (SQLite: unchanged).

A prune (`netsift prune`) then drops whole days instead of deleting rows.

- RANGE (ts) with one partition per UTC day, named cloudfront_requests_pYYYYMMDD,
  made for the days present here and afterwards by the loader as it meets new
  days (netsift/partitions.py). `ts` is NOT NULL: no DEFAULT partition.
- The primary key becomes (source_object_id, line_number, ts): PostgreSQL wants
  the partition key in every unique constraint. A line still has one ts, so
  the key identifies the same rows as before.
- Columns, defaults, comments, indexes (now partitioned indexes, same names)
  and the foreign key to source_objects are rebuilt from what the table has at
  this revision, not from a list, so columns added by earlier revisions carry
  over. No foreign key points to cloudfront_requests (checked below).
- Views reading the table (directly or through other views) are dropped and
  made again from their own definitions: a PostgreSQL view follows the table
  it was made on, which is the old one after a rename.

The helpers take the table: 0014 partitions the capture tables with them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

TABLE = "cloudfront_requests"

DEPENDENT_VIEWS = """
WITH RECURSIVE deps(oid, depth) AS (
    SELECT DISTINCT r.ev_class, 1 FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
    WHERE d.refobjid IN (SELECT to_regclass(t) FROM unnest(CAST(:tables AS text[])) AS t) AND r.ev_class <> d.refobjid
  UNION ALL
    SELECT DISTINCT r.ev_class, deps.depth + 1 FROM deps
    JOIN pg_depend d ON d.refobjid = deps.oid JOIN pg_rewrite r ON r.oid = d.objid
    WHERE r.ev_class <> deps.oid AND deps.depth < 20
)
SELECT c.relname, max(depth) AS depth, pg_get_viewdef(c.oid) AS body,
       obj_description(c.oid, 'pg_class') AS comment
FROM deps JOIN pg_class c ON c.oid = deps.oid
WHERE c.relkind = 'v'
GROUP BY c.oid, c.relname ORDER BY depth, c.relname
"""


def _run(statement: str) -> None:
    """Through the driver, unparsed: view bodies hold `:` and `%` that a bind
    parameter parser would take for placeholders."""
    with op.get_bind().connection.dbapi_connection.cursor() as cursor:
        cursor.execute(statement)


def _partition_of(day, table: str = TABLE) -> str:
    """As netsift/partitions.py names them (kept here: a migration is frozen)."""
    from datetime import timedelta

    name = f"{table}_p{day:%Y%m%d}"
    low, high = f"{day:%Y-%m-%d} 00:00:00+00", f"{day + timedelta(days=1):%Y-%m-%d} 00:00:00+00"
    return f"CREATE TABLE \"{name}\" PARTITION OF \"{table}\" FOR VALUES FROM ('{low}') TO ('{high}')"


def _views(conn, tables=(TABLE,)) -> list:
    """The views reading any of `tables`, directly or through other views, the deepest last."""
    from sqlalchemy import text

    return conn.execute(text(DEPENDENT_VIEWS), {"tables": list(tables)}).all()


def _drop_views(views) -> None:
    for view in reversed(views):
        _run(f'DROP VIEW IF EXISTS "{view.relname}"')


def _create_views(views) -> None:
    for view in views:
        _run(f'CREATE VIEW "{view.relname}" AS {view.body}')
        if view.comment is not None:
            comment = view.comment.replace("'", "''")
            _run(f"COMMENT ON VIEW \"{view.relname}\" IS '{comment}'")


def _rebuild_parts(conn, table: str) -> tuple[list[str], list[str], str | None]:
    """Index definitions (less the key), foreign keys and the table comment of `table`."""
    from sqlalchemy import text

    indexes = conn.execute(text(
        "SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = to_regclass(:t) AND NOT i.indisprimary ORDER BY i.indexrelid"
    ), {"t": table}).scalars().all()  # fmt: skip
    fks = conn.execute(text(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = to_regclass(:t) AND contype = 'f' ORDER BY conname"
    ), {"t": table}).all()  # fmt: skip
    comment = conn.execute(text("SELECT obj_description(to_regclass(:t), 'pg_class')"), {"t": table}).scalar()
    referencing = conn.execute(text(
        "SELECT conrelid::regclass::text FROM pg_constraint WHERE confrelid = to_regclass(:t) AND contype = 'f'"
    ), {"t": table}).scalars().all()  # fmt: skip
    if referencing:
        raise RuntimeError(f"{table}: foreign keys from {', '.join(referencing)} point to it; drop them first")
    return [f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {body}' for name, body in fks], indexes, comment


def _owned_sequences(conn, table: str) -> list:
    """(sequence, column) for the serial columns of `table`: a sequence goes
    with the table that owns it, so the rebuilt table must take it over."""
    from sqlalchemy import text

    return conn.execute(text(
        "SELECT s.relname, a.attname FROM pg_depend d JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' "
        "JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid "
        "WHERE d.refobjid = to_regclass(:t) AND d.deptype = 'a' ORDER BY 1"
    ), {"t": table}).all()  # fmt: skip


def _rebuild(conn, table: str, key: str, partition_by: str | None) -> None:
    """`table` made again with its rows, partitioned by day of `partition_by`
    (or plain when None), under the primary key `key`. Its views must be
    dropped first (and made again after)."""
    from sqlalchemy import text

    old = f"{table}_old"
    fks, indexes, comment = _rebuild_parts(conn, table)
    sequences = _owned_sequences(conn, table)
    _run(f'ALTER TABLE "{table}" RENAME TO "{old}"')
    partitioning = f" PARTITION BY RANGE ({partition_by})" if partition_by else ""
    _run(
        f'CREATE TABLE "{table}" (LIKE "{old}" INCLUDING DEFAULTS INCLUDING COMMENTS INCLUDING STORAGE '
        f"INCLUDING CONSTRAINTS){partitioning}"
    )
    if partition_by:
        days = conn.execute(text(
            f"SELECT DISTINCT ({partition_by} AT TIME ZONE 'UTC')::date FROM \"{old}\" ORDER BY 1"
        )).scalars().all()  # fmt: skip
        for day in days:
            _run(_partition_of(day, table))
    _run(f'INSERT INTO "{table}" SELECT * FROM "{old}"')
    for sequence, column in sequences:
        _run(f'ALTER SEQUENCE "{sequence}" OWNED BY "{table}"."{column}"')
    _run(f'DROP TABLE "{old}"')  # its partitions, if any, go with it
    # On the new table: key, indexes, foreign keys, comment.
    _run(f'ALTER TABLE "{table}" ADD CONSTRAINT "pk_{table}" PRIMARY KEY ({key})')
    for definition in indexes:
        # Definitions as read before the rename, some ON ONLY (a partitioned table's): ON `table`.
        definition = definition.replace(" ON ONLY ", " ON ")
        before, _, after = definition.partition(" ON ")
        _, _, rest = after.partition(" USING ")
        _run(f'{before} ON "{table}" USING {rest}')
    for statement in fks:
        _run(statement)
    if comment is not None:
        escaped = comment.replace("'", "''")
        _run(f"COMMENT ON TABLE \"{table}\" IS '{escaped}'")


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    views = _views(conn)
    _drop_views(views)
    _rebuild(conn, TABLE, "source_object_id, line_number, ts", "ts")
    _create_views(views)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "postgresql":
        return
    views = _views(conn)
    _drop_views(views)
    _rebuild(conn, TABLE, "source_object_id, line_number", None)
    _create_views(views)
