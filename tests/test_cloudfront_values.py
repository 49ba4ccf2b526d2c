"""Strict values: what the parser accepts, normalises and rejects, field by
field, on real lines (exact output) and on generated values (hypothesis)."""

from __future__ import annotations

import ipaddress
import re
from datetime import datetime, timezone

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from netsift.schema import CLOUDFRONT_COPY_COLUMNS, CLOUDFRONT_V2_COLUMNS
from netsift.cloudfront.parse import STANDARD_FIELDS, LogParser, column_for
from tests.cloudfront_lines import HEADER
from tests.test_cloudfront_parser import read_sample

# A 33-field line from AWS's documentation of standard logs (2019 example).
AWS_LINE = "\t".join((
    "2019-12-04", "21:02:31", "LAX1", "392", "192.0.2.100", "GET", "d111111abcdef8.cloudfront.net",
    "/index.html", "200", "-",
    "Mozilla/5.0%20(Windows%20NT%2010.0;%20Win64;%20x64)%20AppleWebKit/537.36%20(KHTML,%20like%20Gecko)%20Chrome/78.0.3904.108%20Safari/537.36",
    "-", "-", "Hit", "SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==",
    "d111111abcdef8.cloudfront.net", "https", "23", "0.001", "-", "TLSv1.2",
    "ECDHE-RSA-AES128-GCM-SHA256", "Hit", "HTTP/2.0", "-", "-", "11040", "0.001", "Hit",
    "text/html", "78", "-", "-",
))  # fmt: skip
AWS_ROW = {
    "source_object_id": 1, "line_number": 3,
    "ts": datetime(2019, 12, 4, 21, 2, 31, tzinfo=timezone.utc), "distribution_id": None,
    "x_edge_location": "LAX1", "sc_bytes": 392, "c_ip": "192.0.2.100", "cs_method": "GET",
    "cs_host": "d111111abcdef8.cloudfront.net", "cs_uri_stem": "/index.html", "sc_status": 200,
    "cs_referer": None,
    "cs_user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                     "Chrome/78.0.3904.108 Safari/537.36",
    "cs_uri_query": None, "cs_cookie": None, "x_edge_result_type": "Hit",
    "x_edge_request_id": "SOX4xwn4XV6Q4rgb7XiVGOHms_BGlTAC4KyHmureZmBNrjGdRLiNIQ==",
    "x_host_header": "d111111abcdef8.cloudfront.net", "cs_protocol": "https", "cs_bytes": 23,
    "time_taken": 0.001, "x_forwarded_for": None, "ssl_protocol": "TLSv1.2",
    "ssl_cipher": "ECDHE-RSA-AES128-GCM-SHA256", "x_edge_response_result_type": "Hit",
    "cs_protocol_version": "HTTP/2.0", "fle_status": None, "fle_encrypted_fields": None,
    "c_port": 11040, "time_to_first_byte": 0.001, "x_edge_detailed_result_type": "Hit",
    "sc_content_type": "text/html", "sc_content_len": 78, "sc_range_start": None, "sc_range_end": None,
    **{name: None for name, *_ in CLOUDFRONT_V2_COLUMNS},  # v2 fields: legacy logs leave them NULL
}  # fmt: skip


def parse_lines(*lines: str, header: str = HEADER):
    parser = LogParser(source_object_id=1)
    given_lines = header.splitlines(True) + [text + "\n" for text in lines]
    rows = [dict(zip(CLOUDFRONT_COPY_COLUMNS, row)) for row in parser.rows(given_lines)]
    return rows, [(r.line_number, r.reason) for r in parser.rejected]


def with_field(name: str, value: str, base: str = AWS_LINE) -> str:
    fields = base.split("\t")
    fields[STANDARD_FIELDS.index(name)] = value
    return "\t".join(fields)


def test_the_aws_documentation_line_loads_exactly():
    rows, rejected = parse_lines(AWS_LINE)
    assert rejected == [] and rows == [AWS_ROW]


