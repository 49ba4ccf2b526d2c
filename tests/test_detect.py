"""Exact alerts for exact inputs, on both databases; reruns update, never duplicate."""

from __future__ import annotations

import json

from sqlalchemy import text

from netsift.db import engine_for
from netsift.settings import Settings
from netsift.cloudfront.load import load_object
from netsift.detection.alerts import detect
from netsift.detection.ruleset import load_rules
from netsift.ingest.sources import Window, list_local
from tests.cloudfront_lines import line, log_text

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0"
PROBER = "203.0.113.66"


def requests(*specs):
    """(ip, time, path, status, agent) -> CloudFront lines."""
    return [
        line(c_ip=ip, time=t, cs_uri_stem=path, sc_status=str(status), cs_user_agent=agent.replace(" ", "%20"))
        for ip, t, path, status, agent in specs
    ]


def load(db, tmp_path, name, *lines):
    (tmp_path / name).write_text(log_text(*lines))
    engine = engine_for(db)
    for obj in list_local(tmp_path / name, Window.of()):
        load_object(engine, obj, Settings(database_url=db))


def query(db, sql):
    with engine_for(db).connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql))]


def test_exact_alerts_and_idempotent_reruns(db, tmp_path):
    load(db, tmp_path, "a.log", *requests(
        (PROBER, "12:00:01", "/wp-login.php", 404, "python-requests/2.31.0"),
        (PROBER, "12:00:02", "/xmlrpc.php", 404, "python-requests/2.31.0"),
        (PROBER, "12:00:03", "/wp-config.php.bak", 200, "python-requests/2.31.0"),
        ("198.51.100.7", "12:01:00", "/wp-login.php", 404, "curl/8.5.0"),
        ("198.51.100.7", "12:01:01", "/wp-admin/", 404, "curl/8.5.0"),
        ("192.0.2.10", "12:02:00", "/", 200, FIREFOX),
        ("192.0.2.10", "12:02:01", "/blog/post.php", 200, FIREFOX),
        ("192.0.2.44", "12:03:00", "/index.php", 200, "sqlmap/1.8#stable (https://sqlmap.org)"),
    ))  # fmt: skip
    rules = load_rules()
    first = detect(engine_for(db), rules)
    got = sorted((a["rule"], a["client_ip"], a["severity"], a["hits"], a["distinct_paths"], a["status_codes"])
                 for a in first.new)  # fmt: skip
    assert got == [
        ("scanner", "192.0.2.44", "high", 1, 1, "200"),
        ("wordpress-probe", PROBER, "high", 3, 3, "200,404"),  # a 2xx on a probe raises medium to high
    ]
    evidence = next(a["evidence"] for a in first.new if a["rule"] == "wordpress-probe")
    assert evidence == {"paths": ["/wp-config.php.bak", "/wp-login.php", "/xmlrpc.php"],
                        "user_agents": ["python-requests/2.31.0"],
                        # A documentation address: in no network.
                        "country": None, "asn": None, "as_org": None}  # fmt: skip
    assert first.updated == []

    # A rerun over nothing new reads nothing: no object, no window evaluated.
    again = detect(engine_for(db), rules)
    assert (again.objects, again.new, again.updated, again.unchanged) == (0, [], [], 0)
    assert query(db, "SELECT COUNT(*) FROM alerts") == [(2,)]

    # The scan goes on in the same window: the same alert grows.
    load(db, tmp_path, "b.log", *requests((PROBER, "12:04:00", "/wp-includes/wlwmanifest.xml", 404, "python-requests/2.31.0")))
    third = detect(engine_for(db), rules)
    assert third.new == [] and [(a["rule"], a["hits"], a["distinct_paths"]) for a in third.updated] == [
        ("wordpress-probe", 4, 4)
    ]
    assert query(db, "SELECT COUNT(*) FROM alerts") == [(2,)]


def test_a_sites_own_pages_are_not_probes(db, tmp_path):
    # A WordPress site: people log in at /wp-login.php and get 200.
    load(db, tmp_path, "site.log", *requests(
        ("192.0.2.10", "12:00:00", "/wp-login.php", 200, FIREFOX),
        ("192.0.2.11", "12:00:05", "/wp-admin/", 200, FIREFOX),
        ("192.0.2.12", "12:00:09", "/xmlrpc.php", 200, FIREFOX),
        ("192.0.2.99", "12:01:00", "/wp-login.php", 200, "Go-http-client/1.1"),
        ("192.0.2.99", "12:01:01", "/wp-admin/", 200, "Go-http-client/1.1"),
        ("192.0.2.99", "12:01:02", "/xmlrpc.php", 200, "Go-http-client/1.1"),
        ("192.0.2.99", "12:01:03", "/.env", 404, "Go-http-client/1.1"),
    ))  # fmt: skip
    detect(engine_for(db), load_rules())
    rows = query(db, "SELECT cs_uri_stem, is_probe, probe_category, is_bot FROM cloudfront_requests_classified "
                     "WHERE c_ip = '192.0.2.99' ORDER BY line_number")  # fmt: skip
    assert [(p, bool(probe), cat, bool(bot)) for p, probe, cat, bot in rows] == [
        ("/wp-login.php", False, None, True), ("/wp-admin/", False, None, True),
        ("/xmlrpc.php", False, None, True), ("/.env", True, "config-leak", True),
    ]  # fmt: skip
    assert query(db, "SELECT rule FROM alerts") == []  # one config leak path is under the threshold of 2


def test_views_expose_every_request_column(db):
    with engine_for(db).connect() as conn:
        columns = list(conn.execute(text("SELECT * FROM http_requests_classified LIMIT 0")).keys())
    assert columns[-10:] == ["is_bot", "bot_category", "is_probe", "probe_category", "is_human",  # is_human: 0007
                             "client_country", "client_asn", "client_as_org", "crawler_claim",
                             "impersonated_crawler"]  # 0012
    assert "user_agent" in columns and "uri" in columns


def test_pcap_http_requests_are_classified_and_alerted(db, tmp_path):
    from bench.pcap_gen import PcapWriter, http_request, http_response
    from netsift.capture.load import load_capture

    with (tmp_path / "scan.pcap").open("wb") as sink:
        writer, ts = PcapWriter(sink), 1_700_000_000.0
        for port, path in enumerate(["/phpmyadmin/", "/pma/scripts/setup.php", "/vendor/phpunit/phpunit/src/Util/PHP/eval-stdin.php"]):
            ts = writer.http_session(ts + 1, "10.9.9.9", "10.0.0.80", 40000 + port,
                                     http_request(path, "victim.example", "Mozilla/5.0 zgrab/0.x"),
                                     http_response(b"nope"))  # fmt: skip
    for obj in list_local(tmp_path / "scan.pcap", Window.of()):
        load_capture(engine_for(db), obj, Settings(database_url=db))
    result = detect(engine_for(db), load_rules())
    got = sorted((a["rule"], a["source"], a["client_ip"], a["distinct_paths"]) for a in result.new)
    assert got == [("php-probe", "pcap", "10.9.9.9", 3), ("scanner", "pcap", "10.9.9.9", 3)]
    stored = query(db, "SELECT evidence FROM alerts WHERE rule = 'php-probe'")[0][0]
    stored = json.loads(stored) if isinstance(stored, str) else stored
    assert stored["user_agents"] == ["Mozilla/5.0 zgrab/0.x"]
