"""source_objects, rejected_records and cloudfront_requests.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "source_objects",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("uri", sa.Text, nullable=False),
        sa.Column("kind", sa.Text, nullable=False, comment="cloudfront | pcap"),
        sa.Column("etag", sa.Text, comment="S3 ETag, or sha256 of a local file's bytes"),
        sa.Column("size_bytes", sa.BigInteger),
        sa.Column("last_modified", Timestamp),
        sa.Column("status", sa.Text, nullable=False, comment="loaded | partial | failed"),
        sa.Column("rows_loaded", sa.BigInteger, nullable=False),
        sa.Column("rows_rejected", sa.BigInteger, nullable=False),
        sa.Column("error", sa.Text),
        sa.Column("parser_version", sa.Text, nullable=False),
        sa.Column("first_seen_at", Timestamp, nullable=False),
        sa.Column("loaded_at", Timestamp),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_source_objects"),
        sa.UniqueConstraint("uri", name="uq_source_objects_uri"),
    )
    op.create_table(
        "rejected_records",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("source_object_id", Id, nullable=False),
        sa.Column("line_number", sa.BigInteger, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("raw_line", sa.Text, comment="cut to a bounded length"),
        sa.PrimaryKeyConstraint("id", name="pk_rejected_records"),
        sa.ForeignKeyConstraint(
            ["source_object_id"],
            ["source_objects.id"],
            name="fk_rejected_records_source_object_id_source_objects",
            ondelete="CASCADE",
        ),
    )
    op.create_index(
        "ix_rejected_records_source_object_id", "rejected_records", ["source_object_id"]
    )
    op.create_table(
        "cloudfront_requests",
        sa.Column("source_object_id", Id, nullable=False),
        sa.Column(
            "line_number", sa.BigInteger, nullable=False, comment="1-based line in the object"
        ),
        sa.Column("ts", Timestamp, nullable=False, comment="date + time, UTC"),
        sa.Column("distribution_id", sa.Text),
        sa.Column("x_edge_location", sa.Text),
        sa.Column("sc_bytes", sa.BigInteger),
        sa.Column("c_ip", sa.Text),
        sa.Column("cs_method", sa.Text),
        sa.Column("cs_host", sa.Text),
        sa.Column("cs_uri_stem", sa.Text),
        sa.Column("sc_status", sa.Integer),
        sa.Column("cs_referer", sa.Text),
        sa.Column("cs_user_agent", sa.Text),
        sa.Column("cs_uri_query", sa.Text),
        sa.Column("cs_cookie", sa.Text),
        sa.Column("x_edge_result_type", sa.Text),
        sa.Column("x_edge_request_id", sa.Text),
        sa.Column("x_host_header", sa.Text),
        sa.Column("cs_protocol", sa.Text),
        sa.Column("cs_bytes", sa.BigInteger),
        sa.Column("time_taken", sa.Float),
        sa.Column("x_forwarded_for", sa.Text),
        sa.Column("ssl_protocol", sa.Text),
        sa.Column("ssl_cipher", sa.Text),
        sa.Column("x_edge_response_result_type", sa.Text),
        sa.Column("cs_protocol_version", sa.Text),
        sa.Column("fle_status", sa.Text),
        sa.Column("fle_encrypted_fields", sa.Integer),
        sa.Column("c_port", sa.Integer),
        sa.Column("time_to_first_byte", sa.Float),
        sa.Column("x_edge_detailed_result_type", sa.Text),
        sa.Column("sc_content_type", sa.Text),
        sa.Column("sc_content_len", sa.BigInteger),
        sa.Column("sc_range_start", sa.BigInteger),
        sa.Column("sc_range_end", sa.BigInteger),
        sa.PrimaryKeyConstraint("source_object_id", "line_number", name="pk_cloudfront_requests"),
        sa.ForeignKeyConstraint(
            ["source_object_id"],
            ["source_objects.id"],
            name="fk_cloudfront_requests_source_object_id_source_objects",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_cloudfront_requests_ts", "cloudfront_requests", ["ts"])
    op.create_index(
        "ix_cloudfront_requests_x_edge_request_id", "cloudfront_requests", ["x_edge_request_id"]
    )


def downgrade() -> None:
    op.drop_table("cloudfront_requests")
    op.drop_table("rejected_records")
    op.drop_table("source_objects")
