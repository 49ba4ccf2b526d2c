"""HTTP that Zeek logs and tshark does not dissect, read from the payload.

tshark drops a request line with a method it does not know (QUERY), with
no version (HTTP/0.9), or with bytes before the method; Zeek still logs the
transaction (http_line.py has its rules). A connection whose client spoke
but gave tshark no request comes here: one more tshark pass reads the
payloads of those connections only, and the first exchange on each is
parsed here. The bytes stay in memory, capped.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Iterator

from netsift.capture.conn import Conn
from netsift.capture.fields import first, integer, text
from netsift.capture.http import FileFacts, HttpLog, HttpRequest, mime_of, file_facts
from netsift.capture.http_body import BodyTooLarge, decoded_body, split_message
from netsift.capture.http_line import request_line
from netsift.capture.tshark import TsharkRun, field_args, tshark_lines

RAW_FIELDS = ("ip.src", "ipv6.src", "tcp.srcport", "ip.dst", "ipv6.dst", "tcp.dstport",
              "frame.time_epoch", "tcp.seq", "tcp.payload")  # fmt: skip
MAX_CONNS = 256  # connections read per capture; more are left unread
HEAD_BYTES = 64 << 10  # of a request: its line and headers are all that is read


class Stream:
    """One direction's payload in sequence order, retransmissions dropped, capped."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.segments: dict[int, bytes] = {}
        self.size = 0
        self.first_ts: float | None = None

    def add(self, seq: int, payload: bytes, ts: float) -> None:
        if seq in self.segments or self.size >= self.cap:
            return
        self.segments[seq] = payload
        self.size += len(payload)
        self.first_ts = ts if self.first_ts is None else self.first_ts

    def data(self) -> bytes:
        out, end = bytearray(), None
        for seq in sorted(self.segments):
            payload = self.segments[seq]
            if end is not None and seq < end:
                payload = payload[end - seq :]  # overlaps what is already there
            out += payload
            end = max(end or 0, seq + len(self.segments[seq]))
        return bytes(out[: self.cap])


def _headers(head: bytes) -> dict[bytes, bytes]:
    """Header lines after the first line, lower-cased names, values as sent."""
    headers = {}
    for line in head.replace(b"\r\n", b"\n").split(b"\n")[1:]:
        name, sep, value = line.partition(b":")
        if sep and name.strip().lower() not in headers:
            headers[name.strip().lower()] = value.strip()
    return headers


def exchange_rows(http: HttpLog, conn: Conn, client: Stream, server: Stream, max_body: int
                  ) -> Iterator[tuple[str, tuple]]:  # fmt: skip
    """Rows of a connection's first exchange, as Zeek logs it."""
    sent = client.data()
    line = sent.split(b"\n", 1)[0].rstrip(b"\r")
    parsed = request_line(line) if sent else None
    request = HttpRequest(ts=client.first_ts or server.first_ts or 0.0, conn=conn, method=None, host=None,
                          uri=None, referrer=None, user_agent=None, body_len=0)  # fmt: skip
    empty = request
    if parsed:
        headers = {} if parsed.version == "0.9" else _headers(sent.split(b"\r\n\r\n", 1)[0])
        request = replace(
            request, method=parsed.method, uri=parsed.uri, version=parsed.version,
            host=text(headers.get(b"host", b"")), referrer=text(headers.get(b"referer", b"")),
            user_agent=text(headers.get(b"user-agent", b"")),
            body_len=integer(headers.get(b"content-length", b"")) or 0,
        )  # fmt: skip
    answer = server.data()
    facts: FileFacts | None = None
    if answer[:5].upper() == b"HTTP/" and answer[5:6].isdigit():
        status_line = answer.split(b"\n", 1)[0].split(None, 2)
        status = integer(status_line[1]) if len(status_line) > 1 else None
        head, _ = split_message(answer)
        try:
            body = decoded_body(answer, max_body)
        except BodyTooLarge:
            body = b""
        facts = file_facts(body) if body else None
        length = integer(head.get(b"content-length", b""))
        length = len(body) if length is None else length
        mime = facts.mime_type if facts else mime_of(text(head.get(b"content-type", b"")))
    elif parsed and parsed.version == "0.9" and answer:
        status, length = 0, len(answer)  # HTTP/0.9: the reply is the bare body
        facts = file_facts(answer[:max_body])
        mime = facts.mime_type
    elif parsed:
        yield "http_requests", http.row(request, None, None, 0)
        return
    else:
        return  # neither side spoke HTTP
    yield "http_requests", http.row(request, status, [mime] if mime else None, length)
    if facts is not None and facts.size:
        yield "extracted_files", http.file_row(request if parsed else None, conn, facts)
    if parsed and parsed.version == "0.9":
        # Zeek ends the request's message only when the connection closes,
        # after the reply was logged: that opens and logs an empty transaction
        yield "http_requests", http.row(empty, None, None, 0)


def raw_http(capture: Path, http: HttpLog, conns: list[Conn], timeout: float, max_line_bytes: int,
             max_body: int) -> Iterator[tuple[str, tuple]]:  # fmt: skip
    """Rows for `conns`, from one tshark pass over their payloads."""
    conns = conns[:MAX_CONNS]
    ports = sorted({c.orig_p for c in conns})
    streams: dict[tuple, tuple[Conn, Stream]] = {}
    for conn in conns:
        client, server = Stream(HEAD_BYTES), Stream(max_body + HEAD_BYTES)
        streams[(conn.orig_h, conn.orig_p, conn.resp_h, conn.resp_p)] = (conn, client)
        streams[(conn.resp_h, conn.resp_p, conn.orig_h, conn.orig_p)] = (conn, server)
    only = "tcp.len > 0 && tcp.port in {" + ",".join(map(str, ports)) + "}"
    lines = tshark_lines(capture, ["-Y", only, "-o", "tcp.relative_sequence_numbers:FALSE",
                                   *field_args(RAW_FIELDS)], TsharkRun(),
                         timeout=timeout, max_line_bytes=max_line_bytes)  # fmt: skip
    for line in lines:
        f = line.split(b"\t")
        if len(f) != len(RAW_FIELDS) or not f[8]:
            continue
        src, dst = first(f[0]) or first(f[1]), first(f[3]) or first(f[4])
        found = streams.get((src.decode(), integer(f[2]), dst.decode(), integer(f[5])))
        if found:
            found[1].add(integer(f[7]) or 0, bytes.fromhex(first(f[8]).decode()), float(f[6]))
    for conn in conns:
        client = streams[(conn.orig_h, conn.orig_p, conn.resp_h, conn.resp_p)][1]
        server = streams[(conn.resp_h, conn.resp_p, conn.orig_h, conn.orig_p)][1]
        yield from exchange_rows(http, conn, client, server, max_body)
