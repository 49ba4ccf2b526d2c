"""The first questions asked of fresh data, as plain SQL over the tables."""

from __future__ import annotations

from sqlalchemy import Engine, text

QUERIES = (
    (
        "Objects by status",
        "SELECT kind, status, COUNT(*) AS objects, SUM(rows_loaded) AS rows_loaded, "
        "SUM(rows_rejected) AS rows_rejected FROM source_objects GROUP BY kind, status "
        "ORDER BY kind, status",
    ),
    (
        "Requests per distribution",
        "SELECT COALESCE(distribution_id, cs_host) AS distribution, COUNT(*) AS requests, "
        "MIN(ts) AS first_seen, MAX(ts) AS last_seen FROM cloudfront_requests "
        "GROUP BY 1 ORDER BY requests DESC LIMIT 10",
    ),
    (
        "Top clients",
        "SELECT c_ip, COUNT(*) AS requests, COUNT(DISTINCT cs_uri_stem) AS paths "
        "FROM cloudfront_requests GROUP BY c_ip ORDER BY requests DESC, c_ip LIMIT 10",
    ),
    (
        "Top paths",
        "SELECT cs_uri_stem, COUNT(*) AS requests FROM cloudfront_requests "
        "GROUP BY cs_uri_stem ORDER BY requests DESC, cs_uri_stem LIMIT 10",
    ),
    (
        "Status codes",
        "SELECT sc_status, COUNT(*) AS requests FROM cloudfront_requests "
        "GROUP BY sc_status ORDER BY sc_status",
    ),
    (
        "Connections by state",
        "SELECT proto, conn_state, COUNT(*) AS connections, SUM(orig_bytes) AS orig_bytes, "
        "SUM(resp_bytes) AS resp_bytes FROM connections GROUP BY proto, conn_state "
        "ORDER BY connections DESC LIMIT 12",
    ),
    (
        "Top DNS queries",
        "SELECT query, qtype_name, COUNT(*) AS queries FROM dns_queries "
        "GROUP BY query, qtype_name ORDER BY queries DESC, query LIMIT 10",
    ),
    (
        "Files over HTTP that are neither text nor images",
        "SELECT mime_type, size, entropy, md5, host, COUNT(*) AS times FROM extracted_files "
        "WHERE mime_type NOT LIKE 'text/%' AND mime_type NOT LIKE 'image/%' "
        "GROUP BY mime_type, size, entropy, md5, host ORDER BY entropy DESC LIMIT 10",
    ),
    (
        "Requests by kind of client (after `netsift alerts`)",
        # Human as in migration 0007: no bot user agent, a client that never probed and has no alert.
        "SELECT 'cloudfront' AS source, "
        "CASE WHEN is_human THEN 'human' ELSE COALESCE(bot_category, 'undeclared-bot') END AS client, "
        "SUM(CASE WHEN is_probe THEN 1 ELSE 0 END) AS probes, COUNT(*) AS requests "
        "FROM cloudfront_requests_classified GROUP BY 2 "
        "UNION ALL SELECT 'pcap', CASE WHEN is_human THEN 'human' ELSE COALESCE(bot_category, 'undeclared-bot') END, "
        "SUM(CASE WHEN is_probe THEN 1 ELSE 0 END), COUNT(*) "
        "FROM http_requests_classified GROUP BY 2 ORDER BY 1, 4 DESC",
    ),
    (
        "Alerts",
        "SELECT rule, severity, source, client_ip, hits, distinct_paths, last_seen "
        "FROM alerts ORDER BY last_seen DESC LIMIT 10",
    ),
    (
        "Top user agents",
        "SELECT cs_user_agent, COUNT(*) AS requests FROM cloudfront_requests "
        "GROUP BY cs_user_agent ORDER BY requests DESC, cs_user_agent LIMIT 10",
    ),
)


def overview(engine: Engine):
    """(title, column names, rows) for each question."""
    with engine.connect() as conn:
        for title, sql in QUERIES:
            result = conn.execute(text(sql))
            yield title, list(result.keys()), result.all()
