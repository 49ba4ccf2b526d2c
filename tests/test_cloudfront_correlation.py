"""A CloudFront log line joins the origin exchange it caused, through the
X-Amz-Cf-Id header CloudFront sends to the origin (a capture made here)."""

from __future__ import annotations

import socket
import struct
from pathlib import Path

from sqlalchemy import text

from netsift.capture.load import load_capture
from netsift.cloudfront.load import load_object
from netsift.db import engine_for
from netsift.ingest.sources import Window, list_local
from netsift.settings import Settings
from tests.cloudfront_lines import line, log_text

EDGE_ID = "Q9a1xk0LbE7_zl2VlyB5qGJ6sFhX1y1kWUhMG-3mN8rTzC2Xw1vFAg=="
EDGE = ("130.176.0.10", 41000)  # a CloudFront edge, the capture's client
ORIGIN = ("192.0.2.80", 80)


def _tcp(seq: int, ack: int, flags: int, payload: bytes = b"", src=EDGE, dst=ORIGIN) -> tuple:
    return src, dst, struct.pack("!HHIIBBHHH", src[1], dst[1], seq, ack, 5 << 4, flags, 65535, 0, 0) + payload


def _pcap(path: Path, segments: list[tuple]) -> Path:
    """A classic pcap of Ethernet/IPv4/TCP frames, built by hand (no scapy);
    tshark does not check the zero checksums by default."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for index, (src, dst, tcp) in enumerate(segments):
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), index, 0, 64, 6, 0,
                         socket.inet_aton(src[0]), socket.inet_aton(dst[0])) + tcp  # fmt: skip
        frame = b"\x00\x11\x22\x33\x44\x55" + b"\x66\x77\x88\x99\xaa\xbb" + b"\x08\x00" + ip
        out.append(struct.pack("<IIII", 1_709_294_401, index * 1000, len(frame), len(frame)) + frame)
    path.write_bytes(b"".join(out))
    return path


def origin_capture(path: Path, edge_id: str = EDGE_ID) -> Path:
    request = (f"GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: Amazon CloudFront\r\n"
               f"X-Forwarded-For: 198.51.100.7\r\nx-amz-cf-id: {edge_id}\r\n\r\n").encode()  # fmt: skip
    response = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5\r\n\r\nhello"
    syn, ack, psh_ack, fin_ack = 0x02, 0x10, 0x18, 0x11
    back = {"src": ORIGIN, "dst": EDGE}
    c, s = 1000, 5000
    return _pcap(path, [
        _tcp(c, 0, syn), _tcp(s, c + 1, 0x12, **back), _tcp(c + 1, s + 1, ack),
        _tcp(c + 1, s + 1, psh_ack, request),
        _tcp(s + 1, c + 1 + len(request), psh_ack, response, **back),
        _tcp(c + 1 + len(request), s + 1 + len(response), fin_ack),
        _tcp(s + 1 + len(response), c + 2 + len(request), fin_ack, **back),
        _tcp(c + 2 + len(request), s + 2 + len(response), ack),
    ])  # fmt: skip


def test_cloudfront_request_joins_the_origin_exchange_it_caused(db, tmp_path):
    captures, logs = tmp_path / "captures", tmp_path / "logs"
    captures.mkdir()
    logs.mkdir()
    origin_capture(captures / "origin.pcap")
    (logs / "day.log").write_text(log_text(
        line(x_edge_request_id=EDGE_ID, c_ip="198.51.100.7", cs_uri_stem="/index.html"),
        line(x_edge_request_id="unrelated==", c_ip="203.0.113.9"),
    ))  # fmt: skip
    engine, settings = engine_for(db), Settings(database_url=db)
    for obj in list_local(captures, Window.of()):
        load_capture(engine, obj, settings)
    for obj in list_local(logs, Window.of()):
        load_object(engine, obj, settings)
    with engine.connect() as conn:
        (stored,) = conn.execute(text("SELECT amz_cf_id, x_forwarded_for FROM http_requests")).all()
        rows = conn.execute(text("SELECT * FROM cloudfront_origin_exchanges")).mappings().all()
        classified = conn.execute(text("SELECT amz_cf_id FROM http_requests_classified")).scalars().all()
    assert tuple(stored) == (EDGE_ID, "198.51.100.7")
    assert classified == [EDGE_ID]
    (row,) = rows
    assert (row["c_ip"], row["cs_uri_stem"], row["sc_status"], row["x_edge_request_id"]) == (
        "198.51.100.7", "/index.html", 200, EDGE_ID)  # fmt: skip
    assert (row["orig_h"], row["resp_h"], row["uri"], row["status_code"], row["x_forwarded_for"]) == (
        EDGE[0], ORIGIN[0], "/index.html", 200, "198.51.100.7")  # fmt: skip
    assert row["uid"] and row["community_id"].startswith("1:")
    assert row["cf_ts"] is not None and row["origin_ts"] is not None


def test_header_values_are_capped(tmp_path):
    from netsift.capture.dissect import HEADER_VALUE_MAX
    from tests.test_capture_accuracy import rows_of

    (row,) = rows_of(origin_capture(tmp_path / "long.pcap", "A" * 5000))["http_requests"]
    assert row["amz_cf_id"] == "A" * HEADER_VALUE_MAX
    assert row["x_forwarded_for"] == "198.51.100.7"
