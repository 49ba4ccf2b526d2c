"""Views for the questions analysts ask first.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

VIEWS = {
    # Every URI with its traffic, for "top" (ORDER BY requests DESC) and
    # "bottom" (ASC) questions alike.
    "uri_traffic": """
        SELECT cs_uri_stem AS uri, COUNT(*) AS requests,
               SUM(CASE WHEN is_bot THEN 0 ELSE 1 END) AS human_requests,
               SUM(CASE WHEN is_bot THEN 1 ELSE 0 END) AS bot_requests,
               SUM(CASE WHEN is_probe THEN 1 ELSE 0 END) AS probe_requests,
               COUNT(DISTINCT c_ip) AS clients, SUM(sc_bytes) AS bytes_sent,
               MIN(ts) AS first_seen, MAX(ts) AS last_seen
        FROM cloudfront_requests_classified GROUP BY cs_uri_stem""",
    # Share of requests by kind of client, per day.
    "bot_share_daily": """
        SELECT {day} AS day, COALESCE(bot_category, 'human') AS client_kind,
               COUNT(*) AS requests
        FROM cloudfront_requests_classified GROUP BY {day}, COALESCE(bot_category, 'human')""",
    # Where people (not bots) come from.
    "human_referrers": """
        SELECT cs_referer AS referrer, COUNT(*) AS requests, COUNT(DISTINCT c_ip) AS clients,
               MIN(ts) AS first_seen, MAX(ts) AS last_seen
        FROM cloudfront_requests_classified
        WHERE NOT is_bot AND cs_referer IS NOT NULL GROUP BY cs_referer""",
    # Who probes, for what, from both sources.
    "probes_by_client": """
        SELECT 'cloudfront' AS source, c_ip AS client_ip, probe_category, COUNT(*) AS requests,
               COUNT(DISTINCT cs_uri_stem) AS distinct_paths,
               SUM(CASE WHEN sc_status BETWEEN 200 AND 299 THEN 1 ELSE 0 END) AS answered_2xx,
               MIN(ts) AS first_seen, MAX(ts) AS last_seen
        FROM cloudfront_requests_classified WHERE is_probe GROUP BY c_ip, probe_category
        UNION ALL
        SELECT 'pcap', orig_h, probe_category, COUNT(*), COUNT(DISTINCT uri),
               SUM(CASE WHEN status_code BETWEEN 200 AND 299 THEN 1 ELSE 0 END),
               MIN(ts), MAX(ts)
        FROM http_requests_classified WHERE is_probe GROUP BY orig_h, probe_category""",
}


def upgrade() -> None:
    # The UTC day of a timestamp: SQLite keeps timestamps as UTC text.
    if op.get_bind().dialect.name == "postgresql":
        day = "CAST(ts AT TIME ZONE 'UTC' AS DATE)"
    else:
        day = "date(ts)"
    for name, body in VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {body.replace('{day}', day)}")


def downgrade() -> None:
    for name in VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {name}")
