"""Connections as Zeek splits them, and every HTTP request on them: repeats of
one session on the same ports (tshark folds those together), pipelined and
concurrent requests. The captures are written here, byte by byte."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.pcap_gen import ACK, FIN, PSH, SYN, PcapWriter, http_request, http_response
from netsift.capture.dissect import Limits, capture_info, dissect
from netsift.settings import Settings

T0 = 1_700_000_000.0
CLIENT, SERVER = "10.0.0.7", "192.0.2.80"


def rows_of(path: Path, **limits) -> tuple[dict[str, list[tuple]], str | None]:
    tables: dict[str, list[tuple]] = {}
    info = capture_info(path)
    for table, row in dissect(path, 1, info, Limits.from_settings(Settings(), timeout=60, **limits)):
        tables.setdefault(table, []).append(row)
    return tables, info.partial


def exchange(w: PcapWriter, ts: float, sport: int, requests: list[bytes], responses: list[bytes],
             pipelined: bool = True) -> float:  # fmt: skip
    """One connection: handshake, the requests (all before any response when
    pipelined, else each followed by its response), FINs. Same sequence
    numbers every time, as a replayed session has them."""
    c, s = 1000, 5000
    w.tcp(ts, CLIENT, SERVER, sport, 80, c, 0, SYN)
    w.tcp(ts + 0.001, SERVER, CLIENT, 80, sport, s, c + 1, SYN | ACK)
    w.tcp(ts + 0.002, CLIENT, SERVER, sport, 80, c + 1, s + 1, ACK)
    c, s, t = c + 1, s + 1, ts + 0.003
    order = [("req", r) for r in requests] + [("resp", r) for r in responses] if pipelined else [
        item for pair in zip(requests, responses) for item in (("req", pair[0]), ("resp", pair[1]))
    ]  # fmt: skip
    for kind, message in order:
        for offset in range(0, len(message), 1400):
            chunk = message[offset : offset + 1400]
            if kind == "req":
                w.tcp(t, CLIENT, SERVER, sport, 80, c, s, PSH | ACK, chunk)
                c += len(chunk)
            else:
                w.tcp(t, SERVER, CLIENT, 80, sport, s, c, PSH | ACK, chunk)
                s += len(chunk)
            t += 0.001
    w.tcp(t, CLIENT, SERVER, sport, 80, c, s, FIN | ACK)
    w.tcp(t + 0.001, SERVER, CLIENT, 80, sport, s, c + 1, FIN | ACK)
    w.tcp(t + 0.002, CLIENT, SERVER, sport, 80, c + 1, s + 1, ACK)
    return t + 0.002


def repeated_session(path: Path, times: int, gap: float) -> None:
    with path.open("wb") as sink:
        w = PcapWriter(sink)
        for i in range(times):
            request = http_request(f"/beacon?n={i:02d}", "c2.example", "agent")
            exchange(w, T0 + i * gap, 40000, [request], [http_response(b"%02d" % i * 1000)])
            # an unrelated connection between the repeats
            exchange(w, T0 + i * gap + 1, 41000 + i, [http_request("/other", "x.example", "a")],
                     [http_response(b"other")])  # fmt: skip


@pytest.mark.slow
def test_a_session_repeated_hours_apart_on_the_same_ports_is_one_connection_each(tmp_path):
    path = tmp_path / "repeat.pcap"
    repeated_session(path, times=12, gap=7200)
    tables, partial = rows_of(path)
    assert partial is None
    repeats = sorted((r for r in tables["connections"] if r[4] == 40000), key=lambda r: r[1])
    assert len(repeats) == 12 and len(tables["connections"]) == 24
    assert len({r[2] for r in repeats}) == 12  # each its own uid
    assert {r[8:15] for r in repeats} == {
        ("http", 0.006999, 66, 2066, 5, 4, "SF")
    }  # each counts one session; as Zeek, the clock stops at the second FIN, not the last ACK
    assert len({r[15] for r in repeats}) == 1 and repeats[0][15].startswith("1:")  # one flow, one Community ID
    http = [r for r in tables["http_requests"] if r[4] == 40000]
    assert len(http) == 12 and len(tables["http_requests"]) == 24
    # each request on the connection of its own hour, with its own answer
    uid_ts = {r[2]: r[1] for r in repeats}
    for row in http:
        n = int(row[9].rsplit("=", 1)[1])
        assert uid_ts[row[2]] == repeats[n][1] and (row[12], row[15]) == (200, 2000)
    assert len([f for f in tables["extracted_files"] if f[4].startswith("/beacon")]) == 12


@pytest.mark.slow
def test_a_closed_session_repeated_within_the_timeout_is_a_new_connection(tmp_path):
    path = tmp_path / "reuse.pcap"
    repeated_session(path, times=5, gap=30)  # Zeek: a SYN on a closed connection reuses it
    tables, partial = rows_of(path)
    assert partial is None
    assert len([r for r in tables["connections"] if r[4] == 40000]) == 5
    assert len([r for r in tables["http_requests"] if r[4] == 40000]) == 5


def test_sessions_tshark_folds_beyond_the_pass_limit_make_the_capture_partial(tmp_path):
    path = tmp_path / "many.pcap"
    repeated_session(path, times=5, gap=7200)
    tables, partial = rows_of(path, max_refold_passes=0)
    assert partial == (
        "4 TCP sessions reuse the ports and sequence numbers of an earlier one and were left out of the "
        "0 extra tshark passes allowed; tshark reads them as retransmissions, so their HTTP is missing"
    )
    assert len([r for r in tables["connections"] if r[4] == 40000]) == 5  # counted still
    assert len([r for r in tables["http_requests"] if r[4] == 40000]) == 1


def test_pipelined_requests_on_one_connection_are_each_a_row(tmp_path):
    path = tmp_path / "pipelined.pcap"
    bodies = [b"a" * 3000, b"b" * 10, b"c" * 5000]
    with path.open("wb") as sink:
        exchange(PcapWriter(sink), T0, 40000, [http_request(f"/p{i}", "h.example", "ua") for i in range(3)],
                 [http_response(b) for b in bodies])  # fmt: skip
    tables, _ = rows_of(path)
    assert [(r[9], r[12], r[15]) for r in tables["http_requests"]] == [
        ("/p0", 200, 3000), ("/p1", 200, 10), ("/p2", 200, 5000)
    ]
    assert sorted(f[5] for f in tables["extracted_files"]) == [10, 3000, 5000]


def test_range_requests_in_parallel_connections_are_each_a_row(tmp_path):
    path = tmp_path / "ranges.pcap"
    parts = [b"x" * 4000, b"y" * 4000, b"z" * 1000]
    with path.open("wb") as sink:
        w = PcapWriter(sink)
        # three connections open at once, their packets interleaved in time
        for i, part in enumerate(parts):
            request = (f"GET /big.bin HTTP/1.1\r\nHost: h.example\r\nRange: bytes={i * 4000}-{i * 4000 + len(part) - 1}"
                       "\r\n\r\n").encode()  # fmt: skip
            response = (f"HTTP/1.1 206 Partial Content\r\nContent-Length: {len(part)}\r\n"
                        f"Content-Range: bytes {i * 4000}-{i * 4000 + len(part) - 1}/9000\r\n\r\n").encode() + part
            exchange(w, T0 + i * 0.0003, 40000 + i, [request], [response])
    tables, _ = rows_of(path)
    assert sorted((r[4], r[9], r[12], r[15]) for r in tables["http_requests"]) == [
        (40000, "/big.bin", 206, 4000), (40001, "/big.bin", 206, 4000), (40002, "/big.bin", 206, 1000)
    ]


def test_pipelined_requests_and_responses_sharing_one_segment_are_each_a_row(tmp_path):
    path = tmp_path / "one-segment.pcap"
    requests = b"".join(http_request(f"/s{i}", f"h{i}.example", "ua") for i in range(3))
    responses = b"".join(http_response(b"%d" % i * 20) for i in range(3))
    with path.open("wb") as sink:  # all three requests in one segment, all answers in another
        exchange(PcapWriter(sink), T0, 40000, [requests], [responses])
    tables, _ = rows_of(path)
    assert [(r[8], r[9], r[12], r[15]) for r in tables["http_requests"]] == [
        ("h0.example", "/s0", 200, 20), ("h1.example", "/s1", 200, 20), ("h2.example", "/s2", 200, 20)
    ]
