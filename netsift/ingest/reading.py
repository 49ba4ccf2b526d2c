"""Reading one source object as a stream of text lines, safely.

Objects come from attackers' traffic and from buckets anyone may have written
to, so compression is told by magic bytes rather than names, the decompressed
size is capped (gzip bombs), and no line is ever held whole past a limit.
"""

from __future__ import annotations

import gzip
import io
import tempfile
import zlib
from typing import BinaryIO, Iterator

GZIP_MAGIC = b"\x1f\x8b"
PARQUET_MAGIC = b"PAR1"
_OTHER_COMPRESSION = {
    b"BZh": "bzip2",
    b"\x28\xb5\x2f\xfd": "zstd",
    b"\xfd7zXZ\x00": "xz",
    b"PK\x03\x04": "zip",
}


class TooLongLine(str):
    """A line cut at the reader's limit: its start, kept for the reject record."""


class UnreadableObject(ValueError):
    """The object cannot be read as a log at all (corrupt, too large, wrong kind)."""


class _ReadableBody(io.RawIOBase):
    """Adapts anything with `read(n)` (a botocore StreamingBody) to RawIOBase,
    so a BufferedReader can `peek` at its magic bytes without seeking."""

    def __init__(self, body) -> None:
        self._body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if isinstance(self._body, (io.BufferedIOBase, io.RawIOBase)):  # a local file: no bytes object per read
            return self._body.readinto(buffer) or 0
        data = self._body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        close = getattr(self._body, "close", None)
        if close:
            close()
        super().close()


class _HashedBody(_ReadableBody):
    """Feeds a digest every byte read from the object as stored."""

    def __init__(self, body, digest) -> None:
        super().__init__(body)
        self._digest = digest

    def readinto(self, buffer) -> int:
        count = super().readinto(buffer)
        self._digest.update(memoryview(buffer)[:count])
        return count


def buffered(body, stored_digest=None) -> io.BufferedReader:
    """`body` buffered, so its magic bytes can be peeked at. `stored_digest`
    (a hashlib object) is fed the bytes as stored, compressed or not, as they
    are read: `read_to_end` completes it."""
    if stored_digest is not None:
        return io.BufferedReader(_HashedBody(body, stored_digest), buffer_size=1 << 20)
    if isinstance(body, io.BufferedReader):
        return body
    return io.BufferedReader(_ReadableBody(body), buffer_size=1 << 20)


def read_to_end(stream: io.BufferedReader) -> None:
    """Reads what a parser left unread (bytes after a gzip stream's end, say),
    so a digest of the stored bytes covers all of them."""
    while stream.read(1 << 16):
        pass


def compression_of(stream: io.BufferedReader) -> str | None:
    """'gzip', None for plain text; raises for a compression we do not read."""
    head = stream.peek(8)[:8]
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    for magic, name in _OTHER_COMPRESSION.items():
        if head.startswith(magic):
            raise UnreadableObject(f"compressed with {name}; CloudFront delivers gzip or plain")
    return None


def is_parquet(stream: io.BufferedReader) -> bool:
    return stream.peek(4)[:4] == PARQUET_MAGIC


def spooled(stream: io.BufferedReader, *, max_total_bytes: int, digest=None):
    """The object in a temporary file, for formats read from the end.

    Parquet's footer, which says where everything is, comes last, and an S3
    body cannot seek. Disk rather than memory, under the same size cap as
    text, and hashed as it is copied, like text lines."""
    update = (digest or _NoDigest()).update
    file = tempfile.TemporaryFile()
    try:
        total = 0
        while chunk := stream.read(1 << 20):
            total += len(chunk)
            if total > max_total_bytes:
                raise UnreadableObject(
                    f"size exceeds the cap of {max_total_bytes} bytes (NETSIFT_MAX_DECOMPRESSED_BYTES)"
                )
            update(chunk)
            file.write(chunk)
        file.seek(0)
        return file
    except BaseException:
        file.close()
        raise


def decompressed(stream: io.BufferedReader) -> BinaryIO:
    if compression_of(stream) == "gzip":
        return gzip.GzipFile(fileobj=stream, mode="rb")
    return stream


class _NoDigest:
    def update(self, data: bytes) -> None:
        pass


def text_lines(
    body, *, max_line_bytes: int, max_total_bytes: int, digest=None
) -> Iterator[str]:
    """Decoded lines of an object, gzip or plain.

    Over-long lines come out as `TooLongLine` holding their start; the rest
    of such a line is skipped without being held in memory. Going over
    `max_total_bytes` decompressed raises UnreadableObject.

    `digest` (a hashlib object) is fed every decompressed byte as it is read,
    so an object's content hash costs no second pass: once the lines are
    consumed, it identifies the content whatever the object's name or
    compression.
    """
    source = decompressed(buffered(body))
    update = (digest or _NoDigest()).update
    total = 0
    try:
        while True:
            chunk = source.readline(max_line_bytes + 1)
            if not chunk:
                return
            update(chunk)
            total += len(chunk)
            if total > max_total_bytes:
                raise UnreadableObject(
                    f"decompressed size exceeds the cap of {max_total_bytes} bytes "
                    "(NETSIFT_MAX_DECOMPRESSED_BYTES); possibly a gzip bomb"
                )
            if len(chunk) > max_line_bytes and not chunk.endswith(b"\n"):
                head = chunk.decode("utf-8", "backslashreplace")
                while chunk and not chunk.endswith(b"\n"):
                    chunk = source.readline(max_line_bytes + 1)
                    update(chunk)
                    total += len(chunk)
                    if total > max_total_bytes:
                        raise UnreadableObject(
                            f"decompressed size exceeds the cap of {max_total_bytes} bytes"
                        )
                yield TooLongLine(head)
                continue
            yield chunk.decode("utf-8", "backslashreplace")
    except (gzip.BadGzipFile, zlib.error) as error:
        raise UnreadableObject(f"corrupt gzip: {error}") from error
    except EOFError as error:
        raise UnreadableObject(f"truncated gzip: {error}") from error
