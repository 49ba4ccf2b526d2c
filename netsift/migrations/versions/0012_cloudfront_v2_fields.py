"""Columns for the CloudFront standard logging (v2) fields analysts use.

`ts_ms` (the request's time to the millisecond), `c_country` and `asn`
(CloudFront's own geolocation of the viewer), `cache_behavior_path_pattern`,
`origin_fbl` and `origin_lbl` (origin latency). Legacy logs leave them NULL.

Plain ADD COLUMN, as in 0009 and 0010: a batch copy breaks SQLite's views,
and the classified views (`r.*`) are made again so PostgreSQL shows the new
columns.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-03
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# Frozen here: a later change to schema.py must not change this revision.
COLUMNS = (
    ("ts_ms", sa.DateTime(timezone=True), "request time to the millisecond (v2 timestamp(ms) or timestamp), UTC"),
    ("c_country", sa.Text, "viewer country, ISO 3166-1 alpha-2, by CloudFront's own lookup (v2 c-country)"),
    ("asn", sa.BigInteger, "viewer's autonomous system number, by CloudFront's own lookup (v2 asn)"),
    ("cache_behavior_path_pattern", sa.Text, "the cache behavior that served the request (v2)"),
    ("origin_fbl", sa.Float, "origin first-byte latency, seconds (v2 origin-fbl)"),
    ("origin_lbl", sa.Float, "origin last-byte latency, seconds (v2 origin-lbl)"),
)


def _module(name: str, file: str):
    spec = importlib.util.spec_from_file_location(name, Path(__file__).with_name(file))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    views = _module("netsift_migration_0007", "0007_human_traffic.py")
    exchanges = _module("netsift_migration_0010", "0010_cloudfront_correlation.py")
    op.execute("DROP VIEW IF EXISTS cloudfront_origin_exchanges")
    views._drop_all()
    for name, type_, comment in COLUMNS:
        op.add_column("cloudfront_requests", sa.Column(name, type_, comment=comment))
    views._create(views.CLASSIFIED_VIEW, views.ANALYST_VIEWS)
    op.execute(exchanges.ORIGIN_EXCHANGES_VIEW)


def downgrade() -> None:
    views = _module("netsift_migration_0007", "0007_human_traffic.py")
    exchanges = _module("netsift_migration_0010", "0010_cloudfront_correlation.py")
    op.execute("DROP VIEW IF EXISTS cloudfront_origin_exchanges")
    views._drop_all()
    for name, _, _ in reversed(COLUMNS):
        op.execute(f"ALTER TABLE cloudfront_requests DROP COLUMN {name}")  # our names; SQLite >= 3.35
    views._create(views.CLASSIFIED_VIEW, views.ANALYST_VIEWS)
    op.execute(exchanges.ORIGIN_EXCHANGES_VIEW)
