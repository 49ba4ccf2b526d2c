"""CloudFront objects load once by content: source_objects.content_sha256.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02

The hash of an object's decompressed bytes, and a unique index over the
hashes of loaded objects: the lookup for a copy under another name is one
indexed query, and two runs racing on two copies cannot both commit their
rows (the second waits on the index, then sees the first's row).
Objects loaded before this revision keep NULL: their bytes are not read again.
"""

from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

LOADED = sa.text("status IN ('loaded', 'partial')")


def upgrade() -> None:
    op.add_column(
        "source_objects",
        sa.Column("content_sha256", sa.Text(), nullable=True, comment="sha256 of the decompressed bytes"),
    )
    op.create_index(
        "ix_source_objects_content_sha256",
        "source_objects",
        ["content_sha256"],
        unique=True,
        postgresql_where=LOADED,
        sqlite_where=LOADED,
    )


def downgrade() -> None:
    op.drop_index("ix_source_objects_content_sha256", "source_objects")
    with op.batch_alter_table("source_objects") as batch:
        batch.drop_column("content_sha256")
