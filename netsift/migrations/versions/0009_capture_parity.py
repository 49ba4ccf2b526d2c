"""Capture parity: fuzzy hashes of extracted files and Community ID flow hashes.

- extracted_files.ssdeep: the context-triggered piecewise hash the workbench
  notebook stored, so near-identical payloads (repacked droppers) can be
  found by similarity, not only by exact hash.
- connections/dns_queries/http_requests.community_id: Community ID v1 of the
  connection's five-tuple ("1:<base64>"), indexed, so rows join with Zeek,
  Suricata and Elastic data about the same flow.

Plain ADD COLUMN, not a batch copy: on SQLite a batch copy breaks the views
that read these tables. PostgreSQL fixes a view's `r.*` when the view is
made, so the classified views (and the analyst views on them) are made again
as 0007 defines them, to show the new column. Rows loaded before this
migration keep NULL until their capture is reloaded.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

COMMUNITY_ID_COMMENT = "Community ID v1 of the connection (joins with Zeek, Suricata, Elastic)"
FLOW_TABLES = ("connections", "dns_queries", "http_requests")


def _views():
    """Revision 0007's view definitions (the ones in force at this revision)."""
    spec = importlib.util.spec_from_file_location("netsift_migration_0007",
                                                  Path(__file__).with_name("0007_human_traffic.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    views = _views()
    views._drop_all()
    op.add_column("extracted_files", sa.Column("ssdeep", sa.Text, comment="ssdeep fuzzy hash (libfuzzy)"))
    for table in FLOW_TABLES:
        op.add_column(table, sa.Column("community_id", sa.Text, comment=COMMUNITY_ID_COMMENT))
        op.create_index(f"ix_{table}_community_id", table, ["community_id"])
    views._create(views.CLASSIFIED_VIEW, views.ANALYST_VIEWS)


def downgrade() -> None:
    views = _views()
    views._drop_all()
    for table in FLOW_TABLES:
        op.drop_index(f"ix_{table}_community_id", table)
        op.execute(f"ALTER TABLE {table} DROP COLUMN community_id")  # SQLite has DROP COLUMN since 3.35
    op.execute("ALTER TABLE extracted_files DROP COLUMN ssdeep")
    views._create(views.CLASSIFIED_VIEW, views.ANALYST_VIEWS)
