"""The CloudFront parser on real samples and on exact, hand-made lines."""

from __future__ import annotations

import gzip
from datetime import datetime, timezone

import pytest

from netsift.schema import CLOUDFRONT_COPY_COLUMNS
from netsift.cloudfront.parse import (
    STANDARD_FIELDS,
    LogParser,
    NotCloudFrontLog,
    column_for,
)
from netsift.ingest.reading import TooLongLine
from tests.cloudfront_lines import HEADER, line, log_text
from tests.conftest import DATA

SAMPLES = DATA / "cloudfront" / "samples"


def parse(text_or_lines, object_id=7, distribution=None):
    parser = LogParser(source_object_id=object_id, distribution_id=distribution)
    lines = text_or_lines.splitlines(True) if isinstance(text_or_lines, str) else text_or_lines
    rows = [dict(zip(CLOUDFRONT_COPY_COLUMNS, row)) for row in parser.rows(lines)]
    return rows, parser


def read_sample(relative: str) -> str:
    raw = (SAMPLES / relative).read_bytes()
    return (gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw).decode()


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=timezone.utc)


def test_matomo_26_field_sample_holds_what_matomo_asserts():
    rows, parser = parse(read_sample("matomo-log-analytics/amazon_cloudfront_web.log"))
    assert parser.rejected == [] and len(rows) == 1
    row = rows[0]
    assert row["ts"] == utc(2014, 5, 23, 1, 13, 11)
    assert row["c_ip"] == "192.0.2.10"
    assert row["sc_status"] == 200
    assert row["cs_uri_stem"] == "/view/my/file.html"
    assert row["time_taken"] == 0.001
    assert row["cs_user_agent"] == (
        "Mozilla/5.0 (Windows; U; Windows NT 6.1; de-DE) AppleWebKit/534.17 "
        "(KHTML, like Gecko) Chrome/10.0.649.0 Safari/534.17"
    )
    assert row["cs_protocol_version"] == "HTTP/1.1"
    assert row["fle_status"] is None and row["fle_encrypted_fields"] is None
    assert row["ssl_cipher"] == "ECDHE-RSA-AES128-GCM-SHA256"
    assert row["line_number"] == 3  # after #Version and #Fields
    assert row["c_port"] is None  # the 26-field layout has no c-port


def test_ironholds_23_field_sample_double_encoded_and_no_final_newline():
    rows, parser = parse(read_sample("ironholds-webreadr/log.aws"))
    assert parser.rejected == []
    assert [r["sc_status"] for r in rows] == [301, 302]
    first, second = rows
    assert first["cs_user_agent"] == "Mozilla/5.0 (Windows NT 5.1; rv:6.0.2) Gecko/20100101 Firefox/6.0.2"
    assert first["cs_referer"] is None and first["ssl_protocol"] is None
    assert first["x_edge_response_result_type"] == "Redirect"
    assert first["sc_bytes"] == 553 and first["cs_bytes"] == 252
    assert second["cs_referer"] == "https://example.com/blog/"
    assert second["ts"] == utc(2016, 3, 3, 20, 16, 2)
    assert second["ssl_protocol"] == "TLSv1.2" and second["cs_protocol"] == "https"
    assert second["x_edge_request_id"] == "_hYPrl0F-y14R1uXSXqHnGMYiQ10_JKhwjhjOMLl-Pstqe-OIUTA5A=="
    assert second["cs_protocol_version"] is None  # beyond the 23-field layout


def test_rkalla_12_field_real_traffic():
    rows, parser = parse(read_sample("rkalla-cloudfront-log-parser/example-100.gz"))
    assert parser.rejected == [] and len(rows) == 100
    assert {r["c_ip"] for r in rows} == {"46.118.100.87"}
    assert {r["sc_status"] for r in rows} == {200}
    first = rows[0]
    assert first["ts"] == utc(2011, 4, 27, 22, 55, 23)
    assert first["x_edge_location"] == "FRA2" and first["sc_bytes"] == 30783
    assert first["cs_uri_stem"] == "/yQAPXEomw-T.png"
    assert first["cs_referer"] == "http://imgscalr.com/"
    assert first["cs_user_agent"].startswith("Mozilla/5.0 (X11; U; Linux i686; en-US)")
    assert first["x_edge_request_id"] is None  # not in the 12-field layout


