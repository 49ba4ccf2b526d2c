"""Detection: user_agent_verdicts, path_verdicts, alerts, and the two classified views.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 00:22:07.774886
"""

from alembic import op
import sqlalchemy as sa

# A request is a probe when its path is a strong probe, or a weak one the site
# never served with a 2xx to ordinary visitors. Not yet classified: not a bot,
# not a probe (detection classifies new values at the start of every run).
CLASSIFIED_VIEW = """
CREATE VIEW {view} AS
SELECT r.*,
       COALESCE(u.is_bot, FALSE) AS is_bot,
       u.bot_category AS bot_category,
       COALESCE(p.is_probe AND (p.strength = 'strong' OR NOT p.human_2xx), FALSE) AS is_probe,
       CASE WHEN p.is_probe AND (p.strength = 'strong' OR NOT p.human_2xx)
            THEN p.probe_category END AS probe_category
FROM {table} r
LEFT JOIN user_agent_verdicts u ON u.user_agent = COALESCE(r.{agent}, '')
LEFT JOIN path_verdicts p ON p.path = r.{path}
"""
VIEWS = (
    ("cloudfront_requests_classified", "cloudfront_requests", "cs_user_agent", "cs_uri_stem"),
    ("http_requests_classified", "http_requests", "user_agent", "uri"),
)


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("alerts",
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('rule', sa.Text(), nullable=False),
    sa.Column('severity', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False, comment='cloudfront | pcap'),
    sa.Column('client_ip', sa.Text(), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('first_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen', sa.DateTime(timezone=True), nullable=False),
    sa.Column('hits', sa.BigInteger(), nullable=False),
    sa.Column('distinct_paths', sa.BigInteger(), nullable=False),
    sa.Column('status_codes', sa.Text(), nullable=True, comment='distinct status codes, ascending, comma-separated'),
    sa.Column('evidence', sa.JSON(), nullable=True, comment='sample paths and user agents'),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts')),
    sa.UniqueConstraint('rule', 'source', 'client_ip', 'window_start', name='uq_alerts_window')
    )
    op.create_index('ix_alerts_last_seen', 'alerts', ['last_seen'], unique=False)
    op.create_table('path_verdicts',
    sa.Column('path', sa.Text(), nullable=False, comment='cs_uri_stem or http_requests.uri, as stored'),
    sa.Column('is_probe', sa.Boolean(), nullable=False),
    sa.Column('probe_category', sa.Text(), nullable=True),
    sa.Column('strength', sa.Text(), nullable=True, comment='strong: a probe anywhere; weak: unless the site serves it'),
    sa.Column('rule_id', sa.Text(), nullable=True),
    sa.Column('human_2xx', sa.Boolean(), nullable=False, comment='ordinary (non-bot) visitors got a 2xx answer here'),
    sa.Column('rules_version', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('path', name=op.f('pk_path_verdicts'))
    )
    op.create_table('user_agent_verdicts',
    sa.Column('user_agent', sa.Text(), nullable=False),
    sa.Column('is_bot', sa.Boolean(), nullable=False),
    sa.Column('bot_category', sa.Text(), nullable=True),
    sa.Column('rule_id', sa.Text(), nullable=True),
    sa.Column('rules_version', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('user_agent', name=op.f('pk_user_agent_verdicts'))
    )
    op.create_index("ix_cloudfront_requests_cs_uri_stem", "cloudfront_requests", ["cs_uri_stem"])
    op.create_index("ix_cloudfront_requests_c_ip", "cloudfront_requests", ["c_ip"])
    for view, table, agent, path in VIEWS:
        op.execute(CLASSIFIED_VIEW.format(view=view, table=table, agent=agent, path=path))


def downgrade() -> None:
    for view, *_ in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {view}")
    op.drop_index("ix_cloudfront_requests_c_ip", "cloudfront_requests")
    op.drop_index("ix_cloudfront_requests_cs_uri_stem", "cloudfront_requests")
    op.drop_table("user_agent_verdicts")
    op.drop_table('path_verdicts')
    op.drop_index('ix_alerts_last_seen', table_name='alerts')
    op.drop_table('alerts')