def test_a_line_missing_its_last_fields_loads_them_null():
    fields = AWS_LINE.split("\t")
    rows, rejected = parse_lines("\t".join(fields[:31]), "\t".join(fields[:30]))
    assert rejected == []
    assert rows[0] == AWS_ROW  # 31 of 33: the missing range fields were `-` anyway
    assert rows[1] == {**AWS_ROW, "line_number": 4, "sc_content_len": None}


def test_one_empty_extra_field_is_ignored_anything_else_disagreeing_is_rejected():
    fields = AWS_LINE.split("\t")
    rows, rejected = parse_lines(
        AWS_LINE + "\t",          # line 3: a trailing tab, loads
        AWS_LINE + "\tx",         # line 4: an extra field with a value
        AWS_LINE + "\t\t",        # line 5: two extra fields
        "\t".join(fields[:11]),   # line 6: shorter than the oldest layout
    )  # fmt: skip
    assert rows == [AWS_ROW]
    assert rejected == [
        (4, "expected 33 fields, found 34"),
        (5, "expected 33 fields, found 35"),
        (6, "expected 33 fields, found 11"),
    ]


def test_a_ragged_line_in_an_older_layout_loads_too():
    header = "#Fields: " + " ".join(STANDARD_FIELDS[:26]) + "\n"
    matomo = read_sample("matomo-log-analytics/amazon_cloudfront_web.log").splitlines()[2]
    full, _ = parse_lines(matomo, header=header)
    short, rejected = parse_lines("\t".join(matomo.split("\t")[:24]), header=header)
    assert rejected == [] and short == [{**full[0], "fle_status": None, "fle_encrypted_fields": None}]
    assert full[0]["cs_protocol_version"] == "HTTP/1.1"


def test_a_leading_bom_is_skipped_with_or_without_a_header():
    rows, rejected = parse_lines(AWS_LINE, header="\ufeff" + HEADER)
    assert rejected == [] and rows == [AWS_ROW]
    plain = read_sample("mapbox-aws-log-replay/AAAAAAAAAAAAAA.2015-10-19-17.e5b6526a")
    without, with_bom = LogParser(1), LogParser(1)
    expected = list(without.rows(plain.splitlines(True)))
    assert list(with_bom.rows(("\ufeff" + plain).splitlines(True))) == expected and len(expected) == 9
    assert with_bom.rejected == []
    # Only at the start of the object: elsewhere it is part of a field.
    _, rejected = parse_lines(AWS_LINE, "\ufeff" + AWS_LINE)
    assert rejected == [(4, "bad date/time '\\ufeff2019-12-04' '21:02:31'")]


@pytest.mark.parametrize(
    "name, value, reason",
    [
        ("sc-bytes", "1_000", "'1_000' is not a non-negative integer in ASCII digits"),
        ("sc-bytes", "１２３", "'１２３' is not a non-negative integer in ASCII digits"),
        ("sc-bytes", " 77 ", "' 77 ' is not a non-negative integer in ASCII digits"),
        ("sc-bytes", "-5", "'-5' is not a non-negative integer in ASCII digits"),
        ("sc-bytes", "+5", "'+5' is not a non-negative integer in ASCII digits"),
        ("sc-bytes", "", "'' is not a non-negative integer in ASCII digits"),
        ("sc-bytes", "9223372036854775808", "'9223372036854775808' is out of range (0 to 9223372036854775807)"),
        ("cs-bytes", "٣", "'٣' is not a non-negative integer in ASCII digits"),
        ("sc-status", "1000", "'1000' is out of range (0 to 999)"),
        ("sc-status", "²", "'²' is not a non-negative integer in ASCII digits"),
        ("c-port", "65536", "'65536' is out of range (0 to 65535)"),
        ("sc-content-len", "7" * 5000, f"'{'7' * 40}…' is out of range (0 to 9223372036854775807)"),
        ("time-taken", "-0.001", "'-0.001' is not a non-negative decimal number"),
        ("time-taken", "1e3", "'1e3' is not a non-negative decimal number"),
        ("time-taken", "nan", "'nan' is not a non-negative decimal number"),
        ("time-taken", "1_0.5", "'1_0.5' is not a non-negative decimal number"),
        ("time-to-first-byte", "9" * 400, f"'{'9' * 40}…' is out of range"),
        ("c-ip", "198.51.100.7:443", "'198.51.100.7:443' is not an IP address"),
        ("c-ip", "010.1.2.3", "'010.1.2.3' is not an IP address"),
        ("c-ip", "fe80::1%eth0", "'fe80::1%eth0' is not an IP address"),
        ("c-ip", "１.2.3.4", "'１.2.3.4' is not an IP address"),
        ("c-ip", "<img src=x onerror=alert(1)>", "'<img src=x onerror=alert(1)>' is not an IP address"),
        ("c-ip", "unknown", "'unknown' is not an IP address"),
    ],
)
def test_values_cloudfront_never_writes_reject_the_line_naming_field_and_value(name, value, reason):
    rows, rejected = parse_lines(with_field(name, value), AWS_LINE)
    assert rejected == [(3, f"field {name}: {reason}")]
    assert [row["line_number"] for row in rows] == [4]