def test_mapbox_headerless_19_fields_read_by_count():
    plain = read_sample("mapbox-aws-log-replay/AAAAAAAAAAAAAA.2015-10-19-17.e5b6526a")
    rows, parser = parse(plain, distribution="AAAAAAAAAAAAAA")
    assert parser.rejected == [] and len(rows) == 9
    assert [r["cs_uri_stem"] for r in rows[:3]] == ["/a.json", "/b.json", "/c.json"]
    row = rows[0]
    assert row["ts"] == utc(2014, 9, 5, 12, 48, 0)
    assert row["cs_user_agent"] == "FakeAgent" and row["cs_uri_query"] == "option=1"
    assert row["x_edge_request_id"] == "FAKE==" and row["time_taken"] == 0.314
    assert row["distribution_id"] == "AAAAAAAAAAAAAA" and row["source_object_id"] == 7
    assert row["x_forwarded_for"] is None  # field 20 is beyond 19
    gz_rows, _ = parse(read_sample("mapbox-aws-log-replay/AAAAAAAAAAAAAA.2015-10-19-17.e5b6526a.gz"))
    assert [r["cs_uri_stem"] for r in gz_rows] == [r["cs_uri_stem"] for r in rows]


def test_33_field_line_maps_every_column():
    rows, parser = parse(log_text(line(c_port="443", sc_range_start="0", sc_range_end="99")))
    assert parser.rejected == []
    row = rows[0]
    assert row["c_port"] == 443 and row["sc_range_start"] == 0 and row["sc_range_end"] == 99
    assert row["time_to_first_byte"] == 0.001 and row["sc_content_len"] == 1000
    assert row["x_edge_detailed_result_type"] == "Hit" and row["sc_content_type"] == "text/html"
    # Every standard field has a column named after it, in snake_case.
    names = {column_for(f) for f in STANDARD_FIELDS} - {"date", "time"}
    assert names <= set(CLOUDFRONT_COPY_COLUMNS)


@pytest.mark.parametrize("count", [12, 19, 23, 24, 26, 33])
def test_headerless_layouts_by_field_count(count):
    fields = line(cs_user_agent="Mozilla/5.0%2520X").rstrip("\n").split("\t")[:count]
    rows, parser = parse("\t".join(fields) + "\n")
    assert parser.rejected == []
    assert rows[0]["cs_user_agent"] == "Mozilla/5.0 X"
    assert rows[0]["c_port"] == (51234 if count >= 27 else None)


def test_header_order_is_honoured_over_position():
    header = "#Fields: date time c-ip x-edge-location cs-uri-stem sc-status cs(User-Agent) cs-method cs(Host) sc-bytes cs(Referer) cs-uri-query\n"
    rows, parser = parse(header + "2020-01-02\t03:04:05\t198.51.100.1\tLHR1\t/x\t404\tbot\tPOST\th\t10\t-\t-\n")
    assert parser.rejected == []
    assert (rows[0]["c_ip"], rows[0]["x_edge_location"], rows[0]["sc_status"], rows[0]["cs_method"]) == (
        "198.51.100.1", "LHR1", 404, "POST",
    )


def test_newer_unknown_fields_are_ignored():
    header = "#Fields: " + " ".join(STANDARD_FIELDS) + " c-country cache-behavior-path-pattern\n"
    rows, parser = parse(header + line().rstrip("\n") + "\tDE\t/*\n")
    assert parser.rejected == [] and rows[0]["c_ip"] == "203.0.113.9"


def test_dash_is_null_and_plus_stays_plus():
    rows, _ = parse(log_text(line(cs_uri_stem="/a+b%2520c", cs_referer="-", cs_uri_query="q=a+b")))
    assert rows[0]["cs_uri_stem"] == "/a+b c"
    assert rows[0]["cs_referer"] is None
    assert rows[0]["cs_uri_query"] == "q=a+b"  # the query is kept as logged


