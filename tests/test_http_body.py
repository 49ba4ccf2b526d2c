"""Undoing HTTP framing and compression before hashing, bombs included."""

from __future__ import annotations

import gzip
import zlib

from hypothesis import given
from hypothesis import strategies as st

from netsift.capture.http_body import decoded_body


def message(body: bytes, *headers: str) -> bytes:
    return ("HTTP/1.1 200 OK\r\n" + "".join(h + "\r\n" for h in headers) + "\r\n").encode() + body


def chunked(body: bytes, size: int = 7) -> bytes:
    parts = [body[i : i + size] for i in range(0, len(body), size)]
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n\r\n"


@given(st.binary(max_size=3000), st.integers(1, 500))
def test_chunked_gzip_round_trips(body, chunk):
    sent = message(chunked(gzip.compress(body), chunk), "Transfer-Encoding: chunked", "Content-Encoding: gzip")
    assert decoded_body(sent) == body


def test_deflate_both_flavours_and_plain():
    body = b"<html>" * 100
    assert decoded_body(message(zlib.compress(body), "Content-Encoding: deflate")) == body
    raw = zlib.compressobj(wbits=-15)
    assert decoded_body(message(raw.compress(body) + raw.flush(), "Content-Encoding: deflate")) == body
    assert decoded_body(message(body, f"Content-Length: {len(body)}")) == body


def test_content_length_cuts_off_a_pipelined_message():
    assert decoded_body(message(b"hello" + b"HTTP/1.1 200 OK\r\n\r\nnext", "Content-Length: 5")) == b"hello"


def test_gzip_bomb_stops_at_the_cap_and_yields_no_body():
    from netsift.capture.http import BodyFeed

    bomb = message(gzip.compress(b"\x00" * (20 << 20)), "Content-Encoding: gzip")
    feed = BodyFeed(max_body_bytes=1 << 20)
    feed.consume([b"7\t" + bomb.hex().encode() + b"\t"])
    assert feed.take(7) == [] and feed.error is None


def test_corrupt_compression_keeps_the_bytes_as_sent():
    assert decoded_body(message(b"\x1f\x8bnot really", "Content-Encoding: gzip")) == b"\x1f\x8bnot really"
