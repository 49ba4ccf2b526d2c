"""One capture in, Zeek-style rows out: connections, dns, http, files.

Two tshark passes run at once, each streamed: the main one with every
packet's connection, DNS and HTTP fields, and one for the HTTP response
bodies (hashed in memory). Rows come out as they complete, so memory holds
only live connections and unanswered requests.
"""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from netsift.settings import Settings
from netsift.capture.conn import Conn, ConnTracker, services_of
from netsift.capture.dns import DnsLog, reply_flips_roles
from netsift.capture.folds import Flow, FoldedSessions
from netsift.capture.dns_fields import DNS_FIELDS, dns_message, has_dns, is_response
from netsift.capture.fields import first as _first, integer as _int, text as _text
from netsift.capture.http_line import zeek_uri
from netsift.capture.http_raw import raw_http
from netsift.capture.http import BODY_FIELDS, BodyFeed, HttpLog, HttpRequest
from netsift.capture.layers import Layer, is_unknown_transport, layers_of
from netsift.capture.pcapfile import (  # noqa: F401 (imported from here by callers)
    CaptureInfo, capture_info, ensure_uncompressed, link_type_of, write_frames,
)
from netsift.capture.tshark import TsharkRun, field_args, tshark_lines

HEADER_VALUE_MAX = 1024  # characters kept of X-Amz-Cf-Id / X-Forwarded-For
SWEEP_EVERY = 20_000  # packets between sweeps of idle connections
REFOLD_PASSES = 64  # extra tshark passes at most for connections tshark folded together (folds.py)
MAIN_FIELDS = (
    "frame.number", "frame.time_epoch", "frame.protocols", "frame.len", "frame.cap_len",
    "ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "ip.proto", "ipv6.nxt", "ip.len", "ip.hdr_len",
    "ipv6.plen", "ipv6.hopopts.len_oct",
    "tcp.srcport", "tcp.dstport", "tcp.flags", "tcp.seq_raw", "tcp.len", "tcp.stream",
    "udp.srcport", "udp.dstport", "udp.length",
    "icmp.type", "icmp.code", "icmpv6.type", "icmpv6.code",
    *DNS_FIELDS,
    "http.request.method", "http.host", "http.request.uri", "http.referer", "http.user_agent",
    "http.response.code", "http.content_type", "http.content_length_header",
    "http.x_forwarded_for", "http.request.line", "http.request.version",
    "data.data",  # last: payload no dissector claimed; its first bytes tell protocols by content
)  # fmt: skip
# Zeek puts segments that arrive out of order back in place; tshark does
# only when asked (without it, an HTTP answer with one late segment is lost)
REASSEMBLY = ("-o", "tcp.reassemble_out_of_order:TRUE")
F = {name: index for index, name in enumerate(MAIN_FIELDS)}
_IPV4, _IPV6 = (F["ip.src"], F["ip.dst"]), (F["ipv6.src"], F["ipv6.dst"])
_TCP = tuple(F[f"tcp.{name}"] for name in ("srcport", "dstport", "flags", "seq_raw", "len", "stream"))
_TIME = F["frame.time_epoch"]
_UDP = tuple(F[f"udp.{name}"] for name in ("srcport", "dstport", "length"))
_DNS = slice(F[DNS_FIELDS[0]], F[DNS_FIELDS[0]] + len(DNS_FIELDS))


@dataclass(frozen=True)
class Limits:
    """Caps on one capture's dissection; their defaults live in Settings."""

    timeout: float
    max_line_bytes: int
    max_capture_bytes: int
    max_body_bytes: int
    max_refold_passes: int = REFOLD_PASSES

    @classmethod
    def from_settings(cls, settings: Settings, **overrides) -> "Limits":
        return cls(**{
            "timeout": settings.tshark_timeout_seconds,
            "max_line_bytes": settings.max_tshark_line_bytes,
            "max_capture_bytes": settings.max_capture_bytes,
            "max_body_bytes": settings.max_http_body_bytes,
            **overrides,
        })  # fmt: skip


