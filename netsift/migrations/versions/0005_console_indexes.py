"""Console: an index for "largest responses first" on cloudfront_requests.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # PostgreSQL serves the console's DESC NULLS LAST only from an index built
    # that way; SQLite has no NULLS LAST in index definitions.
    nulls = " NULLS LAST" if op.get_bind().dialect.name == "postgresql" else ""
    op.execute(f"CREATE INDEX ix_cloudfront_requests_sc_bytes ON cloudfront_requests (sc_bytes DESC{nulls})")


def downgrade() -> None:
    op.drop_index("ix_cloudfront_requests_sc_bytes", "cloudfront_requests")
