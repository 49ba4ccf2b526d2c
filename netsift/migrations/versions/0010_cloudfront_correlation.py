"""CloudFront <-> capture correlation.

CloudFront sends its x-edge-request-id to the origin as the `X-Amz-Cf-Id`
request header, so a capture at the origin holds the id its CloudFront log
line carries. http_requests keeps that header (`amz_cf_id`, indexed) and the
client's `X-Forwarded-For` beside it; the view `cloudfront_origin_exchanges`
joins each CloudFront request to the origin exchange it caused. Both headers
are whatever the sender wrote: text to match on, never trusted further.

Plain ADD COLUMN, as in 0009: a batch copy breaks SQLite's views, and the
classified views (`r.*`) are made again so PostgreSQL shows the new columns.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

AMZ_CF_ID_COMMENT = "X-Amz-Cf-Id request header: the CloudFront x_edge_request_id behind this request"
XFF_COMMENT = "X-Forwarded-For request header, as sent (not trusted)"

ORIGIN_EXCHANGES_VIEW = """
CREATE VIEW cloudfront_origin_exchanges AS
SELECT c.ts AS cf_ts, c.c_ip, c.cs_uri_stem, c.sc_status, c.x_edge_request_id,
       h.ts AS origin_ts, h.uid, h.community_id, h.orig_h, h.resp_h, h.uri,
       h.status_code, h.x_forwarded_for
FROM cloudfront_requests c
JOIN http_requests h ON h.amz_cf_id = c.x_edge_request_id
"""


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
    op.add_column("http_requests", sa.Column("amz_cf_id", sa.Text, comment=AMZ_CF_ID_COMMENT))
    op.add_column("http_requests", sa.Column("x_forwarded_for", sa.Text, comment=XFF_COMMENT))
    op.create_index("ix_http_requests_amz_cf_id", "http_requests", ["amz_cf_id"])
    views._create(views.CLASSIFIED_VIEW, views.ANALYST_VIEWS)
    op.execute(ORIGIN_EXCHANGES_VIEW)


def downgrade() -> None:
    views = _views()
    op.execute("DROP VIEW IF EXISTS cloudfront_origin_exchanges")
    views._drop_all()
    op.drop_index("ix_http_requests_amz_cf_id", "http_requests")
    op.execute("ALTER TABLE http_requests DROP COLUMN x_forwarded_for")  # SQLite has DROP COLUMN since 3.35
    op.execute("ALTER TABLE http_requests DROP COLUMN amz_cf_id")
    views._create(views.CLASSIFIED_VIEW, views.ANALYST_VIEWS)
