"""One notion of human traffic: `is_human` in the classified views, used by
the analyst views.

A scanner that sends a browser-like user agent (`Mozilla/5.0 (compatible)`)
is not a bot by its user agent, yet its probes were counted as people's
traffic. A request is human only when its user agent is not a bot's and its
client never probed (any request of that client is a probe) and has no
alert, from the same source. The suspect clients are one uncorrelated
subquery, which PostgreSQL hashes and SQLite materialises once per query.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# (view, table, user agent column, path column, client column, alerts source)
CLASSIFIED = (
    ("cloudfront_requests_classified", "cloudfront_requests", "cs_user_agent", "cs_uri_stem", "c_ip", "cloudfront"),
    ("http_requests_classified", "http_requests", "user_agent", "uri", "orig_h", "pcap"),
)
PROBE = "p.is_probe AND (p.strength = 'strong' OR NOT p.human_2xx)"

CLASSIFIED_VIEW = """
CREATE VIEW {view} AS
SELECT r.*,
       COALESCE(u.is_bot, FALSE) AS is_bot,
       u.bot_category AS bot_category,
       COALESCE({probe}, FALSE) AS is_probe,
       CASE WHEN {probe} THEN p.probe_category END AS probe_category,
       NOT COALESCE(u.is_bot, FALSE) AND NOT COALESCE(r.{client} IN (
           SELECT s.{client} FROM {table} s JOIN path_verdicts p ON p.path = s.{path}
           WHERE {probe} AND s.{client} IS NOT NULL
           UNION SELECT client_ip FROM alerts WHERE source = '{source}'
       ), FALSE) AS is_human
FROM {table} r
LEFT JOIN user_agent_verdicts u ON u.user_agent = COALESCE(r.{agent}, '')
LEFT JOIN path_verdicts p ON p.path = r.{path}
"""

# The 0003 definition, for downgrade.
OLD_CLASSIFIED_VIEW = """
CREATE VIEW {view} AS
SELECT r.*,
       COALESCE(u.is_bot, FALSE) AS is_bot,
       u.bot_category AS bot_category,
       COALESCE({probe}, FALSE) AS is_probe,
       CASE WHEN {probe} THEN p.probe_category END AS probe_category
FROM {table} r
LEFT JOIN user_agent_verdicts u ON u.user_agent = COALESCE(r.{agent}, '')
LEFT JOIN path_verdicts p ON p.path = r.{path}
"""

# The analyst views of 0004, with "human" read from is_human. bot_requests
# stays requests - human_requests: a client that hides behind a browser's
# user agent while probing is a bot that does not say so.
ANALYST_VIEWS = {
    "uri_traffic": """
        SELECT cs_uri_stem AS uri, COUNT(*) AS requests,
               SUM(CASE WHEN is_human THEN 1 ELSE 0 END) AS human_requests,
               SUM(CASE WHEN is_human THEN 0 ELSE 1 END) AS bot_requests,
               SUM(CASE WHEN is_probe THEN 1 ELSE 0 END) AS probe_requests,
               COUNT(DISTINCT c_ip) AS clients, SUM(sc_bytes) AS bytes_sent,
               MIN(ts) AS first_seen, MAX(ts) AS last_seen
        FROM cloudfront_requests_classified GROUP BY cs_uri_stem""",
    "bot_share_daily": """
        SELECT {day} AS day,
               CASE WHEN is_human THEN 'human' ELSE COALESCE(bot_category, 'undeclared-bot') END AS client_kind,
               COUNT(*) AS requests
        FROM cloudfront_requests_classified
        GROUP BY {day}, CASE WHEN is_human THEN 'human' ELSE COALESCE(bot_category, 'undeclared-bot') END""",
    "human_referrers": """
        SELECT cs_referer AS referrer, COUNT(*) AS requests, COUNT(DISTINCT c_ip) AS clients,
               MIN(ts) AS first_seen, MAX(ts) AS last_seen
        FROM cloudfront_requests_classified
        WHERE is_human AND cs_referer IS NOT NULL GROUP BY cs_referer""",
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


def _day() -> str:
    """The UTC day of a timestamp: SQLite keeps timestamps as UTC text."""
    if op.get_bind().dialect.name == "postgresql":
        return "CAST(ts AT TIME ZONE 'UTC' AS DATE)"
    return "date(ts)"


def _drop_all() -> None:
    # The analyst views read the classified ones: drop them first.
    for name in ANALYST_VIEWS:
        op.execute(f"DROP VIEW IF EXISTS {name}")
    for view, *_ in CLASSIFIED:
        op.execute(f"DROP VIEW IF EXISTS {view}")


def _create(classified: str, analyst: dict[str, str]) -> None:
    for view, table, agent, path, client, source in CLASSIFIED:
        op.execute(classified.format(view=view, table=table, agent=agent, path=path, client=client,
                                     source=source, probe=PROBE))  # fmt: skip
    for name, body in analyst.items():
        op.execute(f"CREATE VIEW {name} AS {body.replace('{day}', _day())}")


def upgrade() -> None:
    _drop_all()
    _create(CLASSIFIED_VIEW, ANALYST_VIEWS)


def downgrade() -> None:
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("analyst_views_0004", Path(__file__).with_name("0004_analyst_views.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    _drop_all()
    _create(OLD_CLASSIFIED_VIEW, module.VIEWS)
