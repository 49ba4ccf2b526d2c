"""The console's server side: grid filter and sort models become bound SQL,
on both databases, and nothing from the browser becomes SQL text."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import func, insert, select

from netsift.console.grid_query import FilterError, count_query, page_query
from netsift.console.tables import BROWSABLE, browsable
from netsift.db import engine_for
from netsift.partitions import prepare_days
from netsift.schema import alerts, dns_queries, source_objects
from tests.cloudfront_lines import line, loaded_and_classified

FIREFOX = "Mozilla/5.0%20(X11;%20Linux%20x86_64;%20rv:125.0)%20Gecko/20100101%20Firefox/125.0"
CF = "cloudfront_requests_classified"


@pytest.fixture
def traffic(db, tmp_path):
    rows = [
        line(c_ip="192.0.2.1", time="10:00:00", cs_uri_stem="/", sc_bytes="500", cs_user_agent=FIREFOX),
        line(c_ip="192.0.2.1", time="10:00:01", cs_uri_stem="/blog/swp-tips", sc_bytes="900", cs_user_agent=FIREFOX),
        line(c_ip="198.51.100.9", time="10:00:02", cs_uri_stem="/wp-login.php", sc_status="404", sc_bytes="300",
             cs_user_agent="python-requests/2.31"),
        line(c_ip="198.51.100.9", time="10:00:03", cs_uri_stem="/wp-admin/", sc_status="404", sc_bytes="700",
             cs_user_agent="python-requests/2.31"),
        line(c_ip="198.51.100.9", time="10:00:04", cs_uri_stem="/xmlrpc.php", sc_status="403", sc_bytes="100",
             cs_user_agent="python-requests/2.31"),
        line(c_ip="203.0.113.5", date="2024-03-02", time="09:00:00", cs_uri_stem="/100%25_off", sc_bytes="800",
             cs_user_agent=FIREFOX),
    ]  # fmt: skip
    engine = loaded_and_classified(db, tmp_path, *rows)
    return engine


def page(engine, table, filter_model=None, sort_model=None, start=0, end=100, columns=("cs_uri_stem",)):
    query = page_query(browsable(table), filter_model, sort_model, start, end, engine.dialect.name)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    return [tuple(row[c] for c in columns) if len(columns) > 1 else row[columns[0]] for row in rows]


def contains(value, column="cs_uri_stem", op="contains"):
    return {column: {"filterType": "text", "type": op, "filter": value}}


def test_text_filters_match_case_as_dash_datatable_does(traffic):
    wp = page(traffic, CF, contains("wp"), columns=("cs_uri_stem", "is_probe"))
    assert sorted(wp) == [("/blog/swp-tips", False), ("/wp-admin/", True), ("/wp-login.php", True)]
    assert page(traffic, CF, contains("WP")) == []
    assert sorted(page(traffic, CF, contains("icontains WP"))) == ["/blog/swp-tips", "/wp-admin/", "/wp-login.php"]
    assert page(traffic, CF, contains("= /")) == ["/"]
    assert "/" not in page(traffic, CF, contains("!= /"))
    assert sorted(page(traffic, CF, contains("/wp", op="startsWith"))) == ["/wp-admin/", "/wp-login.php"]
    assert sorted(page(traffic, CF, contains(".php", op="endsWith"))) == ["/wp-login.php", "/xmlrpc.php"]
    # Wildcards of LIKE and GLOB in the value are literal characters.
    for literal in ("%_", "0%", "*"):
        assert page(traffic, CF, contains(literal)) == (["/100%_off"] if literal != "*" else [])


def test_number_and_boolean_filters_and_their_combinations(traffic):
    over_400 = {"sc_status": {"filterType": "number", "type": "greaterThan", "filter": 400}}
    assert sorted(page(traffic, CF, over_400)) == ["/wp-admin/", "/wp-login.php", "/xmlrpc.php"]
    either = {"sc_status": {"filterType": "number", "operator": "OR", "conditions": [
        {"filterType": "number", "type": "equals", "filter": 403},
        {"filterType": "number", "type": "inRange", "filter": 800, "filterTo": 899},
    ]}}  # fmt: skip
    assert page(traffic, CF, either) == ["/xmlrpc.php"]
    # Typed in a number column's text box, as in Dash's DataTable.
    typed = {"sc_status": {"filterType": "text", "type": "contains", "filter": " > 400 "}}
    assert sorted(page(traffic, CF, typed)) == ["/wp-admin/", "/wp-login.php", "/xmlrpc.php"]
    not_404 = {"sc_status": {"filterType": "text", "type": "contains", "filter": "!= 404"}}
    assert page(traffic, CF, not_404, [{"colId": "sc_bytes", "sort": "asc"}]) == [
        "/xmlrpc.php", "/", "/100%_off", "/blog/swp-tips"]  # fmt: skip
    exactly = {"sc_bytes": {"filterType": "text", "type": "equals", "filter": "900"}}
    assert page(traffic, CF, exactly) == ["/blog/swp-tips"]
    digits = {"sc_bytes": {"filterType": "text", "type": "startsWith", "filter": "9"}}
    assert page(traffic, CF, digits) == ["/blog/swp-tips"]
    probes = {"is_probe": {"filterType": "text", "type": "equals", "filter": "true"},
              "probe_category": {"filterType": "text", "type": "equals", "filter": "wordpress"}}  # fmt: skip
    assert sorted(page(traffic, CF, probes)) == ["/wp-admin/", "/wp-login.php", "/xmlrpc.php"]
    humans = {"is_bot": {"filterType": "text", "type": "equals", "filter": "FALSE"}}
    assert sorted(page(traffic, CF, humans)) == ["/", "/100%_off", "/blog/swp-tips"]


def test_date_filters_name_whole_days_and_ranges_to_the_second(traffic):
    day = {"ts": {"filterType": "date", "type": "equals", "dateFrom": "2024-03-02 00:00:00"}}
    assert page(traffic, CF, day) == ["/100%_off"]
    span = {"ts": {"filterType": "date", "type": "inRange", "dateFrom": "2024-03-01 10:00:01",
                   "dateTo": "2024-03-01 10:00:03"}}  # fmt: skip
    assert page(traffic, CF, span, [{"colId": "ts", "sort": "asc"}]) == ["/blog/swp-tips", "/wp-login.php"]


def test_sort_and_pages_follow_one_total_order(traffic):
    by_bytes = [{"colId": "sc_bytes", "sort": "desc"}]
    everything = page(traffic, CF, None, by_bytes, columns=("sc_bytes", "cs_uri_stem"))
    assert [b for b, _ in everything] == [900, 800, 700, 500, 300, 100]
    pages = [page(traffic, CF, None, by_bytes, start, start + 2) for start in (0, 2, 4)]
    assert sum(pages, []) == [uri for _, uri in everything]
    # No sort asked: newest first.
    assert page(traffic, CF, None, None, 0, 1) == ["/100%_off"]


def test_counts_stop_at_their_cap(traffic):
    view = browsable(CF)
    with traffic.connect() as conn:
        assert conn.execute(count_query(view, None, traffic.dialect.name, 100)).scalar() == 6
        assert conn.execute(count_query(view, None, traffic.dialect.name, 4)).scalar() == 5  # "more than 4"


def test_browser_input_never_becomes_sql(traffic):
    hostile = "x'); DROP TABLE alerts; --"
    assert page(traffic, CF, {"cs_uri_stem": {"filterType": "text", "type": "equals", "filter": hostile}}) == []
    for bad_filter in (
        {"cs_uri_stem; DROP TABLE alerts": {"filterType": "text", "type": "contains", "filter": "a"}},
        {"cs_uri_stem": {"filterType": "text", "type": "LIKE '%'; --", "filter": "a"}},
        {"sc_status": {"filterType": "number", "type": "equals", "filter": "1 OR 1=1"}},
        {"cs_uri_stem": {"filterType": "text", "type": "contains", "filter": {"$ne": 1}}},
        {"ts": {"filterType": "date", "type": "equals", "dateFrom": "yesterday"}},
        ["not", "a", "dict"],
        {"sc_status": {"operator": "AND", "conditions": [{"operator": "AND", "conditions": [
            {"filterType": "number", "type": "equals", "filter": 1}]}]}},
    ):
        with pytest.raises(FilterError):
            page(traffic, CF, bad_filter)
    with pytest.raises(FilterError, match="has no column"):
        page(traffic, CF, None, [{"colId": "(SELECT 1)", "sort": "asc"}])
    with pytest.raises(FilterError, match="malformed"):
        page(traffic, CF, None, [{"colId": "sc_bytes", "sort": "asc; DROP TABLE alerts"}])
    with pytest.raises(FilterError, match="1 to 1,000 rows"):
        page(traffic, CF, None, None, 0, 10**9)
    with traffic.connect() as conn:
        assert conn.execute(select(func.count()).select_from(alerts)).scalar() >= 1


def test_lists_read_the_same_on_both_databases(db):
    engine = engine_for(db)
    now = datetime(2024, 3, 1, tzinfo=timezone.utc)
    # Rows written here by hand, not by a loader: their day's partition is
    # made as a loader makes it, not left to an earlier test.
    prepare_days(engine, [now.date()], ["dns_queries"])
    with engine.begin() as conn:
        object_id = conn.execute(insert(source_objects).values(
            uri="file:///c.pcap", kind="pcap", status="loaded", parser_version="t",
            first_seen_at=now, updated_at=now).returning(source_objects.c.id)).scalar()  # fmt: skip
        conn.execute(insert(dns_queries), [
            dict(source_object_id=object_id, ts=now, uid="C1", query="example.com", answers=["192.0.2.1", "192.0.2.2"],
                 ttls=[60.0, 60.0]),
            dict(source_object_id=object_id, ts=now, uid="C2", query="example.org", answers=None, ttls=None),
        ])  # fmt: skip
    answers = {"answers": {"filterType": "text", "type": "contains", "filter": "192.0.2.2"}}
    assert page(engine, "dns_queries", answers, columns=("query",)) == ["example.com"]
    exact = {"answers": {"filterType": "text", "type": "equals", "filter": "192.0.2.1, 192.0.2.2"}}
    assert page(engine, "dns_queries", exact, columns=("query",)) == ["example.com"]
    blank = {"answers": {"filterType": "text", "type": "blank"}}
    assert page(engine, "dns_queries", blank, columns=("query",)) == ["example.org"]


def test_every_browsable_table_pages_on_both_databases(db):
    engine = engine_for(db)
    for name, view in BROWSABLE.items():
        any_column = next(iter(view.table.c)).name
        sort = [{"colId": any_column, "sort": "desc"}]
        with engine.connect() as conn:
            assert conn.execute(page_query(view, None, sort, 0, 10, engine.dialect.name)).all() == [], name


def test_analyst_views_are_console_tables_with_their_real_columns(traffic):
    from sqlalchemy import inspect

    inspector = inspect(traffic)
    for name in ("uri_traffic", "human_referrers", "probes_by_client", "bot_share_daily",
                 "cloudfront_requests_classified", "http_requests_classified"):  # fmt: skip
        actual = [c["name"] for c in inspector.get_columns(name)]
        assert sorted(actual) == sorted(browsable(name).table.c.keys()), name
    # The question's key first, the busiest first.
    assert browsable("uri_traffic").display_order[:3] == ["uri", "requests", "human_requests"]
    top = page(traffic, "uri_traffic", columns=("uri", "requests", "human_requests"))
    assert top[0][1] == max(r[1] for r in top)
    assert ("/", 1, 1) in top and ("/wp-login.php", 1, 0) in top
    humans_to_root = page(traffic, "uri_traffic", contains("/", "uri", "equals"), columns=("human_requests",))
    assert humans_to_root == [1]
    probes = page(traffic, "probes_by_client", None, None, columns=("client_ip", "probe_category", "requests"))
    assert {c for c, _, _ in probes} == {"198.51.100.9"}
    days = page(traffic, "bot_share_daily", contains("2024-03-02", "day", "equals"), columns=("client_kind",))
    assert days == ["human"]
    kinds = page(traffic, "bot_share_daily", None, None, columns=("day", "client_kind"))
    assert [str(d)[:10] for d, _ in kinds][0] == "2024-03-02"  # newest day first
