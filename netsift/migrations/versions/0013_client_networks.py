"""Client networks and impersonated crawlers.

- client_networks: one row per distinct client address, its country, AS
  number and organisation from an offline database, and the crawler
  operators whose networks hold it (`,google,microsoft-bing,`; NULL when
  the address is not public). Filled by detection, like the verdicts.
- user_agent_verdicts.crawler_claim: the operator a user agent says it is.
- The classified views gain `client_country`, `client_asn`,
  `client_as_org` (named apart from any country or ASN a log itself
  carries, such as CloudFront v2's `c_country` and `asn`), `crawler_claim`
  and `impersonated_crawler`: a claim from a public address outside that
  operator's networks.

Later migrations that recreate the views must take CLASSIFIED_VIEW from
here (0007's `_views()` loader gives the older definition).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03
"""

import importlib.util
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

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
       ), FALSE) AS is_human,
       g.country AS client_country,
       g.asn AS client_asn,
       g.as_org AS client_as_org,
       u.crawler_claim AS crawler_claim,
       COALESCE(u.crawler_claim IS NOT NULL
                AND g.crawler_operators NOT LIKE '%,' || u.crawler_claim || ',%' AND {direct}, FALSE)
           AS impersonated_crawler
FROM {table} r
LEFT JOIN user_agent_verdicts u ON u.user_agent = COALESCE(r.{agent}, '')
LEFT JOIN path_verdicts p ON p.path = r.{path}
LEFT JOIN client_networks g ON g.client_ip = r.{client}
"""


# When the client address is the sender's. A capture at an origin behind a
# CDN or proxy sees the proxy's address (a real Googlebot through CloudFront
# arrives from AWS), with the sender named in X-Forwarded-For (untrusted):
# such capture rows are not judged.
DIRECT = {"cloudfront_requests_classified": "TRUE", "http_requests_classified": "r.x_forwarded_for IS NULL"}


def _views():
    """Revision 0007's definitions: its analyst views, and the classified
    view this revision replaces."""
    spec = importlib.util.spec_from_file_location("netsift_migration_0007",
                                                  Path(__file__).with_name("0007_human_traffic.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def upgrade() -> None:
    views = _views()
    views._drop_all()
    op.create_table(
        "client_networks",
        sa.Column("client_ip", sa.Text, primary_key=True, comment="c_ip or orig_h, as stored"),
        sa.Column("country", sa.Text, comment="ISO 3166 alpha-2, from the address database"),
        sa.Column("asn", sa.BigInteger, comment="autonomous system number (MaxMind ASN files only)"),
        sa.Column("as_org", sa.Text, comment="autonomous system organisation"),
        sa.Column("crawler_operators", sa.Text,
                  comment="',op1,op2,': crawler operators whose networks hold it; NULL: not a public address"),
        sa.Column("lookup_version", sa.Text, nullable=False, comment="address database and networks file used"),
    )
    # A plain ADD COLUMN (a batch copy breaks SQLite's views).
    op.add_column("user_agent_verdicts", sa.Column(
        "crawler_claim", sa.Text, comment="the crawler operator this user agent says it is (crawler_networks.yaml)"))
    for view, table, agent, path, client, source in views.CLASSIFIED:
        op.execute(CLASSIFIED_VIEW.format(view=view, table=table, agent=agent, path=path, client=client,
                                          source=source, probe=views.PROBE, direct=DIRECT[view]))  # fmt: skip
    for name, body in views.ANALYST_VIEWS.items():
        op.execute(f"CREATE VIEW {name} AS {body.replace('{day}', views._day())}")


def downgrade() -> None:
    views = _views()
    views._drop_all()
    op.execute("ALTER TABLE user_agent_verdicts DROP COLUMN crawler_claim")  # SQLite has DROP COLUMN since 3.35
    op.drop_table("client_networks")
    views._create(views.CLASSIFIED_VIEW, views.ANALYST_VIEWS)
