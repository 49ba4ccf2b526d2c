"""HTTP as Zeek's http.log has it, and the files carried in its responses.

Response bodies come from tshark's reassembled HTTP messages, decoded here
(http_body.py), and are hashed in memory: these captures carry live malware, so no body ever touches the disk,
and no name from the network ever becomes a path.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import deque
from dataclasses import dataclass, replace
from typing import Iterable

import numpy as np
import ssdeep

from netsift.capture.conn import Conn, epoch_to_datetime
from netsift.capture.http_body import BodyTooLarge, decoded_body
from netsift.capture.http_line import DPD_CLIENT
from netsift.capture.http_ranges import RangeFiles, RangePiece, range_pieces

HTTP_COLUMNS = (
    "source_object_id", "ts", "uid", "orig_h", "orig_p", "resp_h", "resp_p", "method",
    "host", "uri", "referrer", "user_agent", "status_code", "resp_mime_types",
    "request_body_len", "response_body_len", "community_id", "amz_cf_id", "x_forwarded_for",
)  # fmt: skip
FILE_COLUMNS = (
    "source_object_id", "ts", "uid", "host", "uri", "size", "mime_type", "file_type",
    "md5", "sha1", "sha256", "entropy", "ssdeep",
)  # fmt: skip
_MAGIC_LOCK = threading.Lock()  # libmagic handles are not thread-safe
# Ports tshark's HTTP dissector sits on (its http.tcp.port default)
TSHARK_HTTP_PORTS = frozenset({80, 3128, 3132, 5985, 8080, 8088, 11371, 1900, 2869, 2710})
HTTP_METHODS = (b"GET ", b"POST ", b"HEAD ", b"PUT ", b"DELETE ", b"OPTIONS ", b"CONNECT ",
                b"PATCH ", b"TRACE ", b"PROPFIND ")  # fmt: skip


@dataclass(frozen=True)
class FileFacts:
    size: int
    md5: str
    sha1: str
    sha256: str
    entropy: float
    mime_type: str | None
    file_type: str | None
    ssdeep: str | None = None


def shannon_entropy(body: bytes) -> float:
    """Bits per byte: near 8 for compressed or encrypted payloads."""
    if not body:
        return 0.0
    counts = np.bincount(np.frombuffer(body, dtype=np.uint8), minlength=256)
    probabilities = counts[counts > 0] / len(body)
    return float(-(probabilities * np.log2(probabilities)).sum())


def file_facts(body: bytes) -> FileFacts:
    sha256 = hashlib.sha256(body).hexdigest()
    mime, description = file_type_of(sha256, body[:MAGIC_HEAD_BYTES]) if body else (None, None)
    return FileFacts(
        size=len(body),
        md5=hashlib.md5(body).hexdigest(),
        sha1=hashlib.sha1(body).hexdigest(),
        sha256=sha256,
        entropy=shannon_entropy(body),
        mime_type=mime,
        file_type=description,
        # libfuzzy, as the workbench notebook stored it: similar payloads
        # (a repacked dropper) share most of their digest.
        ssdeep=ssdeep.hash(body) if body else None,
    )


MAGIC_HEAD_BYTES = 1 << 14  # libmagic decides on the head; more only costs time
_TYPES: dict[str, tuple[str, str]] = {}


def file_type_of(sha256: str, head: bytes) -> tuple[str, str]:
    """libmagic's (MIME type, description), once per distinct body: the same
    scripts and images cross a network again and again."""
    import magic

    with _MAGIC_LOCK:
        known = _TYPES.get(sha256)
        if known is None:
            if len(_TYPES) >= 4096:
                _TYPES.clear()
            known = _TYPES[sha256] = (magic.from_buffer(head, mime=True), magic.from_buffer(head))
        return known


BODY_FIELDS = ("frame.number", "tcp.reassembled.data", "tcp.payload")


class BodyFeed:
    """Response bodies from their own tshark pass, read on another thread
    while the main pass runs: `take(frame)` waits until the feed has passed
    `frame`. tshark gives the raw reassembled message as hex; http_body.py
    undoes chunking and compression, so the bytes hashed are the file's.
    """

    def __init__(self, max_body_bytes: int) -> None:
        self._bodies: dict[int, list[FileFacts | RangePiece]] = {}
        self._through = 0
        self._done = False
        self._changed = threading.Condition()
        self.max_body_bytes = max_body_bytes
        self.error: BaseException | None = None

    def consume(self, lines: Iterable[bytes]) -> None:
        try:
            for line in lines:
                parts = line.split(b"\t")
                if len(parts) != len(BODY_FIELDS) or not parts[0]:
                    continue
                frame = int(parts[0].split(b"\x1f", 1)[0])
                raw = (parts[1] or parts[2]).split(b"\x1f", 1)[0]
                message = bytes.fromhex(raw.decode())
                try:
                    body = decoded_body(message, self.max_body_bytes)
                except BodyTooLarge:
                    body = b""
                if message.startswith(b"HTTP/") and message[8:13].strip() == b"206":
                    self._bodies.setdefault(frame, []).extend(range_pieces(message, body))
                elif body:
                    self._bodies.setdefault(frame, []).append(file_facts(body))
                self._advance(frame)
        except BaseException as error:  # re-raised in the consumer's thread
            self.error = error
        finally:
            with self._changed:
                self._done = True
                self._changed.notify_all()

    def _advance(self, frame: int) -> None:
        with self._changed:
            self._through = max(self._through, frame)
            self._changed.notify_all()

    def take(self, frame: int) -> list[FileFacts | RangePiece]:
        with self._changed:
            self._changed.wait_for(lambda: self._done or self._through >= frame)
        if self.error:
            raise self.error
        return self._bodies.pop(frame, [])


@dataclass
class HttpRequest:
    ts: float
    conn: Conn
    method: str | None
    host: str | None
    uri: str | None
    referrer: str | None
    user_agent: str | None
    body_len: int
    amz_cf_id: str | None = None  # CloudFront's x-edge-request-id, when CloudFront sent it
    x_forwarded_for: str | None = None
    version: str | None = None  # as the request line gave it: "HTTP/1.1", or "0.9" for none


class HttpLog:
    """Pairs requests with their responses in order on each connection, as
    Zeek does: HTTP/1.1 answers pipelined requests first come, first served,
    where tshark's `http.request_in` names the latest request sent."""

    def __init__(self, object_id: int, bodies: BodyFeed, cut: set[str] | None = None) -> None:
        self.object_id = object_id
        self.bodies = bodies
        # uids of connections with frames cut by the capture's snaplen: what
        # their server sent was not all seen, so no status or length is inferred
        self.cut = cut if cut is not None else set()
        self.requests: dict[str, deque[HttpRequest]] = {}  # unanswered, by connection uid
        self.server_spoke: set[str] = set()  # conns whose server sent HTTP data
        self.request_conns: set[str] = set()  # conns with a request tshark dissected
        self.ranges = RangeFiles(bodies.max_body_bytes)  # 206 answers, pieces of files
        self.unread: dict[str, Conn] = {}  # conns whose HTTP tshark missed: http_raw.py reads them

    def request(self, frame: int, request: HttpRequest) -> None:
        self.requests.setdefault(request.conn.uid, deque()).append(request)
        self.request_conns.add(request.conn.uid)

    def missed(self, conn: Conn) -> bool:
        """A connection that opened with an HTTP request tshark did not dissect
        (HTTP on a port it does not expect, request split into tiny segments)."""
        return conn.start.startswith(HTTP_METHODS) and conn.uid not in self.request_conns

    def spoke_unread(self, conn: Conn) -> bool:
        """A TCP client sent data, and tshark read none of it as a request,
        nor will a pass decoding the port as HTTP."""
        return (conn.proto == "tcp" and conn.uid not in self.request_conns and conn.orig.seq_span > 0
                and not self.missed(conn))  # fmt: skip

    def to_read(self, conn: Conn) -> bool:
        """Whether the payload pass should read this finished connection:
        its server answered in HTTP, or it ran where HTTP is expected or
        opened as Zeek's HTTP signature has it."""
        answered = self.unread.pop(conn.uid, None) is not None
        return self.spoke_unread(conn) and (
            answered or conn.resp_p in TSHARK_HTTP_PORTS or bool(DPD_CLIENT.match(conn.start))
        )

    def response(
        self, frame: int, conn: Conn, status: int | None,
        content_type: str | None, content_length: int | None, with_body: bool = True,
    ) -> tuple[tuple | None, list[tuple]]:  # fmt: skip
        """(http row, file rows) for a response; an interim one (1xx) leaves
        its request waiting for the final answer."""
        waiting = self.requests.get(conn.uid)
        request = None
        if waiting and not (status is not None and 100 <= status < 200):
            request = waiting.popleft()
            if not waiting:
                del self.requests[conn.uid]
        elif waiting:
            facts = self.bodies.take(frame) if with_body else []
            return None, [self.file_row(waiting[0], conn, f) for f in facts if f.size]
        if request is None and self.missed(conn):
            return None, []  # the pass that decodes this port as HTTP will report it
        if request is None and self.spoke_unread(conn):
            # an answer to a request tshark has not read (yet: a request
            # waiting for `100 Continue` is read with its body, after it)
            self.unread[conn.uid] = conn
            if with_body:
                self.bodies.take(frame)
            return None, []
        facts = self.bodies.take(frame) if with_body else []
        pieces = [p for p in facts if isinstance(p, RangePiece)]
        facts = [f for f in facts if isinstance(f, FileFacts)]
        if pieces and request is not None:
            self.ranges.add(request, conn, pieces)
        body = facts[0] if facts else None
        files = [self.file_row(request, conn, f) for f in facts if f.size]
        if request is None:
            return None, files
        mime = body.mime_type if body and body.size else mime_of(content_type)
        if conn.uid in self.cut:
            length = None  # the body tshark saw is what the snaplen left of it
        elif content_length is not None:
            length = content_length
        else:
            length = body.size if body else (0 if with_body else None)
        return self.row(request, status, [mime] if mime else None, length), files

    def range_files(self) -> list[tuple]:
        """File rows for the files sent in pieces, once all pieces are in."""
        return [self.file_row(request, conn, replace(file_facts(body), size=seen))
                for request, conn, body, seen in self.ranges.files_seen() if body]  # fmt: skip

    def remaining(self) -> list[tuple]:
        """Requests never answered; Zeek reports status 0 where the server
        answered a request without a version (HTTP/0.9) with bare data, and
        no status where it answered a versioned one so. On a connection cut by
        the snaplen the status line may simply be missing from the capture,
        so status and response length stay NULL (unseen, not zero)."""
        rows = []
        for request in (r for waiting in self.requests.values() for r in waiting):
            if request.conn.uid in self.cut:
                rows.append(self.row(request, None, None, None))
                continue
            spoke = request.conn.uid in self.server_spoke
            status = 0 if spoke and request.version == "0.9" else None
            rows.append(self.row(request, status, None, 0))
        self.requests = {}
        return rows

    def row(self, r: HttpRequest, status, mime_types, response_len) -> tuple:
        c = r.conn
        return (
            self.object_id, epoch_to_datetime(r.ts), c.uid, c.orig_h, c.orig_p, c.resp_h,
            c.resp_p, r.method, r.host, r.uri, r.referrer, r.user_agent, status,
            mime_types, r.body_len, response_len, c.community_id(), r.amz_cf_id, r.x_forwarded_for,
        )  # fmt: skip

    def file_row(self, request: HttpRequest | None, conn: Conn, f: FileFacts) -> tuple:
        # Its request's time; a response whose request the capture missed
        # gets its connection's start, so every file has a day (a partition
        # key, and what a prune goes by) no later than its own.
        ts = epoch_to_datetime(request.ts if request else conn.first_ts)
        return (
            self.object_id, ts, conn.uid, request.host if request else None,
            request.uri if request else None, f.size, f.mime_type, f.file_type,
            f.md5, f.sha1, f.sha256, round(f.entropy, 6) if not math.isnan(f.entropy) else None,
            f.ssdeep,
        )  # fmt: skip


def mime_of(content_type: str | None) -> str | None:
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None
