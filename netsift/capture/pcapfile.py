"""The capture file's own bytes: format, hashes, inflating, and copying
chosen frames into a smaller capture.

Frames are copied record by record, never parsed: tshark does the parsing,
in a process of its own. Everything here reads only the pcap and pcapng
framing (record and block headers), whose lengths are checked.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
import zlib
from dataclasses import dataclass
from itertools import chain
from pathlib import Path
from typing import BinaryIO, Callable, Iterable

from netsift.capture.tshark import CaptureError

PCAP_MAGICS = {b"\xd4\xc3\xb2\xa1": "<", b"\xa1\xb2\xc3\xd4": ">",
               b"\x4d\x3c\xb2\xa1": "<", b"\xa1\xb2\x3c\x4d": ">"}  # fmt: skip
PCAPNG_MAGIC = b"\x0a\x0d\x0d\x0a"
LINK_TYPES = {0: "NULL", 1: "EN10MB", 101: "RAW", 105: "IEEE802_11", 113: "LINUX_SLL",
              127: "IEEE802_11_RADIOTAP", 228: "IPV4", 229: "IPV6", 276: "LINUX_SLL2"}  # fmt: skip


@dataclass
class CaptureInfo:
    md5: str
    sha256: str
    size_bytes: int
    link_type: str | None
    packets: int = 0
    first_ts: float | None = None
    last_ts: float | None = None
    partial: str | None = None  # why the rows are incomplete: tshark's words, a short snaplen


def ensure_uncompressed(path: Path, workdir: Path, max_bytes: int) -> Path:
    """The capture itself: gzip is inflated into `workdir` (ours, private),
    under a name we choose, with a cap against bombs."""
    with path.open("rb") as handle:
        if handle.read(2) != b"\x1f\x8b":
            return path
    target = workdir / "capture.pcap"
    written = 0
    with gzip.open(path, "rb") as source, target.open("wb") as sink:
        try:
            while chunk := source.read(1 << 20):
                written += len(chunk)
                if written > max_bytes:
                    raise CaptureError(f"decompressed capture exceeds the cap of {max_bytes} bytes")
                sink.write(chunk)
        except (EOFError, gzip.BadGzipFile, zlib.error, OSError) as error:
            raise CaptureError(f"corrupt gzip: {error}") from error
    return target


def capture_info(path: Path) -> CaptureInfo:
    """Hashes and link type; refuses anything that is not pcap or pcapng."""
    md5, sha256, size = hashlib.md5(), hashlib.sha256(), 0
    with path.open("rb") as handle:
        # pcapng's link type sits in the block after the section header,
        # which carries options of any length: read well past it.
        head = handle.read(1 << 16)
        # Chained, not unpacked: the file streams through, one chunk in memory.
        for block in chain((head,), iter(lambda: handle.read(1 << 20), b"")):
            md5.update(block)
            sha256.update(block)
            size += len(block)
    return CaptureInfo(md5.hexdigest(), sha256.hexdigest(), size, link_type_of(head))


def link_type_of(head: bytes) -> str | None:
    if head[:4] in PCAP_MAGICS and len(head) >= 24:
        code = struct.unpack(PCAP_MAGICS[head[:4]] + "I", head[20:24])[0] & 0xFFFF
        return LINK_TYPES.get(code, str(code))
    if head[:4] == PCAPNG_MAGIC and len(head) >= 12:
        order = "<" if head[8:12] == b"\x4d\x3c\x2b\x1a" else ">"
        shb_length = struct.unpack(order + "I", head[4:8])[0]
        idb = head[shb_length : shb_length + 10]
        if len(idb) == 10 and struct.unpack(order + "I", idb[:4])[0] == 1:
            code = struct.unpack(order + "H", idb[8:10])[0]
            return LINK_TYPES.get(code, str(code))
        return None
    raise CaptureError(f"not a pcap or pcapng capture (first bytes {head[:8].hex()})")


# packet (obsolete), simple packet, enhanced packet: tshark's frames
PCAPNG_PACKET_BLOCKS = (2, 3, 6)
PCAPNG_INTERFACE_BLOCK = 1
FrameEdit = Callable[[int, int, memoryview], bool]


def first_packet_time(path: Path) -> float | None:
    """The first packet's timestamp (epoch seconds): a pcap's first record
    header, or a pcapng's first timestamped packet block read with its
    interface's time units. None for a capture without one near its start.
    A hint only: what tshark reads decides the rows."""
    with path.open("rb") as src:
        head = src.read(24)
        if head[:4] == PCAPNG_MAGIC:
            src.seek(0)
            return _pcapng_first_time(src)
        if len(head) < 24 or head[:4] not in PCAP_MAGICS:
            return None
        record = src.read(16)
    if len(record) < 16:
        return None
    seconds, fraction = struct.unpack(PCAP_MAGICS[head[:4]] + "II", record[:8])
    nanoseconds = head[:4] in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    return seconds + fraction / (1e9 if nanoseconds else 1e6)


PCAPNG_HINT_BLOCKS = 64  # a first packet further in is not looked for: the load learns its day anyway
_IF_TSRESOL, _IF_TSOFFSET = 9, 14  # interface description block options


def _pcapng_first_time(src: BinaryIO) -> float | None:
    order, interfaces = "<", []  # per interface: (units per second, offset in seconds)
    for _ in range(PCAPNG_HINT_BLOCKS):
        header = src.read(8)
        if len(header) < 8:
            return None
        if header[:4] == PCAPNG_MAGIC:
            magic = src.read(4)
            order = "<" if magic == b"\x4d\x3c\x2b\x1a" else ">"
            header += magic
            interfaces = []
        kind, length = struct.unpack(order + "II", header[:8])
        if length < 12 or length % 4 or length > 1 << 24:
            return None
        body = src.read(length - len(header))
        if len(body) < length - len(header):
            return None
        if kind == PCAPNG_INTERFACE_BLOCK:
            interfaces.append(_interface_clock(body, order))
        elif kind in (2, 6) and len(body) >= 12:  # obsolete and enhanced packets carry a timestamp
            interface = struct.unpack(order + ("H" if kind == 2 else "I"), body[: 2 if kind == 2 else 4])[0]
            high, low = struct.unpack(order + "II", body[4:12])
            if interface >= len(interfaces):
                return None
            units, offset = interfaces[interface]
            return ((high << 32) | low) / units + offset
    return None


def _interface_clock(body: bytes, order: str) -> tuple[float, int]:
    """An interface's timestamp units per second and offset, from its
    if_tsresol and if_tsoffset options (microseconds and 0 without them)."""
    units, offset, at = 1e6, 0, 8  # link type, reserved, snaplen come first
    end = len(body) - 4  # the block's trailing length
    while at + 4 <= end:
        code, size = struct.unpack(order + "HH", body[at : at + 4])
        value = body[at + 4 : at + 4 + size]
        if code == 0:
            break
        if code == _IF_TSRESOL and size == 1:
            units = float(2 ** (value[0] & 0x7F) if value[0] & 0x80 else 10 ** value[0])
        elif code == _IF_TSOFFSET and size == 8:
            offset = struct.unpack(order + "q", value)[0]
        at += 4 + size + (-size % 4)
    return units, offset


def write_frames(source: Path, target: Path, frames: Iterable[int],
                 edit: FrameEdit | None = None) -> int:  # fmt: skip
    """Copy the frames numbered `frames` (tshark's frame.number, from 1,
    ascending) of `source` into a new capture at `target`, keeping the
    file's headers (pcapng: every non-packet block, so interfaces stay);
    returns how many were copied. A cut last record ends the copy.

    `edit(position, link_type, packet)` may rewrite a frame's captured bytes
    in place (their length stays): `position` is the frame's index in
    `frames`; a False return leaves the frame out."""
    wanted = iter(frames)
    keep = edit or (lambda position, link_type, packet: True)
    with source.open("rb") as src, target.open("wb") as sink:
        head = src.read(4)
        if head in PCAP_MAGICS:
            return _pcap_frames(src, sink, head, PCAP_MAGICS[head], wanted, keep)
        if head == PCAPNG_MAGIC:
            return _pcapng_frames(src, sink, head, wanted, keep)
    raise CaptureError(f"not a pcap or pcapng capture (first bytes {head.hex()})")


def _pcap_frames(src: BinaryIO, sink: BinaryIO, magic: bytes, order: str, wanted,
                 keep: FrameEdit) -> int:  # fmt: skip
    header = src.read(20)
    sink.write(magic + header)
    link_type = struct.unpack(order + "I", header[16:20])[0] & 0xFFFF if len(header) == 20 else -1
    record = struct.Struct(order + "IIII")
    number, position, copied, next_wanted = 0, 0, 0, next(wanted, None)
    while next_wanted is not None:
        header = src.read(record.size)
        if len(header) < record.size:
            break
        length = record.unpack(header)[2]
        number += 1
        if number == next_wanted:
            data = bytearray(src.read(length))
            if len(data) < length:
                break
            if keep(position, link_type, memoryview(data)):
                sink.write(header + data)
                copied += 1
            position += 1
            next_wanted = next(wanted, None)
        else:
            src.seek(length, 1)
    return copied


def _pcapng_frames(src: BinaryIO, sink: BinaryIO, first: bytes, wanted, keep: FrameEdit) -> int:
    number, position, copied, next_wanted = 0, 0, 0, next(wanted, None)
    order, block_type = "<", first
    link_types: list[int] = []  # the section's interfaces, in order
    while next_wanted is not None:
        header = block_type + src.read(4) if block_type else src.read(8)
        block_type = b""
        if len(header) < 8:
            break
        if header[:4] == PCAPNG_MAGIC:  # a section header names its byte order
            magic = src.read(4)
            order = "<" if magic == b"\x4d\x3c\x2b\x1a" else ">"
            header += magic
            link_types = []
        kind, length = struct.unpack(order + "II", header[:8])
        if length < 12 or length % 4:
            raise CaptureError(f"pcapng block of impossible length {length}")
        rest = src.read(length - len(header))
        if len(rest) < length - len(header):
            break
        if kind == PCAPNG_INTERFACE_BLOCK and len(rest) >= 2:
            link_types.append(struct.unpack(order + "H", rest[:2])[0])
        if kind in PCAPNG_PACKET_BLOCKS:
            number += 1
            if number != next_wanted:
                continue
            block = bytearray(header + rest)
            position, next_wanted = position + 1, next(wanted, None)
            if not keep(position - 1, *_pcapng_packet(block, kind, order, link_types)):
                continue
            copied += 1
            sink.write(block)
            continue
        sink.write(header + rest)
    return copied


def _pcapng_packet(block: bytearray, kind: int, order: str,
                   link_types: list[int]) -> tuple[int, memoryview]:  # fmt: skip
    """A packet block's link type and its captured bytes (a view into the block)."""
    if len(block) < (16 if kind == 3 else 32):
        return -1, memoryview(block)[:0]  # too short to hold its own fields: nothing to read
    if kind == 3:  # simple packet: the first interface, no captured length of its own
        interface, start, captured = 0, 12, struct.unpack(order + "I", block[8:12])[0]
    elif kind == 6:  # enhanced packet: interface id, timestamp, captured and original lengths
        interface, captured = struct.unpack(order + "I8xI", block[8:24])
        start = 28
    else:  # obsolete packet: 16-bit interface id and drop count, then as enhanced
        interface, captured = struct.unpack(order + "H10xI", block[8:24])
        start = 28
    # the block's length was checked against the file, not this field against the block
    captured = max(0, min(captured, len(block) - 4 - start))
    link_type = link_types[interface] if interface < len(link_types) else -1
    return link_type, memoryview(block)[start : start + captured]
