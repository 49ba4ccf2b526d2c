"""Incremental detection: which objects detection has seen, and an outbox
column for alert events.

- detected_objects: one row per source object whose rows detection has
  classified and alerted on, with the object's loaded_at at that time (a
  reloaded object is seen again) and the rules version (new rules: a full
  recompute). Written in the same transaction as the alerts.
- alerts.notified_at: set only after the alert's event is emitted; the next
  run sends whatever was left unsent. Alerts that exist at this migration
  were notified when they were created.
- source_objects.loaded_at is indexed: each run looks for objects loaded
  since the newest one it has seen.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "detected_objects",
        sa.Column("source_object_id", Id, sa.ForeignKey("source_objects.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("loaded_at", Timestamp, nullable=False, comment="the object's loaded_at when detection saw it"),
        sa.Column("rules_version", sa.Text, nullable=False),
        sa.Column("detected_at", Timestamp, nullable=False),
    )
    op.create_index("ix_source_objects_loaded_at", "source_objects", ["loaded_at"])
    # A plain ADD COLUMN, not a batch copy of the table: on SQLite a batch
    # copy breaks the views that read alerts.
    op.add_column("alerts", sa.Column("notified_at", Timestamp,
                                      comment="when its event was emitted; NULL: not yet (the outbox)"))
    op.execute("UPDATE alerts SET notified_at = created_at")
    op.create_index("ix_alerts_unnotified", "alerts", ["id"], postgresql_where=sa.text("notified_at IS NULL"),
                    sqlite_where=sa.text("notified_at IS NULL"))


def downgrade() -> None:
    op.drop_index("ix_alerts_unnotified", "alerts")
    op.execute("ALTER TABLE alerts DROP COLUMN notified_at")  # SQLite has DROP COLUMN since 3.35
    op.drop_index("ix_source_objects_loaded_at", "source_objects")
    op.drop_table("detected_objects")
