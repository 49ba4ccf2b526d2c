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
