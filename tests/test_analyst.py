"""Analyst views and netsift.read, on both databases."""

from __future__ import annotations

import pytest

import netsift
from tests.cloudfront_lines import line, loaded_and_classified

FIREFOX = "Mozilla/5.0%20(X11;%20Linux%20x86_64;%20rv:125.0)%20Gecko/20100101%20Firefox/125.0"

@pytest.fixture
def traffic(db, tmp_path):
    rows = [
        line(c_ip="192.0.2.1", time="10:00:00", cs_uri_stem="/", cs_referer="https://news.example/", cs_user_agent=FIREFOX),
        line(c_ip="192.0.2.2", time="10:00:01", cs_uri_stem="/", cs_referer="https://news.example/", cs_user_agent=FIREFOX),
        line(c_ip="192.0.2.2", time="10:00:02", cs_uri_stem="/about", cs_user_agent=FIREFOX),
        line(c_ip="198.51.100.9", time="10:00:03", cs_uri_stem="/.env", sc_status="200", cs_user_agent="curl/8.5.0",
             cs_referer="https://spam.example/"),
        line(c_ip="198.51.100.9", time="10:00:04", cs_uri_stem="/.git/config", sc_status="404", cs_user_agent="curl/8.5.0"),
    ]  # fmt: skip
    loaded_and_classified(db, tmp_path, *rows)
    return db

def test_analyst_views_answer_the_first_questions(traffic):
    uris = netsift.read("uri_traffic", database_url=traffic).set_index("uri")
    assert (uris.loc["/", "requests"], uris.loc["/", "human_requests"], uris.loc["/", "clients"]) == (2, 2, 2)
    assert uris.loc["/.env", "probe_requests"] == 1
    share = netsift.read("bot_share_daily", database_url=traffic)
    assert sorted(zip(share["client_kind"], share["requests"])) == [("http-library", 2), ("human", 3)]
    assert {str(d)[:10] for d in share["day"]} == {"2024-03-01"}
    referrers = netsift.read("human_referrers", database_url=traffic)
    assert list(zip(referrers["referrer"], referrers["requests"])) == [("https://news.example/", 2)]
    probes = netsift.read("probes_by_client", database_url=traffic)
    assert list(zip(probes["source"], probes["client_ip"], probes["probe_category"], probes["distinct_paths"],
                    probes["answered_2xx"])) == [("cloudfront", "198.51.100.9", "config-leak", 2, 1)]  # fmt: skip

def test_read_filters_by_time_and_refuses_unknown_names(traffic):
    recent = netsift.read("cloudfront_requests", since="2024-03-01T10:00:03", database_url=traffic)
    assert list(recent["cs_uri_stem"]) == ["/.git/config", "/.env"]  # newest first
    alerts = netsift.read("alerts", database_url=traffic)
    assert list(alerts["rule"]) == ["config-leak-probe"] and alerts.loc[0, "severity"] == "critical"
    with pytest.raises(ValueError, match="no table or view 'cloudfront_requests; DROP TABLE alerts'"):
        netsift.read("cloudfront_requests; DROP TABLE alerts", database_url=traffic)
    assert len(netsift.read("alerts", database_url=traffic)) == 1


# A scanner that hides behind a browser-like user agent while probing.
SCANNER = "203.0.113.66"
SCANNER_AGENT = "Mozilla/5.0%20(compatible)"
SCANNER_PATHS = ["/wp-login.php", "/xmlrpc.php", "/.env", "/.git/config", "/wp-config.php.bak", "/phpinfo.php",
                 "/phpmyadmin/index.php", "/admin.php", "/backup.sql"]  # fmt: skip


@pytest.fixture
def scanned(db, tmp_path):
    rows = [
        line(c_ip="192.0.2.1", time="10:00:00", cs_uri_stem="/", cs_referer="https://news.example/", cs_user_agent=FIREFOX),
        # The scanner's first request is the home page, from a referrer: it is
        # not a probe, but its client probes, so it is not human either.
        line(c_ip=SCANNER, time="10:00:01", cs_uri_stem="/", cs_referer="https://scan.example/",
             cs_user_agent=SCANNER_AGENT),
        *(line(c_ip=SCANNER, time=f"10:01:{i:02d}", cs_uri_stem=path, sc_status="404", cs_user_agent=SCANNER_AGENT)
          for i, path in enumerate(SCANNER_PATHS)),
    ]  # fmt: skip
    loaded_and_classified(db, tmp_path, *rows)
    return db


def test_a_scanner_with_a_browser_like_agent_is_not_human_anywhere(scanned):
    requests = netsift.read("cloudfront_requests_classified", database_url=scanned)
    scanner = requests[requests["c_ip"] == SCANNER]
    # Its user agent alone does not give it away, and most of its paths are probes.
    assert not scanner["is_bot"].any() and scanner["is_probe"].sum() >= 5
    assert not scanner["is_human"].any()
    assert list(requests.loc[requests["c_ip"] == "192.0.2.1", "is_human"]) == [True]

    uris = netsift.read("uri_traffic", database_url=scanned).set_index("uri")
    assert (uris.loc["/", "requests"], uris.loc["/", "human_requests"], uris.loc["/", "bot_requests"]) == (2, 1, 1)
    assert uris["human_requests"].sum() == 1
    assert (uris["human_requests"] + uris["bot_requests"] == uris["requests"]).all()
    share = netsift.read("bot_share_daily", database_url=scanned)
    assert sorted(zip(share["client_kind"], share["requests"])) == [("human", 1), ("undeclared-bot", 10)]
    referrers = netsift.read("human_referrers", database_url=scanned)
    assert list(referrers["referrer"]) == ["https://news.example/"]
    probes = netsift.read("probes_by_client", database_url=scanned)
    assert set(probes["client_ip"]) == {SCANNER}


def test_a_client_with_an_alert_is_not_human(traffic):
    """curl probed /.env and raised an alert; its requests count as a bot's
    by user agent, and the views agree on the rest."""
    requests = netsift.read("cloudfront_requests_classified", database_url=traffic)
    assert dict(zip(requests["c_ip"], requests["is_human"])) == {
        "192.0.2.1": True, "192.0.2.2": True, "198.51.100.9": False}  # fmt: skip


def test_the_report_counts_the_masked_scanner_as_a_bot(scanned):
    from netsift.analyst.report import overview
    from netsift.db import engine_for

    kinds = next(rows for title, _, rows in overview(engine_for(scanned)) if title.startswith("Requests by kind"))
    assert {(source, client): requests for source, client, _, requests in kinds} == {
        ("cloudfront", "human"): 1, ("cloudfront", "undeclared-bot"): 10}  # fmt: skip
