"""An HTTP message's entity body, as the application saw it.

tshark hands over the raw reassembled message; this undoes the framing
(`Transfer-Encoding: chunked`) and the compression (`Content-Encoding: gzip`
or `deflate`) with a cap, because a hostile server can send a bomb. Brotli
and unknown codings are left as sent.
"""

from __future__ import annotations

import zlib


class BodyTooLarge(ValueError):
    pass


def split_message(message: bytes) -> tuple[dict[bytes, bytes], bytes]:
    """(lower-cased headers, raw body) of one HTTP message."""
    head, _, body = message.partition(b"\r\n\r\n")
    headers = {}
    for line in head.split(b"\r\n")[1:]:
        name, sep, value = line.partition(b":")
        if sep:
            headers[name.strip().lower()] = value.strip().lower()
    return headers, body


def dechunked(body: bytes) -> bytes:
    out, index = bytearray(), 0
    while True:
        end = body.find(b"\r\n", index)
        if end < 0:
            break
        try:
            size = int(body[index:end].split(b";", 1)[0].strip() or b"0", 16)
        except ValueError:
            break
        if size <= 0:
            break
        out += body[end + 2 : end + 2 + size]
        index = end + 2 + size + 2
    return bytes(out)


def inflated(body: bytes, wbits: int, max_bytes: int) -> bytes:
    decompressor = zlib.decompressobj(wbits)
    out = decompressor.decompress(body, max_bytes + 1)
    if len(out) > max_bytes:
        raise BodyTooLarge(f"decompressed body exceeds {max_bytes} bytes")
    return out


def decoded_body(message: bytes, max_bytes: int = 64 << 20) -> bytes:
    headers, body = split_message(message)
    if b"chunked" in headers.get(b"transfer-encoding", b""):
        body = dechunked(body)
    else:
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) < len(body):
            body = body[: int(length)]  # pipelined messages follow
    coding = headers.get(b"content-encoding", b"")
    try:
        if coding in (b"gzip", b"x-gzip"):
            return inflated(body, 16 + zlib.MAX_WBITS, max_bytes)
        if coding == b"deflate":
            try:
                return inflated(body, zlib.MAX_WBITS, max_bytes)
            except zlib.error:
                return inflated(body, -zlib.MAX_WBITS, max_bytes)  # raw deflate, as IE sent it
    except zlib.error:
        return body  # corrupt compression: keep what was sent
    return body
