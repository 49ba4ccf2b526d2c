"""Capture tables partitioned by day on PostgreSQL, as cloudfront_requests is (0011).

A prune (`netsift prune`) then drops whole days of connections, dns_queries,
http_requests and extracted_files instead of deleting rows.

- RANGE (ts), one partition per UTC day, named <table>_pYYYYMMDD, made for
  the days present here and afterwards by the capture loader as it meets new
  days (netsift/partitions.py). No DEFAULT partition.
- extracted_files.ts was NULL for a body whose request the capture missed:
  a partition key cannot be NULL (it is in the primary key), and such rows
  were never pruned. The loader now gives them their connection's start;
  rows already stored get the same (the connection's `ts`, else the
  capture's first packet, else when the object was first seen) and the
  column becomes NOT NULL on both databases. A downgrade makes it nullable
  again; the times filled in stay.
- Primary keys gain `ts`, as PostgreSQL wants the partition key in every
  unique constraint: connections (source_object_id, uid, ts), the others
  (id, ts). A connection has one start and an id one row, so each key names
  the same rows as before. No foreign key points to these tables; theirs
  to source_objects, their indexes (now partitioned), comments, defaults and
  the id sequences carry over, as 0011's helpers rebuild them.
- Views reading them (http_requests_classified, the analyst views on it,
  cloudfront_origin_exchanges) are dropped and made again from their own
  definitions as they stand, as 0011 does.

On SQLite only the extracted_files change applies (a batch copy: no view
reads that table).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-03
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

# Each table and its primary key, without and with the partition column.
KEYS = {
    "connections": "source_object_id, uid",
    "dns_queries": "id",
    "http_requests": "id",
    "extracted_files": "id",
}

FILL_FILE_TIMES = """
UPDATE extracted_files SET ts = COALESCE(
    (SELECT c.ts FROM connections c
     WHERE c.source_object_id = extracted_files.source_object_id AND c.uid = extracted_files.uid),
    (SELECT p.first_ts FROM pcap_files p WHERE p.source_object_id = extracted_files.source_object_id),
    (SELECT o.first_seen_at FROM source_objects o WHERE o.id = extracted_files.source_object_id))
WHERE ts IS NULL
"""


def _helpers():
    """Revision 0011's table rebuild and view handling."""
    spec = importlib.util.spec_from_file_location("netsift_migration_0011",
                                                  Path(__file__).with_name("0011_cloudfront_partitions.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _file_times(nullable: bool) -> None:
    with op.batch_alter_table("extracted_files") as batch:
        batch.alter_column("ts", existing_type=sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    conn = op.get_bind()
    op.execute(FILL_FILE_TIMES)
    _file_times(nullable=False)
    if conn.dialect.name != "postgresql":
        return
    helpers = _helpers()
    views = helpers._views(conn, tuple(KEYS))
    helpers._drop_views(views)
    for table, key in KEYS.items():
        helpers._rebuild(conn, table, f"{key}, ts", "ts")
    helpers._create_views(views)


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "postgresql":
        helpers = _helpers()
        views = helpers._views(conn, tuple(KEYS))
        helpers._drop_views(views)
        for table, key in KEYS.items():
            helpers._rebuild(conn, table, key, None)
        helpers._create_views(views)
    _file_times(nullable=True)
