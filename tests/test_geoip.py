"""Offline address lookups and crawler networks: geoip2fast's bundled data,
a user's own MaxMind files (real .mmdb files written here), and which
operators' networks hold an address."""

from __future__ import annotations

import pytest
from netaddr import IPSet
from mmdb_writer import MMDBWriter

from netsift.detection.clients import client_network_row
from netsift.detection.crawlers import NetworksError, bundled_crawler_networks, load_crawler_networks
from netsift.detection.geoip import UNKNOWN, GeoLookup, Network, geo_lookup, public_address
from netsift.settings import Settings

GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


@pytest.fixture(scope="module")
def bundled():
    return geo_lookup(Settings(geoip2fast_file=None, geoip_country_mmdb=None, geoip_asn_mmdb=None))


def test_bundled_data_places_ipv4_and_ipv6_with_country_and_as_organisation(bundled):
    assert bundled.network("66.249.66.1") == Network("US", None, "GOOGLE")
    assert bundled.network("2001:4860:4801:10::1") == Network("US", None, "GOOGLE")
    assert bundled.network("176.9.0.1") == Network("DE", None, "Hetzner Online GmbH")
    assert bundled.version.startswith("geoip2fast:MAXMIND:GeoLite2-CountryASN-IPv4IPv6")


@pytest.mark.parametrize("text", ["10.1.2.3", "192.0.2.7", "203.0.113.50", "::1", "fe80::1", "", None,
                                  "not-an-address", "1.2.3.4' OR 1=1"])  # fmt: skip
def test_non_public_or_malformed_addresses_are_nobodys(bundled, text):
    assert public_address(text) is None
    assert bundled.network(text) == UNKNOWN


def test_lookups_are_cached_per_address(bundled):
    bundled.network.cache_clear()
    bundled.network("73.15.2.3"), bundled.network("73.15.2.3")
    assert bundled.network.cache_info().hits == 1


def _mmdb(path, database_type, networks):
    writer = MMDBWriter(ip_version=6, ipv4_compatible=True, database_type=database_type)
    for cidr, record in networks:
        writer.insert_network(IPSet([cidr]), record)
    writer.to_db_file(str(path))
    return path


def test_users_own_mmdb_files_replace_the_bundled_data(tmp_path):
    asn = _mmdb(tmp_path / "asn.mmdb", "GeoLite2-ASN", [
        ("66.249.64.0/19", {"autonomous_system_number": 15169, "autonomous_system_organization": "Google LLC"}),
        ("2a01:4f8::/32", {"autonomous_system_number": 24940, "autonomous_system_organization": "Hetzner Online GmbH"}),
    ])  # fmt: skip
    country = _mmdb(tmp_path / "country.mmdb", "GeoLite2-Country", [
        ("66.249.64.0/19", {"country": {"iso_code": "ZZ"}}),
    ])  # fmt: skip
    both = GeoLookup(country_mmdb=country, asn_mmdb=asn)
    assert both.network("66.249.66.1") == Network("ZZ", 15169, "Google LLC")
    assert both.network("2a01:4f8::1") == Network(None, 24940, "Hetzner Online GmbH")
    assert "mmdb:GeoLite2-ASN:" in both.version and "geoip2fast" not in both.version
    # Only the ASN file: countries still come from the bundled data.
    asn_only = GeoLookup(asn_mmdb=asn)
    assert asn_only.network("66.249.66.1") == Network("US", 15169, "Google LLC")
    # A Google address by number, though the organisation is named differently.
    row = client_network_row("66.249.66.1", asn_only, bundled_crawler_networks(), "v")
    assert row["crawler_operators"] == ",google,"


def test_an_unreadable_mmdb_is_refused_naming_the_setting(tmp_path):
    bad = tmp_path / "bad.mmdb"
    bad.write_bytes(b"not a database")
    with pytest.raises(ValueError, match="NETSIFT_GEOIP_ASN_MMDB .*bad.mmdb"):
        GeoLookup(asn_mmdb=bad)
    with pytest.raises(ValueError, match="NETSIFT_GEOIP2FAST_FILE .*missing.dat.gz"):
        GeoLookup(geoip2fast_file=tmp_path / "missing.dat.gz")
    broken = tmp_path / "broken.dat.gz"
    broken.write_bytes(b"not gzip")
    with pytest.raises(ValueError, match="NETSIFT_GEOIP2FAST_FILE .*broken.dat.gz"):
        GeoLookup(geoip2fast_file=broken)


