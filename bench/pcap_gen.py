"""Synthetic captures: whole TCP/HTTP sessions and DNS exchanges, written as pcap.

For benchmarks (hundreds of thousands of packets over thousands of distinct
connections, so tshark sees real flows, not one flow replayed) and for tests
that need exact hostile bytes on the wire. Seeded, so every run is identical.
"""

from __future__ import annotations

import argparse
import random
import struct
from pathlib import Path
from typing import BinaryIO

ETH_HEADER = b"\x00\x11\x22\x33\x44\x55" + b"\x66\x77\x88\x99\xaa\xbb" + b"\x08\x00"
SYN, ACK, PSH, FIN = 0x02, 0x10, 0x08, 0x01
T_REPEATS = 1_700_000_000.0
MPLS_LABEL = b"\x88\x47" + b"\x00\x01\x01\x40"  # ethertype, then label 16, bottom of stack, TTL 64


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\x00"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def _ipv4(src: str, dst: str, proto: int, payload: bytes, ident: int) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000, 64, proto, 0,
        bytes(map(int, src.split("."))), bytes(map(int, dst.split("."))),
    )  # fmt: skip
    header = header[:10] + struct.pack("!H", _checksum(header)) + header[12:]
    return header + payload


def _tcp(sport: int, dport: int, seq: int, ack: int, flags: int, payload: bytes = b"") -> bytes:
    return struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                       5 << 4, flags, 65535, 0, 0) + payload  # fmt: skip


def _udp(sport: int, dport: int, payload: bytes) -> bytes:
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


class PcapWriter:
    def __init__(self, sink: BinaryIO, mpls: bool = False) -> None:
        self.sink, self.packets, self._ident = sink, 0, 0
        # MPLS-labelled Ethernet: a framing tshark reads and netsift does not rewrite
        self._link_header = ETH_HEADER[:12] + MPLS_LABEL if mpls else ETH_HEADER
        sink.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))

    def frame(self, ts: float, ip_packet: bytes) -> None:
        data = self._link_header + ip_packet
        seconds = int(ts)
        self.sink.write(struct.pack("<IIII", seconds, int((ts - seconds) * 1e6), len(data), len(data)))
        self.sink.write(data)
        self.packets += 1

    def tcp(self, ts, src, dst, sport, dport, seq, ack, flags, payload=b"") -> None:
        self._ident += 1
        self.frame(ts, _ipv4(src, dst, 6, _tcp(sport, dport, seq, ack, flags, payload), self._ident))

    def udp(self, ts, src, dst, sport, dport, payload) -> None:
        self._ident += 1
        self.frame(ts, _ipv4(src, dst, 17, _udp(sport, dport, payload), self._ident))

    def http_session(self, ts, client, server, sport, request: bytes, response: bytes, dport=80) -> float:
        """Handshake, one request, one response in segments, and FINs both ways."""
        c, s = 1000, 5000
        self.tcp(ts, client, server, sport, dport, c, 0, SYN)
        self.tcp(ts + 0.001, server, client, dport, sport, s, c + 1, SYN | ACK)
        self.tcp(ts + 0.002, client, server, sport, dport, c + 1, s + 1, ACK)
        self.tcp(ts + 0.003, client, server, sport, dport, c + 1, s + 1, PSH | ACK, request)
        c += 1 + len(request)
        offset, t = 0, ts + 0.004
        while offset < len(response):
            chunk = response[offset : offset + 1400]
            self.tcp(t, server, client, dport, sport, s + 1 + offset, c, PSH | ACK, chunk)
            offset += len(chunk)
            t += 0.0005
        s += 1 + len(response)
        self.tcp(t, client, server, sport, dport, c, s, ACK)
        self.tcp(t + 0.001, client, server, sport, dport, c, s, FIN | ACK)
        self.tcp(t + 0.002, server, client, dport, sport, s, c + 1, FIN | ACK)
        self.tcp(t + 0.003, client, server, sport, dport, c + 1, s + 1, ACK)
        return t + 0.003

    def dns_exchange(self, ts, client, server, sport, trans_id, name: str, address: str) -> None:
        question = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00\x00\x01\x00\x01"
        query = struct.pack("!HHHHHH", trans_id, 0x0100, 1, 0, 0, 0) + question
        answer = b"\xc0\x0c\x00\x01\x00\x01" + struct.pack("!IH", 300, 4) + bytes(map(int, address.split(".")))
        reply = struct.pack("!HHHHHH", trans_id, 0x8180, 1, 1, 0, 0) + question + answer
        self.udp(ts, client, server, sport, 53, query)
        self.udp(ts + 0.01, server, client, 53, sport, reply)


def http_request(path: str, host: str, agent: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {agent}\r\n\r\n".encode("latin-1")


def http_response(body: bytes, content_type: str = "text/html") -> bytes:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def write_capture(path: Path, packets: int, seed: int = 7) -> int:
    """A capture of about `packets` packets: web sessions over thousands of
    clients and ports (every session its own connection), with DNS lookups."""
    rng = random.Random(seed)
    # Sites serve the same assets to every visitor: 300 distinct bodies, as
    # scripts, styles, images and downloads, shared across the sessions.
    bodies = [rng.randbytes(rng.choice((200, 900, 3000, 12000))) for _ in range(300)]
    paths = ["/", "/index.html", "/app.js", "/style.css", "/logo.png", "/api/items", "/wp-login.php"]
    agents = ["Mozilla/5.0 (X11; Linux x86_64) Firefox/125.0", "curl/8.5.0", "python-requests/2.31"]
    with path.open("wb") as sink:
        writer, ts = PcapWriter(sink), 1_700_000_000.0
        while writer.packets < packets:
            client = f"10.{rng.randrange(1, 250)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            server = f"198.51.100.{rng.randrange(1, 255)}"
            host = f"site{rng.randrange(500)}.example"
            writer.dns_exchange(ts, client, "192.0.2.53", rng.randrange(1024, 65535),
                                rng.randrange(65536), host, server)  # fmt: skip
            body = rng.choice(bodies)
            ts = writer.http_session(
                ts + 0.02, client, server, rng.randrange(1024, 65535),
                http_request(rng.choice(paths), host, rng.choice(agents)),
                http_response(body, "application/octet-stream"),
            ) + rng.random() * 0.01  # fmt: skip
    return writer.packets


def write_repeated_sessions(path: Path, flows: int = 92, times: int = 60, gap: float = 7200.0,
                            mpls: bool = False) -> int:  # fmt: skip
    """The red team's beacon: `flows` HTTP sessions, each replayed `times`
    times `gap` seconds apart on the same ports with the same sequence
    numbers (tshark folds every replay into the first as retransmissions)."""
    with path.open("wb") as sink:
        writer = PcapWriter(sink, mpls)
        for i in range(times):
            for j in range(flows):
                request = http_request(f"/beacon/{j:03d}?n={i:04d}", "c2.example", "agent")
                writer.http_session(T_REPEATS + i * gap + j * 0.5, "10.0.0.7", f"198.51.100.{1 + j % 250}",
                                    40000 + j, request, http_response(b"%04d" % i * 500))  # fmt: skip
    return writer.packets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("path", type=Path)
    parser.add_argument("--packets", type=int, default=200_000)
    args = parser.parse_args()
    print(write_capture(args.path, args.packets), "packets written to", args.path)


if __name__ == "__main__":
    main()