def test_x_forwarded_for_stays_text():
    for value in ("192.0.2.1,%20198.51.100.7", "unknown", "203.0.113.5:4242", "2001:db8::1"):
        rows, parser = parse(log_text(line(x_forwarded_for=value)))
        assert parser.rejected == [] and rows[0]["x_forwarded_for"] == value


def test_malformed_lines_are_rejected_with_line_number_and_reason():
    text = log_text(
        line(),
        "garbage without tabs\n",
        line(sc_bytes="12x"),
        line(date="2024-13-45"),
        line(c_port="99999999999"),
        line(time_taken="nan"),
        line(),
    )
    rows, parser = parse(text)
    assert [r["line_number"] for r in rows] == [3, 9]
    assert [(r.line_number, r.reason.split(":")[0]) for r in parser.rejected] == [
        (4, "expected 33 fields, found 1"),
        (5, "field sc-bytes"),
        (6, "bad date/time '2024-13-45' '12"),
        (7, "field c-port"),
        (8, "field time-taken"),
    ]
    assert parser.rejected[0].raw_line == "garbage without tabs"
    assert parser.rejected_count == 5 and parser.rows_parsed == 2


def test_raw_line_is_cut_and_rejects_kept_are_bounded():
    parser = LogParser(source_object_id=1, raw_line_max_chars=50, max_rejects_kept=3)
    lines = HEADER.splitlines(True) + [line(sc_status="x" * 500)] * 10
    assert list(parser.rows(lines)) == []
    assert parser.rejected_count == 10 and len(parser.rejected) == 3
    assert all(len(r.raw_line) == 50 for r in parser.rejected)


def test_too_long_line_is_rejected_not_parsed():
    rows, parser = parse([*HEADER.splitlines(True), TooLongLine("2024-01-01\tabc"), line()])
    assert len(rows) == 1
    assert parser.rejected[0].reason == "line longer than the limit"


def test_nul_bytes_never_reach_the_database():
    rows, parser = parse(log_text(line(cs_user_agent="a%2500b", cs_cookie="x\x00y")))
    assert rows[0]["cs_user_agent"] == "a\\x00b"
    assert rows[0]["cs_cookie"] == "x\\x00y"


def test_real_time_kinesis_log_is_refused_as_such():
    realtime = "1591725829.345\t192.0.2.10\t0.002\t200\t1234\tGET\thttps\texample.com\t/\n"
    with pytest.raises(NotCloudFrontLog, match="real-time log"):
        parse(realtime)


@pytest.mark.parametrize(
    "text, reason",
    [
        ("#Software: Microsoft Internet Information Services 10.0\n#Fields: date time s-ip cs-method cs-uri-stem\n"
         "2024-01-01 00:00:00 10.0.0.1 GET /\n", "no x-edge"),
        ('192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326\n', "not tab-separated"),
        ("a\tb\tc\n", "is not a date"),
        ("2024-01-01\t00:00:00\tFRA\n", "at least 12"),
    ],
)  # fmt: skip
def test_other_formats_are_refused_with_a_reason(text, reason):
    with pytest.raises(NotCloudFrontLog, match=reason):
        parse(text)


@pytest.mark.parametrize("bad_header", ["#Fields:", "#Fields: date time s-ip cs-method cs-uri-stem"])
def test_a_later_unreadable_header_refuses_its_lines_and_keeps_the_rows_above(bad_header):
    """Files joined end to end: the first header says what the object is, a
    later one that cannot be read is refused with the lines under it, each
    recorded, until a readable header; they are never read by the earlier
    header's fields."""
    text = log_text(line(time="12:00:01"), line(time="12:00:02")) + bad_header + "\n" + line(time="12:00:03") \
        + HEADER + line(time="12:00:04")  # fmt: skip
    rows, parser = parse(text)
    assert [r["ts"].second for r in rows] == [1, 2, 4]
    assert [(r.line_number, r.reason.split(" ")[0]) for r in parser.rejected] == [(5, "#Fields"), (6, "under")]
    assert "line 5's unreadable #Fields header" in parser.rejected[1].reason


def test_empty_object_gives_no_rows():
    rows, parser = parse("")
    assert rows == [] and parser.rejected == []
