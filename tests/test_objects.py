"""Reading objects: gzip by magic bytes, caps on size and line length."""

from __future__ import annotations

import bz2
import gzip
import io

import pytest

from netsift.ingest.reading import TooLongLine, UnreadableObject, text_lines


def lines_of(data: bytes, max_line_bytes=1000, max_total_bytes=10**9):
    return list(
        text_lines(io.BytesIO(data), max_line_bytes=max_line_bytes, max_total_bytes=max_total_bytes)
    )


class ChunkedBody:
    """Like botocore's StreamingBody: read(n) only, no seek, short reads."""

    def __init__(self, data: bytes, chunk: int = 7):
        self._stream, self._chunk, self.closed = io.BytesIO(data), chunk, False

    def read(self, size=-1):
        return self._stream.read(min(size, self._chunk) if size and size > 0 else self._chunk)

    def close(self):
        self.closed = True


def test_gzip_and_plain_are_told_by_magic_bytes_not_names():
    text = b"a\tb\nc\td\n"
    assert lines_of(text) == lines_of(gzip.compress(text)) == ["a\tb\n", "c\td\n"]


def test_streaming_body_without_seek_is_read_through_a_buffer():
    text = b"".join(b"line %d\n" % i for i in range(1000))
    body = ChunkedBody(gzip.compress(text))
    assert len(list(text_lines(body, max_line_bytes=100, max_total_bytes=10**6))) == 1000


def test_concatenated_gzip_members_are_all_read():
    assert lines_of(gzip.compress(b"one\n") + gzip.compress(b"two\n")) == ["one\n", "two\n"]


def test_corrupt_gzip_is_unreadable_with_reason():
    data = bytearray(gzip.compress(b"x\ty\n" * 1000))
    data[20:40] = b"\xff" * 20
    with pytest.raises(UnreadableObject, match="corrupt gzip"):
        lines_of(bytes(data))


def test_truncated_gzip_is_unreadable_with_reason():
    data = gzip.compress(b"x\ty\n" * 10000)
    with pytest.raises(UnreadableObject, match="truncated gzip"):
        lines_of(data[: len(data) // 2])


def test_gzip_bomb_stops_at_the_cap():
    bomb = gzip.compress(b"\n" * (50 * 1024 * 1024))  # 50 MiB of newlines, ~50 KiB on disk
    assert len(bomb) < 200_000
    with pytest.raises(UnreadableObject, match="exceeds the cap of 1048576 bytes"):
        lines_of(bomb, max_total_bytes=1024 * 1024)


def test_one_huge_line_is_cut_not_held():
    data = b"2024\t" + b"A" * 5_000_000 + b"\nok\tline\n"
    lines = lines_of(data, max_line_bytes=1000)
    assert isinstance(lines[0], TooLongLine) and len(lines[0]) == 1001
    assert lines[1] == "ok\tline\n"


def test_other_compressions_are_named():
    with pytest.raises(UnreadableObject, match="bzip2"):
        lines_of(bz2.compress(b"x\n"))


def test_invalid_utf8_is_kept_visible_not_dropped():
    assert lines_of(b"caf\xe9\n") == ["caf\\xe9\n"]