@pytest.mark.parametrize("agent, operator", [
    (GOOGLEBOT, "google"),
    ("Googlebot-Image/1.0", "google"),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "microsoft-bing"),
    ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; GPTBot/1.2; +https://openai.com/gptbot)", "openai"),
    ("Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; ClaudeBot/1.0; +claudebot@anthropic.com)", "anthropic"),
    ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "meta"),
    ("Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)", "yandex"),
    ("Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)", "baidu"),
    ("DuckDuckBot/1.1; (+http://duckduckgo.com/duckduckbot.html)", "duckduckgo"),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", None),
    ("curl/8.5.0", None),
    ("", None),
])  # fmt: skip
def test_claims(agent, operator):
    assert bundled_crawler_networks().claimed_operator(agent) == operator


@pytest.mark.parametrize("address, operators", [
    ("66.249.66.1", ",google,"),
    ("34.100.182.100", ",google,"),  # Google Cloud, in googlebot.json's ranges
    ("34.100.183.1", ","),  # Google Cloud, outside them: any customer's VM
    ("157.55.39.1", ",microsoft-bing,duckduckgo,openai,"),  # Azure hosts all three
    ("73.15.2.3", ","),
    ("10.1.2.3", None),
])  # fmt: skip
def test_operators_of_an_address(bundled, address, operators):
    assert client_network_row(address, bundled, bundled_crawler_networks(), "v")["crawler_operators"] == operators


@pytest.mark.parametrize("body, message", [
    ("operators:\n  - {id: Google, claims: x, asns: [1]}\n", "lowercase"),
    ("operators:\n  - {id: g, claims: '(', asns: [1]}\n", "'g': claims must be a regex"),
    ("operators:\n  - {id: g, claims: x}\n", "'g': lists no networks"),
    ("operators:\n  - {id: g, claims: x, asns: [-1]}\n", "'g': asns"),
    ("operators:\n  - {id: g, claims: x, ranges: {list: [1.2.3.0/24]}}\n", "'g': ranges need source"),
    ("operators:\n  - {id: g, claims: x, ranges: {source: u, as_of: d, list: [1.2.3.999/24]}}\n", "'g': bad range"),
    ("operators:\n  - {id: g, claims: x, asns: [1]}\n  - {id: g, claims: y, asns: [2]}\n", "used twice"),
])  # fmt: skip
def test_bad_networks_files_are_refused(tmp_path, body, message):
    path = tmp_path / "networks.yaml"
    path.write_text(body)
    with pytest.raises(NetworksError, match=message):
        load_crawler_networks(path)


def test_end_to_end_on_sqlite_views_and_alert_evidence(tmp_path):
    """CloudFront rows through the real load and detection: the classified
    view carries each client's network, and the alert names it."""
    import json

    from sqlalchemy import text

    from netsift.cloudfront.load import load_object
    from netsift.db import engine_for, upgrade
    from netsift.detection.alerts import detect
    from netsift.detection.ruleset import bundled_rules
    from netsift.ingest.sources import Window, list_local
    from tests.cloudfront_lines import line, log_text

    url = f"sqlite:///{tmp_path / 'e2e.db'}"
    upgrade(url)
    logs = tmp_path / "logs"
    logs.mkdir()
    agent = GOOGLEBOT.replace(" ", "%20")
    (logs / "a.log").write_text(log_text(
        line(time="12:00:00", c_ip="66.249.66.1", cs_user_agent=agent),
        line(time="12:00:05", c_ip="176.9.0.1", cs_user_agent=agent),
        line(time="12:00:09", c_ip="176.9.0.1", cs_uri_stem="/about/"),
    ))  # fmt: skip
    engine = engine_for(url)
    try:
        for obj in list_local(logs, Window.of()):
            load_object(engine, obj, Settings(database_url=url))
        result = detect(engine, bundled_rules())
        with engine.connect() as conn:
            rows = conn.execute(text(
                "SELECT c_ip, client_country, client_asn, client_as_org, crawler_claim, impersonated_crawler "
                "FROM cloudfront_requests_classified ORDER BY ts")).all()  # fmt: skip
            alerts = conn.execute(text("SELECT rule, severity, client_ip, evidence FROM alerts")).all()
    finally:
        engine.dispose()
    assert result.new_clients == 2
    assert [tuple(r) for r in rows] == [
        ("66.249.66.1", "US", None, "GOOGLE", "google", 0),
        ("176.9.0.1", "DE", None, "Hetzner Online GmbH", "google", 1),
        ("176.9.0.1", "DE", None, "Hetzner Online GmbH", None, 0),
    ]
    assert [(a.rule, a.severity, a.client_ip) for a in alerts] == [("impersonated-crawler", "high", "176.9.0.1")]
    evidence = json.loads(alerts[0].evidence)
    assert (evidence["country"], evidence["asn"], evidence["as_org"]) == ("DE", None, "Hetzner Online GmbH")
    assert evidence["user_agents"] == [GOOGLEBOT]


