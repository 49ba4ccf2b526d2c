"""HTTP rows checked against Zeek's own http.log for Zeek's test traces whose
requests tshark does not dissect or splits elsewhere: HTTP/0.9, no version,
an unknown method (QUERY), bytes before the method, odd URIs, CONNECT."""

from __future__ import annotations

from collections import Counter

import pytest

from netsift.capture.http_line import request_line, unescaped_uri, zeek_uri
from tests.test_capture_accuracy import BASELINE, ZEEK, five_tuple, rows_of
from tests.zeek_logs import read_zeek_log


def _key(row: dict) -> tuple:
    status = row["status_code"]
    return (five_tuple(row), row["method"], row["host"], row["uri"], None if status is None else int(status))


@pytest.mark.slow
@pytest.mark.parametrize("trace, test", [
    ("http/http_09.pcap", "http-09"),
    ("http/no-version.pcap", "no-version"),
    ("http/curl_http_09.pcap", "curl-http-09"),
    ("http/query-method.pcap", "query-method"),
    ("http/query-method-non-standard-port.pcap", "query-method-non-standard-port"),
    ("http/http-bad-request-with-version.pcap", "http-bad-request-with-version"),
    ("http/connect-with-smtp.pcap", "http-connect"),
    ("http/http-filename.pcap", "http-filename"),
    ("http/100-continue.pcap", "100-continue"),
    ("http/http-11-request-then-cruft.pcap", "http-11-request-then-cruft"),
])  # fmt: skip
def test_http_rows_equal_zeeks(trace, test):
    ours = rows_of(ZEEK / trace)["http_requests"]
    zeek = read_zeek_log(BASELINE / f"scripts.base.protocols.http.{test}" / "http.log")
    assert Counter(map(_key, ours)) == Counter(map(_key, zeek))


def test_http_09_reply_is_the_body_with_status_zero():
    tables = rows_of(ZEEK / "http/http_09.pcap")
    answered = [r for r in tables["http_requests"] if r["method"]]
    assert {(r["method"], r["status_code"], r["response_body_len"]) for r in answered} == {
        ("GET", 0, 51), ("POST", 0, 11)}  # fmt: skip
    assert sorted(f["size"] for f in tables["extracted_files"]) == [11, 51]


def test_odd_url_is_logged_decoded_with_zeeks_escapes():
    (row,) = rows_of(ZEEK / "www-odd-url.pcap")["http_requests"]
    (zeek,) = read_zeek_log(BASELINE / "scripts.base.frameworks.logging.ascii-escape-odd-url" / "http.log")
    assert row["uri"] == zeek["uri"]  # a space decoded, the Latin-1 byte as \xfc


@pytest.mark.parametrize("line, expected", [
    (b"GET /zeek.html", ("GET", "/zeek.html", "0.9")),
    (b"GET ", None),  # no URI
    (b"T /zeek.html", None),  # a one-letter method on a versionless line
    (b"CONNECT mail.example:25 / HTTP/1.0", ("CONNECT", "mail.example:25 /", "1.0")),
    (b"QUERY /users HTTP/1.1", ("QUERY", "/users", "1.1")),
    (b"\xdd\x00\x00\x00 GET /txt HTTP/1.1", None),
    (b"GET HTTP/1.1", ("GET", "", "1.1")),
    (b"GET /x HTTP/1", ("GET", "/x", None)),
])  # fmt: skip
def test_request_lines_parse_as_zeek_parses_them(line, expected):
    parsed = request_line(line)
    assert (parsed and (parsed.method, parsed.uri, parsed.version)) == expected


def test_uri_escapes_decode_as_zeeks():
    assert unescaped_uri(b"/a%20b%FC") == b"/a b\xfc"
    assert unescaped_uri(b"/%%41") == b"/A"  # a doubled % is read as one
    assert unescaped_uri(b"/%u00e9%u20AC") == b"/\xe9\x20\xac"
    assert unescaped_uri(b"/%zz/%4") == b"/%zz/%4"  # not escapes: kept
    assert zeek_uri(b"GET", b"/a%00b", b"HTTP/1.1") == "/a\\x00b"  # no NUL reaches the database


def _zeek_files(test: str) -> list[dict]:
    return read_zeek_log(BASELINE / test / "files.log")


def test_concurrent_range_requests_are_one_file_on_each_connection():
    """Three connections fetch three ranges of one URL: Zeek logs one file
    (one fuid) on each, with the bytes seen of all three."""
    tables = rows_of(ZEEK / "http/concurrent-range-requests.pcap")
    zeek = _zeek_files("scripts.base.protocols.http.concurrent-range-requests")
    conns = {c["uid"]: five_tuple(c) for c in tables["connections"]}
    ours = tables["extracted_files"]
    assert Counter((conns[f["uid"]], f["size"]) for f in ours) == Counter(
        (five_tuple(z), int(z["seen_bytes"])) for z in zeek
    )
    assert len({f["sha256"] for f in ours}) == 1  # one file
    # the answer whose last segment came out of order is read too
    assert sorted(r["status_code"] for r in tables["http_requests"]) == [206, 206, 206]


def test_multipart_byteranges_count_the_parts_not_their_headers():
    (ours,) = rows_of(ZEEK / "http/byteranges.pcap")["extracted_files"]
    (zeek,) = _zeek_files("scripts.base.frameworks.file-analysis.byteranges")
    assert ours["size"] == int(zeek["seen_bytes"])


class _Conn:
    orig_h, uid = "10.0.0.1", "C1"


class _Request:
    host, uri = "example.com", "/f.bin"


def test_range_pieces_put_back_in_place_hash_as_the_whole_file():
    from netsift.capture.http import file_facts
    from netsift.capture.http_ranges import RangeFiles, range_pieces

    whole = bytes(range(256)) * 40
    files = RangeFiles(1 << 20)

    for first, last in ((4000, len(whole) - 1), (0, 2999), (2000, 4999)):  # out of order, overlapping
        message = (b"HTTP/1.1 206 Partial Content\r\nContent-Range: bytes %d-%d/%d\r\n\r\n"
                   % (first, last, len(whole)) + whole[first : last + 1])  # fmt: skip
        files.add(_Request, _Conn, range_pieces(message, whole[first : last + 1]))
    ((_, _, body, seen),) = files.files_seen()
    assert file_facts(body).sha256 == file_facts(whole).sha256 and seen == len(whole)


def test_range_pieces_past_the_budget_count_in_the_size_only():
    from netsift.capture.http_ranges import RangeFiles, RangePiece

    files = RangeFiles(100)

    files.add(_Request, _Conn, [RangePiece(0, b"a" * 80, 1000), RangePiece(80, b"b" * 80, 1000)])
    ((_, _, body, seen),) = files.files_seen()
    assert (body, seen) == (b"a" * 80, 160)


def test_connections_joined_midway_keep_their_http_unlike_zeek():
    """wikipedia.pcap holds a request and its 304 on a connection whose SYN
    was not captured. Zeek's HTTP analyzer reads nothing of such a one; we
    keep it on purpose: a capture that starts during a download must not lose
    the download (nothing silently lost), so it is the one extra row."""
    ours = rows_of(ZEEK / "wikipedia.pcap")["http_requests"]
    zeek = read_zeek_log(BASELINE / "opt.basic" / "http.log")
    extra = Counter(map(_key, ours)) - Counter(map(_key, zeek))
    assert not Counter(map(_key, zeek)) - Counter(map(_key, ours))
    assert [r["orig_p"] for r in ours if _key(r) in extra] == [35634]
