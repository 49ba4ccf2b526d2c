"""What we found: the short answer after a run, for `netsift findings` and
the end of `make demo`. Plain SQL over the alerts, the classified views and
the extracted files; each section is (title, columns, rows)."""

from __future__ import annotations

from sqlalchemy import Engine, text

SEVERITY_ORDER = "CASE severity WHEN 'critical' THEN 0 WHEN 'high' THEN 1 WHEN 'medium' THEN 2 ELSE 3 END"
# What libmagic and the MIME sniffers call programs: Windows PE, ELF, Mach-O, MSI.
EXECUTABLE = ("mime_type IN ('application/x-dosexec', 'application/x-msdownload', 'application/x-executable', "
              "'application/vnd.microsoft.portable-executable', 'application/x-mach-binary', "
              "'application/x-msi', 'application/x-sharedlib') "
              "OR file_type LIKE 'PE32%' OR file_type LIKE 'ELF %' OR file_type LIKE 'Mach-O%'")  # fmt: skip

SECTIONS = (
    (
        "Alerts",
        f"SELECT severity, rule, source, client_ip, hits, distinct_paths, first_seen FROM alerts "
        f"ORDER BY {SEVERITY_ORDER}, first_seen, client_ip LIMIT 20",
    ),
    (
        "Top probing clients",
        "SELECT client, source, probes, probe_paths FROM ("
        "SELECT c_ip AS client, 'cloudfront' AS source, COUNT(*) AS probes, COUNT(DISTINCT cs_uri_stem) AS probe_paths "
        "FROM cloudfront_requests_classified WHERE is_probe AND c_ip IS NOT NULL GROUP BY c_ip "
        "UNION ALL SELECT orig_h, 'pcap', COUNT(*), COUNT(DISTINCT uri) FROM http_requests_classified "
        "WHERE is_probe AND orig_h IS NOT NULL GROUP BY orig_h) probing "
        "ORDER BY probe_paths DESC, probes DESC, client LIMIT 5",
    ),
    (
        "Bot share",
        "SELECT source, requests, bots, probes, ROUND(100.0 * bots / requests, 1) AS bot_percent FROM ("
        "SELECT 'cloudfront' AS source, COUNT(*) AS requests, SUM(CASE WHEN is_bot THEN 1 ELSE 0 END) AS bots, "
        "SUM(CASE WHEN is_probe THEN 1 ELSE 0 END) AS probes FROM cloudfront_requests_classified "
        "UNION ALL SELECT 'pcap', COUNT(*), SUM(CASE WHEN is_bot THEN 1 ELSE 0 END), "
        "SUM(CASE WHEN is_probe THEN 1 ELSE 0 END) FROM http_requests_classified) shares WHERE requests > 0",
    ),
    (
        "Executables carried over HTTP",
        f"SELECT host, uri, size, file_type, sha256 FROM extracted_files WHERE {EXECUTABLE} "
        f"ORDER BY ts, sha256 LIMIT 20",
    ),
)


def findings(engine: Engine) -> list[tuple[str, list[str], list[tuple]]]:
    out = []
    with engine.connect() as conn:
        for title, sql in SECTIONS:
            result = conn.execute(text(sql))
            out.append((title, list(result.keys()), [tuple(row) for row in result]))
    return out