def test_accepted_numbers_and_addresses_load_as_written():
    rows, rejected = parse_lines(
        with_field("sc-status", "000"),  # CloudFront's status for an aborted request
        with_field("sc-bytes", "9223372036854775807"),
        with_field("time-taken", "30.000"),
        with_field("c-ip", "2001:DB8:0:0::1"),  # kept as written
        with_field("c-ip", "::ffff:192.0.2.1"),
    )
    assert rejected == []
    assert rows[0]["sc_status"] == 0 and rows[1]["sc_bytes"] == 2**63 - 1 and rows[2]["time_taken"] == 30.0
    assert [row["c_ip"] for row in rows[3:]] == ["2001:DB8:0:0::1", "::ffff:192.0.2.1"]


@pytest.mark.parametrize(
    "value",
    ["192.0.2.1,%20198.51.100.7", "unknown", "203.0.113.5:4242", "[2001:db8::1]:443", "' OR 1=1--", "<b>x</b>"],
)
def test_x_forwarded_for_is_the_viewer_s_header_and_never_rejects_the_line(value):
    rows, rejected = parse_lines(with_field("x-forwarded-for", value))
    assert rejected == [] and rows[0]["x_forwarded_for"] == value


# --- properties -------------------------------------------------------------

INTEGER_FIELDS = {"sc-bytes": 2**63 - 1, "cs-bytes": 2**63 - 1, "sc-content-len": 2**63 - 1,
                  "sc-range-start": 2**63 - 1, "sc-range-end": 2**63 - 1, "sc-status": 999,
                  "c-port": 65535, "fle-encrypted-fields": 2**31 - 1}  # fmt: skip
SECONDS_FIELDS = ("time-taken", "time-to-first-byte")

# Characters that end or split a line or a field are the reader's business, not a value's.
field_chars = st.characters(blacklist_categories=("Cs",), blacklist_characters="\t\n\r\x00")
unicode_digits = st.characters(whitelist_categories=("Nd", "No"))
integers = st.integers(-(2**70), 2**70).map(str)
numberish = st.one_of(
    integers,
    st.integers(0, 2**70).map(lambda n: f"{n:_}"),                        # underscores
    st.tuples(integers, st.sampled_from(["+", "-", " ", "0"]), st.booleans()).map(
        lambda t: t[1] + t[0] if t[2] else t[0] + t[1]),                  # signs, spaces, leading zeros
    st.text(unicode_digits, min_size=1, max_size=6),                       # ١٢٣, ²
    st.floats(allow_nan=True, allow_infinity=True).map(str),              # 1e+100, nan, inf, -0.0
    st.decimals(allow_nan=False, allow_infinity=False).map(str),          # 1E+3, 0.000
    st.text(field_chars, max_size=8),                                      # anything
).filter(lambda v: v != "-")
ASCII_INTEGER = re.compile(r"[0-9]+\Z")
ASCII_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?\Z")