def _body_feed(capture: Path, decode_as: list[str], display_filter: str, limits: Limits,
               run: TsharkRun) -> tuple[BodyFeed, threading.Thread]:  # fmt: skip
    """Start the body pass on its own thread (and tshark on the other core)."""
    feed = BodyFeed(limits.max_body_bytes)
    lines = tshark_lines(
        capture, [*REASSEMBLY, *decode_as, "-Y", display_filter, *field_args(BODY_FIELDS)], run,
        timeout=limits.timeout, max_line_bytes=limits.max_line_bytes,
    )  # fmt: skip
    thread = threading.Thread(target=feed.consume, args=(lines,), daemon=True)
    thread.start()
    return feed, thread


def dissect(capture: Path, object_id: int, info: CaptureInfo, limits: Limits) -> Iterator[tuple[str, tuple]]:
    """(table, row) for every row of the capture; fills in `info` as it goes.

    One main pass with tshark's own protocol guesses; if a connection opened
    with an HTTP request that tshark did not dissect (Zeek finds protocols by
    content, tshark by port), one more pass decodes those ports as HTTP.
    """
    body_run, run = TsharkRun(), TsharkRun()
    feed, body_thread = _body_feed(capture, [], "http.response", limits, body_run)
    cut: set[str] = set()  # uids of connections with frames shorter than on the wire
    tracker, dns, http = ConnTracker(info.sha256), DnsLog(object_id), HttpLog(object_id, feed, cut)
    missed: list[Conn] = []
    unread: list[Conn] = []  # HTTP tshark did not dissect: http_raw.py reads it
    longest_cut = 0  # the largest captured length of a cut frame: the snaplen that cut it
    # Connections tshark folded into an earlier one on the same ports, with
    # their frames, for passes of their own (folds.py).
    folded = FoldedSessions()

    def finished(conns) -> Iterator[tuple[str, tuple]]:
        for conn in conns:
            if conn.refold:
                continue  # written after its fold's pass, which finds its services
            if conn.proto == "tcp" and http.missed(conn):
                missed.append(conn)
            elif conn.proto == "tcp" and http.to_read(conn):
                unread.append(conn)
            yield "connections", conn.row(object_id)

    try:
        lines = tshark_lines(capture, [*REASSEMBLY, *field_args(MAIN_FIELDS)], run,
                             timeout=limits.timeout, max_line_bytes=limits.max_line_bytes)  # fmt: skip
        for f in _rows_of(lines):
            raw = f[_TIME]  # _epoch, inline: once per packet
            ts = float(raw[: raw.find(b".") + 7] if b"." in raw else raw)
            info.packets += 1
            info.first_ts = ts if info.first_ts is None else min(info.first_ts, ts)
            info.last_ts = ts if info.last_ts is None else max(info.last_ts, ts)
            if info.packets % SWEEP_EVERY == 0:
                yield from finished(tracker.expired(ts))
                for row in dns.expired(ts):
                    yield "dns_queries", row
            cap_len, wire_len = _int(f[F["frame.cap_len"]]), _int(f[F["frame.len"]])
            frame_cut = cap_len is not None and wire_len is not None and cap_len < wire_len
            if frame_cut:
                longest_cut = max(longest_cut, cap_len)
            packets = _packets(f, ts)
            if not packets:
                continue
            for packet in packets:  # outer UDP tunnels first, the frame's own flow last
                conn, forward = tracker.packet(**packet)
            if tracker.ended:
                yield from finished(tracker.ended)
                tracker.ended.clear()
            if frame_cut:
                cut.add(conn.uid)
            if conn.refold:
                folded.add(conn, int(f[F["frame.number"]]))
                continue  # tshark took these for retransmissions: the fold's own pass reads them
            if conn.proto in ("udp", "tcp") and has_dns(f[_DNS]):  # not an ICMP error's quote
                if (row := dns.message(conn, dns_message(f[_DNS], ts))) is not None:
                    yield "dns_queries", row
            if conn.proto == "tcp" and b"http" in f[F["frame.protocols"]]:
                yield from _http(f, ts, conn, forward, http)
        yield from finished(tracker.remaining())
        yield from finished(tracker.ended)
        for row in dns.remaining():
            yield "dns_queries", row
        for row in http.remaining():
            yield "http_requests", row
    finally:
        body_thread.join()
    if feed.error:
        raise feed.error
    for row in http.range_files():
        yield "extracted_files", row
    reasons = [run.partial or body_run.partial]
    if longest_cut:
        # Read from the frames, not the file header: a cut frame keeps exactly
        # snaplen bytes, while editcap -s leaves a pcapng's interface snaplen
        # at 65535 and a short header snaplen alone cuts nothing.
        reasons.append(f"snaplen {longest_cut} truncates payloads")
    if folded:
        with tempfile.TemporaryDirectory(prefix="netsift-fold-") as scratch:
            for fold in folded.passes(capture, Path(scratch), limits.max_refold_passes):
                yield from _http_pass(fold.capture, object_id, fold.flows, fold.ports, None, limits, cut,
                                      note_services=True)  # fmt: skip
        for conn in folded.conns:
            yield "connections", conn.row(object_id)
        if lost := sum(bool(conn.orig.seq_span or conn.resp.seq_span) for conn in folded.unpassed):
            reasons.append(
                f"{lost} TCP sessions reuse the ports and sequence numbers of an earlier one "
                f"and were left out of the {limits.max_refold_passes} extra tshark passes allowed; "
                "tshark reads them as retransmissions, so their HTTP is missing"
            )  # fmt: skip
    info.partial = "; ".join(r for r in reasons if r) or None
    if missed:
        yield from _missed_http(capture, object_id, missed, limits, cut)
    if unread:
        yield from raw_http(capture, http, unread, limits.timeout, limits.max_line_bytes, limits.max_body_bytes)