def test_0013_downgrades_and_upgrades_again(tmp_path):
    from alembic import command
    from sqlalchemy import create_engine, inspect

    from netsift.db import alembic_config, upgrade

    url = f"sqlite:///{tmp_path / 'g.db'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "0012")
    engine = create_engine(url)
    columns = {c["name"] for c in inspect(engine).get_columns("cloudfront_requests_classified")}
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert "client_networks" not in tables and "is_human" in columns and "client_country" not in columns
    upgrade(url)
    engine = create_engine(url)
    columns = {c["name"] for c in inspect(engine).get_columns("http_requests_classified")}
    engine.dispose()
    assert {"client_country", "client_asn", "client_as_org", "crawler_claim", "impersonated_crawler"} <= columns


def test_capture_rows_behind_a_proxy_are_not_judged(tmp_path):
    """At an origin behind CloudFront, a real Googlebot arrives from AWS with
    X-Forwarded-For: not an impersonation; the same without the header is."""
    from datetime import datetime, timezone

    from sqlalchemy import insert, text

    from netsift.db import engine_for, upgrade
    from netsift.schema import client_networks, http_requests, source_objects, user_agent_verdicts

    url = f"sqlite:///{tmp_path / 'pcap.db'}"
    upgrade(url)
    engine = engine_for(url)
    try:
        with engine.begin() as conn:
            stamp = datetime(2024, 3, 1, tzinfo=timezone.utc)
            capture = conn.execute(insert(source_objects).values(
                uri="file:///x.pcap", kind="pcap", status="loaded", parser_version="t", first_seen_at=stamp,
                updated_at=stamp)).inserted_primary_key[0]  # fmt: skip
            conn.execute(insert(user_agent_verdicts), [{"user_agent": GOOGLEBOT, "is_bot": True,
                         "bot_category": "search-engine", "rules_version": "v", "crawler_claim": "google"}])  # fmt: skip
            conn.execute(insert(client_networks), [{"client_ip": "52.70.240.171", "country": "US",
                         "as_org": "AMAZON-AES", "crawler_operators": ",anthropic,perplexity,",
                         "lookup_version": "v"}])  # fmt: skip
            conn.execute(insert(http_requests), [
                {"source_object_id": capture, "ts": stamp, "uid": "a", "orig_h": "52.70.240.171", "user_agent": GOOGLEBOT,
                 "uri": "/", "x_forwarded_for": "66.249.66.1"},
                {"source_object_id": capture, "ts": stamp, "uid": "b", "orig_h": "52.70.240.171", "user_agent": GOOGLEBOT,
                 "uri": "/", "x_forwarded_for": None},
            ])  # fmt: skip
            rows = conn.execute(text("SELECT uid, client_as_org, impersonated_crawler "
                                     "FROM http_requests_classified ORDER BY uid")).all()  # fmt: skip
    finally:
        engine.dispose()
    assert [tuple(r) for r in rows] == [("a", "AMAZON-AES", 0), ("b", "AMAZON-AES", 1)]
