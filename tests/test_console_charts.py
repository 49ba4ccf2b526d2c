"""The console's plots on both databases: exact bars, escaped labels, and the
filter each bar's click applies, checked against the grid's own query."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError

from netsift.console import charts
from netsift.console.access import AccessError, check_binding, is_loopback
from netsift.console.app import console_engine
from netsift.console.cells import csv_value, grid_value
from netsift.console.grid_query import page_query
from netsift.console.tables import browsable
from tests.cloudfront_lines import line, loaded_and_classified

FIREFOX = "Mozilla/5.0%20(X11;%20Linux%20x86_64;%20rv:125.0)%20Gecko/20100101%20Firefox/125.0"
HOSTILE = "/%3Cb%3Ebold%3C/b%3E%3Ca%20href=%22javascript:x()%22%3E"


@pytest.fixture
def engine(db, tmp_path):
    rows = [
        line(c_ip="192.0.2.1", time="10:00:00", cs_uri_stem="/", sc_bytes="500", cs_user_agent=FIREFOX),
        line(c_ip="192.0.2.1", time="10:20:00", cs_uri_stem="/", sc_bytes="700", cs_user_agent=FIREFOX,
             sc_content_type="-"),
        line(c_ip="198.51.100.9", time="10:30:00", cs_uri_stem="/wp-login.php", sc_status="404", sc_bytes="300",
             cs_user_agent="python-requests/2.31"),
        line(c_ip="198.51.100.9", time="10:30:01", cs_uri_stem="/.env", sc_status="404", sc_bytes="300",
             cs_user_agent="python-requests/2.31"),
        line(c_ip="198.51.100.9", time="10:30:02", cs_uri_stem="/xmlrpc.php", sc_status="404", sc_bytes="300",
             cs_user_agent="python-requests/2.31"),
        line(c_ip="198.51.100.9", time="10:30:03", cs_uri_stem="/.git/config", sc_status="404", sc_bytes="300",
             cs_user_agent="python-requests/2.31"),
        line(c_ip="198.51.100.9", time="11:05:00", cs_uri_stem=HOSTILE, sc_status="404", sc_bytes="100",
             cs_user_agent="Googlebot/2.1%20(+http://www.google.com/bot.html)"),
    ]  # fmt: skip
    engine = loaded_and_classified(db, tmp_path, *rows)
    return engine


def clicked_rows(engine, customdata: str, column: str) -> list:
    """What the grid shows after a click on the bar carrying `customdata`."""
    target = charts.clicked_link({"points": [{"customdata": customdata}]})
    query = page_query(browsable(target["table"]), target["filter"], None, 0, 1000, engine.dialect.name)
    with engine.connect() as conn:
        return sorted(row[column] for row in conn.execute(query).mappings())


def bars(figure) -> dict:
    return {trace.name: dict(zip(trace.x, trace.y)) for trace in figure.data}


def hbars(figure) -> dict:
    """Horizontal bars: label -> length, per series."""
    return {trace.name: dict(zip(trace.y, trace.x)) for trace in figure.data}


CF = charts.SOURCES["cloudfront"]


def test_requests_over_time_split_by_class_and_clicks_show_those_rows(engine):
    figure = charts.requests_over_time(engine, CF)
    ten, eleven = (datetime(2024, 3, 1, h, tzinfo=timezone.utc) for h in (10, 11))
    assert bars(figure) == {"human": {ten: 2}, "bot": {eleven: 1}, "probe": {ten: 4}}
    assert "per hour" in figure.layout.title.text
    probe_at_ten = figure.data[2].customdata[0]
    assert clicked_rows(engine, probe_at_ten, "cs_uri_stem") == ["/.env", "/.git/config", "/wp-login.php", "/xmlrpc.php"]
    assert clicked_rows(engine, figure.data[1].customdata[0], "cs_uri_stem") == ['/<b>bold</b><a href="javascript:x()">']
    assert clicked_rows(engine, figure.data[0].customdata[0], "sc_bytes") == [500, 700]


def test_top_uris_bot_categories_probes_and_bytes(engine):
    uris = charts.top_and_bottom_uris(engine, CF)
    top = dict(zip(uris.data[0].y, uris.data[0].x))
    assert top["/"] == 2 and len(top) == 6
    # Plotly reads <b> and <a href> in labels: they arrive escaped, the raw path only in the click filter.
    hostile_label = next(label for label in top if "bold" in label)
    assert hostile_label == '/&lt;b&gt;bold&lt;/b&gt;&lt;a href="javascript:x()"&gt;'
    hostile_link = uris.data[0].customdata[list(uris.data[0].y).index(hostile_label)]
    assert clicked_rows(engine, hostile_link, "cs_uri_stem") == ['/<b>bold</b><a href="javascript:x()">']

    assert bars(charts.bot_categories(engine, CF)) == {None: {"http-library": 4, "search-engine": 1}}

    probes = charts.probes_by_client(engine, CF)
    assert hbars(probes) == {"config-leak": {"198.51.100.9": 2}, "wordpress": {"198.51.100.9": 2}}
    for trace in probes.data:
        for link in trace.customdata:
            assert set(clicked_rows(engine, link, "c_ip")) == {"198.51.100.9"}

    sizes = charts.bytes_by_host_and_mime(engine, CF)
    totals = {t.name: sum(t.x) for t in sizes.data}
    assert totals == {"text/html": 500 + 4 * 300 + 100, "(none)": 700}
    none_link = next(t for t in sizes.data if t.name == "(none)").customdata[0]
    assert clicked_rows(engine, none_link, "sc_bytes") == [700]


def test_alerts_over_time_and_empty_tables(engine, db):
    figure = charts.alerts_over_time(engine)
    assert bars(figure) == {"config-leak-probe": {datetime(2024, 3, 1, 10, tzinfo=timezone.utc): 1}}
    assert clicked_rows(engine, figure.data[0].customdata[0], "client_ip") == ["198.51.100.9"]
    empty = charts.requests_over_time(engine, charts.SOURCES["pcap"])
    assert [a.text for a in empty.layout.annotations] == ["no data"]
    # No made-up axes (-1 to 4, the year 2000) around nothing.
    assert empty.layout.xaxis.visible is False and empty.layout.yaxis.visible is False and not empty.data


def test_labels_are_bounded_escaped_and_distinct():
    long = "/" + "a" * 100
    assert charts.axis_labels([long + "1", long + "2", None]) == ["/" + "a" * 58 + "…", "/" + "a" * 58 + "… (2)",
                                                                "(none)"]  # fmt: skip
    assert charts.label("<script>\nalert(1)</script>") == "&lt;script&gt; alert(1)&lt;/script&gt;"
    assert charts.clicked_link({"points": [{"customdata": "not json"}]}) is None
    assert charts.clicked_link(None) is None
    assert charts.bucket_unit(datetime(2024, 1, 1), datetime(2024, 1, 2)) == "hour"
    assert charts.bucket_unit(datetime(2024, 1, 1), datetime(2024, 3, 1)) == "day"
    assert charts.bucket_unit(datetime(2020, 1, 1), datetime(2024, 3, 1)) == "month"
    assert charts.bucket_end(datetime(2024, 12, 1), "month") == datetime(2025, 1, 1)


def test_cells_for_the_grid_and_for_csv():
    moment = datetime(2024, 3, 1, 10, 0, 5, tzinfo=timezone.utc)
    assert grid_value(moment) == "2024-03-01T10:00:05Z"
    assert grid_value(["192.0.2.1", "192.0.2.2"]) == "192.0.2.1, 192.0.2.2"
    assert json.loads(grid_value({"paths": ["/a"]})) == {"paths": ["/a"]}
    assert [csv_value(v) for v in ("=1+1", "+x", "-x", "@x", "\tx", "ok", None, True, -5)] == [
        "'=1+1", "'+x", "'-x", "'@x", "'\tx", "ok", "", "true", -5]  # fmt: skip


def test_binding_rules():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1")
    check_binding("127.0.0.1", None)
    with pytest.raises(AccessError, match="NETSIFT_BROWSE_TOKEN"):
        check_binding("0.0.0.0", None)
    with pytest.raises(AccessError, match="at least 16"):
        check_binding("0.0.0.0", "short")
    check_binding("0.0.0.0", "correct-horse-battery-staple")


def test_console_queries_stop_at_the_timeout_on_postgresql(pg):
    engine = console_engine(pg, query_timeout_seconds=0.2)
    with engine.connect() as conn:
        # JIT compiles hundreds of functions for a page over day partitions (bench/partitions.py)
        assert conn.execute(text("SHOW jit")).scalar() == "off"
        with pytest.raises(OperationalError, match="statement timeout"):
            conn.execute(text("SELECT pg_sleep(2)"))
    engine.dispose()


def test_the_console_cannot_write(db):
    engine = console_engine(db, query_timeout_seconds=5)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM alerts")).scalar() == 0
        with pytest.raises(DBAPIError, match="read-only|readonly"):
            conn.execute(text("DELETE FROM alerts"))
    engine.dispose()


def test_every_series_has_its_own_colour_and_labels_show_invisible_characters():
    rows = [(f"host{h}.example", f"type/{m}", 100 * m + h) for h in range(3) for m in range(60)]
    figure = charts.go.Figure()
    charts._stacked(figure, rows, lambda r: r[0], lambda r: r[1], lambda r: r[2], lambda r: "{}")
    colours = [trace.marker.color for trace in figure.data]
    assert len(colours) == len(charts.PALETTE) and len(set(colours)) == len(colours)
    assert figure.data[-1].name == f"(other: {60 - len(charts.PALETTE) + 1})"
    assert figure.data[0].name == "type/59"  # the largest series first
    assert sum(sum(t.x) for t in figure.data) == sum(r[2] for r in rows)  # nothing lost in the fold
    assert charts.label("sqlmap/1.7 \u202egnp.exe") == "sqlmap/1.7 &lt;U+202E&gt;gnp.exe"
    assert charts.label("a\u2028b\u200bc") == "a&lt;U+2028&gt;b&lt;U+200B&gt;c"


def test_a_browser_masked_scanner_is_a_bot_in_the_split(db, tmp_path):
    agent = "Mozilla/5.0%20(compatible)"
    engine = loaded_and_classified(db, tmp_path, *[
        line(c_ip="192.0.2.1", time="10:00:00", cs_uri_stem="/", cs_user_agent=FIREFOX),
        line(c_ip="203.0.113.66", time="10:00:01", cs_uri_stem="/", cs_user_agent=agent),
        *(line(c_ip="203.0.113.66", time=f"10:01:{i:02d}", cs_uri_stem=p, sc_status="404", cs_user_agent=agent)
          for i, p in enumerate(["/wp-login.php", "/.env", "/.git/config", "/xmlrpc.php", "/wp-config.php.bak"])),
    ])  # fmt: skip
    figure = charts.requests_over_time(engine, CF)
    ten = datetime(2024, 3, 1, 10, tzinfo=timezone.utc)
    assert bars(figure) == {"human": {ten: 1}, "bot": {ten: 1}, "probe": {ten: 5}}
    assert clicked_rows(engine, figure.data[0].customdata[0], "c_ip") == ["192.0.2.1"]
    assert clicked_rows(engine, figure.data[1].customdata[0], "c_ip") == ["203.0.113.66"]