def _missed_http(capture: Path, object_id: int, conns: list[Conn], limits: Limits,
                 cut: set[str]) -> Iterator[tuple[str, tuple]]:  # fmt: skip
    """HTTP rows of connections tshark did not recognise, decoding their ports as HTTP."""
    ports = sorted({conn.resp_p for conn in conns})[:64]
    only = " || ".join(f"tcp.port == {port}" for port in ports)
    flows = {(conn.orig_h, conn.orig_p, conn.resp_h, conn.resp_p): conn for conn in conns}
    yield from _http_pass(capture, object_id, flows, ports, only, limits, cut, note_services=False)


def _http_pass(capture: Path, object_id: int, flows: dict[Flow, Conn], ports: list[int], only: str | None,
               limits: Limits, cut: set[str], note_services: bool) -> Iterator[tuple[str, tuple]]:  # fmt: skip
    """One more pair of tshark passes (headers, bodies) over `capture` that
    decodes `ports` as HTTP, with rows attached to the connections of
    `flows` only: keyed (orig_h, orig_p, resp_h, resp_p) as `capture` has them."""
    by_key = {}
    for (orig_h, orig_p, resp_h, resp_p), conn in flows.items():
        by_key[(orig_h, orig_p, resp_h, resp_p)] = (conn, True)
        by_key[(resp_h, resp_p, orig_h, orig_p)] = (conn, False)
    decode_as = [arg for port in ports for arg in ("-d", f"tcp.port=={port},http")]
    narrowed = (lambda shown: f"{shown} && ({only})") if only else (lambda shown: shown)
    body_run, run = TsharkRun(), TsharkRun()
    feed, body_thread = _body_feed(capture, decode_as, narrowed("http.response"), limits, body_run)
    http = HttpLog(object_id, feed, cut)
    try:
        lines = tshark_lines(capture, [*REASSEMBLY, *decode_as, "-Y", narrowed("http"), *field_args(MAIN_FIELDS)], run,
                             timeout=limits.timeout, max_line_bytes=limits.max_line_bytes)  # fmt: skip
        for f in _rows_of(lines):
            packets = _packets(f, _epoch(f[F["frame.time_epoch"]]))
            packet = packets[-1] if packets else None
            if packet is None or packet["proto"] != "tcp":
                continue
            found = by_key.get((packet["src"], packet["sport"], packet["dst"], packet["dport"]))
            if found:
                if note_services:
                    found[0].services.update(services_of(packet["protocols"]))
                yield from _http(f, packet["ts"], found[0], found[1], http)
        for row in http.remaining():
            yield "http_requests", row
    finally:
        body_thread.join()
    if feed.error:
        raise feed.error


