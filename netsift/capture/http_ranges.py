"""Files sent in pieces: HTTP range requests (206 Partial Content).

Zeek's files framework takes every 206 answer a client gets for one URL as
a piece of one file (base/protocols/http/files.zeek: the handle is the
client and the URL), whichever connection carried it, and logs that file on
each of those connections with the bytes seen of it all (`seen_bytes`).
The pieces are kept (capped) until the capture ends, then put at their
offsets. A file seen whole is hashed as such; one with gaps is hashed over
the bytes seen, in offset order (Zeek hashes nothing then, but these
columns are never empty).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from netsift.capture.http_body import split_message

_RANGE = re.compile(rb"bytes\s+(\d+)-(\d+)/(\d+|\*)", re.IGNORECASE)
_BOUNDARY = re.compile(rb'boundary="?([^";\r\n]+)"?', re.IGNORECASE)
MAX_FILES = 1024  # range files followed per capture; later ones are left out


@dataclass(frozen=True)
class RangePiece:
    offset: int
    data: bytes
    total: int | None  # the whole file's length, when the server said


def _piece(content_range: bytes, data: bytes) -> RangePiece | None:
    match = _RANGE.search(content_range)
    if not match:
        return None
    first, last = int(match[1]), int(match[2])
    if last < first:
        return None
    total = int(match[3]) if match[3] != b"*" else None
    return RangePiece(first, data[: last - first + 1], total)


def range_pieces(message: bytes, body: bytes) -> list[RangePiece]:
    """The pieces in one 206 answer: its own Content-Range, or the parts of a
    multipart/byteranges body. `body` is the message's, framing undone."""
    head = message.split(b"\r\n\r\n", 1)[0]
    headers = split_message(message)[0]
    if b"multipart/byteranges" not in headers.get(b"content-type", b""):
        piece = _piece(headers.get(b"content-range", b""), body)
        return [piece] if piece else []
    found = _BOUNDARY.search(head)  # case kept: the boundary is matched as sent
    if not found:
        return []
    pieces = []
    for part in body.split(b"--" + found[1])[1:]:
        part_head, sep, data = part.partition(b"\r\n\r\n")
        if not sep:
            continue
        if data.endswith(b"\r\n"):
            data = data[:-2]  # the line break belongs to the next delimiter
        part_headers = split_message(b"part\r\n" + part_head.lstrip(b"\r\n") + b"\r\n\r\n")[0]
        piece = _piece(part_headers.get(b"content-range", b""), data)
        if piece:
            pieces.append(piece)
    return pieces


@dataclass
class RangeFile:
    pieces: dict[int, bytes] = field(default_factory=dict)  # by offset, while the budget lasts
    spans: set = field(default_factory=set)  # (offset, length) of every piece, kept or not
    conns: dict = field(default_factory=dict)  # uid -> (request, conn), in order seen

    def seen_bytes(self) -> int:
        """Bytes of the file seen, overlaps once (Zeek's seen_bytes)."""
        total, end = 0, 0
        for offset, length in sorted(self.spans):
            total += max(offset + length - max(offset, end), 0)
            end = max(end, offset + length)
        return total

    def assembled(self) -> bytes:
        out, end = bytearray(), 0
        for offset in sorted(self.pieces):
            data = self.pieces[offset]
            if offset + len(data) <= end:
                continue
            out += data[max(end - offset, 0) :]
            end = offset + len(data)
        return bytes(out)


class RangeFiles:
    """The range files of one capture, by client and URL. The pieces of all
    of them together are held up to `max_bytes` (one body's cap); past it a
    piece counts in the size only."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.kept = 0
        self.files: dict[tuple, RangeFile] = {}

    def add(self, request, conn, pieces: list[RangePiece]) -> None:
        key = (conn.orig_h, request.host, request.uri)
        found = self.files.get(key)
        if found is None:
            if len(self.files) >= MAX_FILES:
                return
            found = self.files[key] = RangeFile()
        found.conns.setdefault(conn.uid, (request, conn))
        for piece in pieces:
            found.spans.add((piece.offset, len(piece.data)))
            if piece.offset in found.pieces or self.kept + len(piece.data) > self.max_bytes:
                continue
            found.pieces[piece.offset] = piece.data
            self.kept += len(piece.data)

    def files_seen(self):
        """(request, conn, the file's bytes held, its bytes seen) for every
        connection of every file."""
        for found in self.files.values():
            body, seen = found.assembled(), found.seen_bytes()
            for request, conn in found.conns.values():
                yield request, conn, body, seen
        self.files, self.kept = {}, 0