@pytest.mark.slow
@settings(max_examples=600)
@given(st.sampled_from(sorted(INTEGER_FIELDS)), numberish)
@example("sc-bytes", "１２３")
@example("sc-bytes", " 77 ")
@example("sc-bytes", "1_000")
@example("sc-bytes", "9" * 5000)
@example("sc-status", "-0")
@example("c-port", "0065535")
@example("sc-bytes", "0" * 5000 + "1")
def test_an_integer_field_loads_exactly_ascii_digits_in_range(name, value):
    rows, rejected = parse_lines(with_field(name, value))
    number = int(value.lstrip("0") or "0") if ASCII_INTEGER.match(value) and len(value.lstrip("0")) < 100 else None
    if number is not None and number <= INTEGER_FIELDS[name]:
        assert rejected == [] and rows[0][column_for(name)] == number
    else:
        assert rows == [] and len(rejected) == 1
        assert rejected[0][1].startswith(f"field {name}: {value[:40]!r}"[:-1])


@settings(max_examples=400)
@given(st.sampled_from(SECONDS_FIELDS), numberish)
@example("time-taken", "-0.001")
@example("time-taken", "0.5e1")
@example("time-taken", "9" * 400)
@example("time-taken", ".5")
@example("time-taken", "5.")
@example("time-taken", "١.٢")
def test_a_seconds_field_loads_exactly_ascii_decimals(name, value):
    rows, rejected = parse_lines(with_field(name, value))
    if ASCII_DECIMAL.match(value) and float(value) != float("inf"):
        assert rejected == [] and rows[0][column_for(name)] == float(value)
    else:
        assert rows == [] and len(rejected) == 1
        assert rejected[0][1].startswith(f"field {name}: {value[:40]!r}"[:-1])


addresses = st.one_of(
    st.ip_addresses().map(str),
    st.ip_addresses(v=6).map(lambda a: a.exploded.upper()),
    st.ip_addresses(v=4).map(lambda a: f"{a}:{443}"),
    st.ip_addresses(v=6).map(lambda a: f"[{a}]:443"),
    st.ip_addresses(v=6).map(lambda a: f"{a}%eth0"),
    st.ip_addresses(v=4).map(lambda a: ".".join(f"{int(o):03d}" for o in str(a).split("."))),
    st.ip_addresses(v=4).map(lambda a: str(a).translate(str.maketrans("0123456789", "０１２３４５６７８９"))),
    st.text(field_chars, max_size=45),
).filter(lambda v: v != "-")


def is_address(value: str) -> bool:
    try:
        return "%" not in value and bool(ipaddress.ip_address(value))
    except ValueError:
        return False


@pytest.mark.slow
@settings(max_examples=600)
@given(addresses)
@example("192.0.2.1")
@example("2001:DB8::1")
@example("01.2.3.4")
@example(" 192.0.2.1")
def test_c_ip_loads_only_an_address_as_written(value):
    rows, rejected = parse_lines(with_field("c-ip", value))
    if is_address(value):
        assert rejected == [] and rows[0]["c_ip"] == value
    else:
        assert rows == [] and rejected == [(3, f"field c-ip: {_shown(value)} is not an IP address")]


def _shown(value: str) -> str:
    return repr(value if len(value) <= 40 else value[:40] + "…")


@settings(max_examples=200)
@given(st.integers(1, 33 + 3), st.sampled_from(["", "x", "-"]))
def test_field_count_rule(count, extra):
    """Loads iff 12..33 fields, or 34 whose last is empty (an empty line is no line)."""
    fields = (AWS_LINE.split("\t") + [extra] * 3)[:count]
    rows, rejected = parse_lines("\t".join(fields))
    loads = 12 <= count <= 33 or (count == 34 and extra == "")
    assert (len(rows), len(rejected)) == ((1, 0) if loads else (0, 1))
    if loads:
        kept = min(count, 33)
        expected_values = [None if v == "-" else v for v in fields[:kept]]
        assert rows[0]["x_edge_location"] == expected_values[2]
        assert all(rows[0][column_for(name)] is None for name in STANDARD_FIELDS[kept:])