def _rows_of(lines: Iterator[bytes]) -> Iterator[list[bytes]]:
    width = len(MAIN_FIELDS)
    for line in lines:
        fields = line.split(b"\t")
        if len(fields) == width:
            yield fields


def _epoch(value: bytes) -> float:
    """Seconds, cut to microseconds as libpcap hands them to Zeek: a
    nanosecond capture's 240 ns connection lasts 1 µs there, not 0."""
    dot = value.find(b".")
    return float(value[: dot + 7] if dot >= 0 else value)


def _at(value: bytes, index: int) -> bytes:
    """The `index`-th occurrence of a field (b"" when absent)."""
    if index == 0:
        return _first(value)
    parts = value.split(b"\x1f")
    return parts[index] if 0 <= index < len(parts) else b""


def _packets(f: list[bytes], ts: float) -> list[dict]:
    """The frame's packets for the connection tracker: outer UDP tunnels
    first, the flow itself (whose DNS and HTTP the frame carries) last."""
    protocols = f[F["frame.protocols"]].decode("ascii", "replace")
    layers = layers_of(protocols)
    if len(layers) == 1:  # no tunnel: most frames
        packet = _packet(f, ts, protocols, layers[0], True)
        return [packet] if packet is not None else []
    found = []
    for layer in layers:
        packet = _packet(f, ts, protocols[: layer.protocols_end], layer, own=layer is layers[-1])
        if packet is not None:
            found.append(packet)
    return found


def _fields(f: list[bytes], indexes: tuple[int, ...], index: int) -> list[bytes]:
    """The `index`-th occurrences of some fields; the first are left whole
    (fields.integer reads the first itself), the common case kept cheap."""
    return [f[k] for k in indexes] if index == 0 else [_at(f[k], index) for k in indexes]


def _packet(f: list[bytes], ts: float, protocols: str, layer: Layer, own: bool) -> dict | None:
    """The tracker's view of one layer; `own`: the frame's DNS, if any, is this layer's."""
    src, dst = _IPV6 if layer.family == "ipv6" else _IPV4
    src, dst = (_first(f[src]), _first(f[dst])) if layer.ip_index == 0 else _fields(f, (src, dst), layer.ip_index)
    if not src or not dst:
        return None
    common = {"src": src.decode(), "dst": dst.decode(), "ts": ts, "protocols": protocols}
    six, i = layer.family == "ipv6", layer.index
    if layer.proto == "tcp":
        sport, dport, flags, seq, length, stream = _fields(f, _TCP, i)
        return {
            **common, "proto": "tcp", "sport": _int(sport), "dport": _int(dport),
            "flags": _int(flags) or 0, "seq": _int(seq), "tcp_len": _int(length) or 0, "stream": _int(stream),
            "head": bytes.fromhex(_first(f[F["data.data"]])[:32].decode()) if f[F["data.data"]] else b"",
        }  # fmt: skip
    if layer.proto == "udp":
        sport, dport, length = _fields(f, _UDP, i)
        return {
            **common, "proto": "udp", "sport": _int(sport), "dport": _int(dport),
            "payload": (_int(length) or 8) - 8,
            "is_reply": own and reply_flips_roles(is_response(f[_DNS]), common["dst"]),
        }  # fmt: skip
    if layer.proto == "icmp":
        icmp_type = _int(_at(f[F["icmpv6.type" if six else "icmp.type"]], i))
        icmp_code = _int(_at(f[F["icmpv6.code" if six else "icmp.code"]], i))
        if icmp_type is None:
            return None
        return {**common, "proto": "icmp", "sport": icmp_type, "dport": icmp_code or 0,
                "payload": _ip_payload(f, layer) - 8}  # fmt: skip
    number = _int(_at(f[F["ipv6.nxt" if six else "ip.proto"]], layer.ip_index))
    if not is_unknown_transport(layer.family, number):
        return None
    return {**common, "proto": "unknown_transport", "sport": number, "dport": 0, "payload": 0}


def _ip_payload(f: list[bytes], layer: Layer) -> int:
    """Bytes after the IP header chain, as Zeek's IP_Hdr::PayloadLen."""
    if layer.family == "ipv6":
        length = _int(_at(f[F["ipv6.plen"]], layer.ip_index)) or 0
        if layer.hopopts >= 0:
            length -= _int(_at(f[F["ipv6.hopopts.len_oct"]], layer.hopopts)) or 0
        return length
    total, header = _int(_at(f[F["ip.len"]], layer.ip_index)), _int(_at(f[F["ip.hdr_len"]], layer.ip_index))
    return total - header if total and header else 0


def _capped(text: str | None) -> str | None:
    """Headers the client wrote: stored as text, capped, never parsed further."""
    return text[:HEADER_VALUE_MAX] if text else text


def _header(lines: bytes, name: bytes) -> str | None:
    """The first value of header `name` (lowercase, with its colon) among
    tshark's request lines: tshark has no field for X-Amz-Cf-Id."""
    for line in lines.split(b"\x1f"):
        if line[: len(name)].lower() == name:
            value = line[len(name) :].strip()
            if value.endswith(b"\\r\\n"):  # tshark writes the line's CRLF escaped
                value = value[:-4].strip()
            return _capped(_text(value))
    return None


def _nth(value: bytes, index: int, count: int) -> bytes:
    """The `index`-th of `count` messages' values in one frame's field; when
    the field's occurrences do not line up with the messages (a header some
    lack), none is attributed rather than the wrong one."""
    if count == 1:
        return _first(value)
    parts = value.split(b"\x1f")
    return parts[index] if len(parts) == count else b""


def _http(f, ts, conn, forward, http: HttpLog) -> Iterator[tuple[str, tuple]]:
    """Rows for the HTTP messages of one frame: a segment can carry several
    pipelined requests, or several responses, each its own row."""
    frame = int(f[F["frame.number"]])
    if f[F["http.request.method"]]:
        count = f[F["http.request.method"]].count(b"\x1f") + 1
        for i in range(count):
            field = lambda name: _nth(f[F[name]], i, count)  # noqa: E731
            http.request(frame, HttpRequest(
                ts=ts, conn=conn,
                method=_text(field("http.request.method")),
                host=_text(field("http.host")),
                uri=zeek_uri(field("http.request.method"), field("http.request.uri"),
                             field("http.request.version")),
                version=_text(field("http.request.version")) or "0.9",  # a line without one
                referrer=_text(field("http.referer")),
                user_agent=_text(field("http.user_agent")),
                body_len=_int(field("http.content_length_header")) or 0,
                # tshark's request lines run together across messages: one request's only
                amz_cf_id=_header(f[F["http.request.line"]], b"x-amz-cf-id:") if count == 1 else None,
                x_forwarded_for=_capped(_text(field("http.x_forwarded_for"))),
            ))  # fmt: skip
    elif f[F["http.response.code"]]:
        count = f[F["http.response.code"]].count(b"\x1f") + 1
        for i in range(count):
            row, files = http.response(
                frame, conn, _int(_nth(f[F["http.response.code"]], i, count)),
                _text(_nth(f[F["http.content_type"]], i, count)),
                _int(_nth(f[F["http.content_length_header"]], i, count)),
                with_body=i == 0,  # the body pass reads one message per frame
            )  # fmt: skip
            if row is not None:
                yield "http_requests", row
            for file_row in files:
                yield "extracted_files", file_row
    elif not forward:
        http.server_spoke.add(conn.uid)
