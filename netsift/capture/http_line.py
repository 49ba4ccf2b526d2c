"""HTTP request lines read as Zeek's HTTP analyzer reads them (HTTP.cc).

tshark and Zeek part ways on lines no browser sends: tshark keeps the URI
percent-encoded and cuts it at the first space, and skips a request whose
method it does not know (QUERY) or that has no version (HTTP/0.9); Zeek
logs the URI decoded, up to the space before `HTTP/`, and takes any token
as a method. http.log's `uri` is Zeek's, so these rules are Zeek's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from netsift.capture.fields import text

# RFC 2616 token characters (Zeek's is_HTTP_token_char)
_SEPARATORS = frozenset(b' \t()<>@,;:\\"/[]?={}')
_TOKEN = frozenset(c for c in range(32, 127) if c not in _SEPARATORS)
_VERSION = re.compile(rb"([0-9])\.([0-9])")
# RFC 3986 reserved and unreserved characters, and %
_URI_CHARS = frozenset(b":/?#[]@!$&'()*+,;=-_.~%0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_HEX = frozenset(b"0123456789abcdefABCDEF")
# Zeek's DPD signature for a client that speaks HTTP (base/protocols/http/dpd.sig)
DPD_CLIENT = re.compile(
    rb"^[ \t\r\n\v\f]*(OPTIONS|GET|HEAD|POST|PUT|DELETE|QUERY|ACL|BASELINE-CONTROL|BIND|CHECKIN|CHECKOUT"
    rb"|CONNECT|COPY|LABEL|LINK|LOCK|MERGE|MKACTIVITY|MKCALENDAR|MKCOL|MKREDIRECTREF|MOVE|ORDERPATCH"
    rb"|PATCH|PROPFIND|PROPPATCH|REBIND|REPORT|SEARCH|TRACE|UNBIND|UNCHECKOUT|UNLINK|UNLOCK|UPDATE"
    rb"|VERSION-CONTROL|BCOPY|BDELETE|BMOVE|BPROPFIND|BPROPPATCH|NOTIFY|POLL|SUBSCRIBE|UNSUBSCRIBE"
    rb"|X-MS-ENUMATTS|MKWORKSPACE|RPC_IN_DATA|RPC_OUT_DATA)"
)


@dataclass(frozen=True)
class RequestLine:
    method: str
    uri: str  # decoded, as http.log has it
    version: str | None  # "1.1", "0.9" when the line has none, None when unreadable


def unescaped_uri(raw: bytes) -> bytes:
    """Zeek's unescape_URI: %XX and %uXXXX decoded, a doubled % read as one,
    anything else left as sent."""
    if b"%" not in raw:
        return raw
    out, i, end = bytearray(), 0, len(raw)
    while i < end:
        ch = raw[i]
        if ch != 0x25:  # %
            out.append(ch)
            i += 1
            continue
        i += 1
        if i == end:
            out.append(0x25)
            break
        if i + 1 == end:
            out += raw[i - 1 : i + 1]
            break
        if raw[i] == 0x25:
            continue  # "%%": the first is dropped, the second starts an escape
        if raw[i] in _HEX and raw[i + 1] in _HEX:
            out.append(int(raw[i : i + 2], 16))
            i += 2
        elif end - i >= 5 and raw[i] == 0x75 and all(c in _HEX for c in raw[i + 1 : i + 5]):  # %uXXXX
            if raw[i + 1 : i + 3] != b"00":
                out.append(int(raw[i + 1 : i + 3], 16))
            out.append(int(raw[i + 3 : i + 5], 16))
            i += 5
        else:
            out += raw[i - 1 : i + 1]
            i += 1
    return bytes(out)


def _version_at(line: bytes, start: int) -> int:
    """Where `HTTP/` starts after the whitespace at `start`, or -1."""
    at = start
    while at < len(line) and line[at] in b" \t":
        at += 1
    return at if line[at : at + 5].upper() == b"HTTP/" else -1


def request_line(line: bytes) -> RequestLine | None:
    """A request line (without its CRLF) as Zeek parses it, or None where
    Zeek reports a bad request."""
    end_of_method = 0
    while end_of_method < len(line) and line[end_of_method] in _TOKEN:
        end_of_method += 1
    rest = end_of_method
    while rest < len(line) and line[rest] in b" \t":
        rest += 1
    if end_of_method == 0 or rest == end_of_method:
        return None
    uri_end = rest
    while uri_end < len(line) and line[uri_end] in _URI_CHARS:
        uri_end += 1
    if uri_end >= len(line) and line[rest : rest + 5].upper() == b"HTTP/":
        uri_end = rest  # "GET HTTP/1.1": no URI
    # Zeek's scan: the URI runs on to the whitespace before the first `HTTP/`
    # after it, spaces and all
    scan, found = uri_end, -1
    while scan < len(line):
        uri_end = scan
        found = _version_at(line, scan)
        if found >= 0:
            break
        while scan < len(line) and line[scan] in b" \t":
            scan += 1
        scan += 1
    version = None
    if found < 0:
        version = "0.9"
    elif found + 8 <= len(line) and (match := _VERSION.match(line, found + 5)):
        version = f"{match[1].decode()}.{match[2].decode()}"
    uri = line[rest:uri_end]
    if version == "0.9" and (end_of_method < 3 or not uri):
        return None  # Zeek: not HTTP, or very strange
    return RequestLine(line[:end_of_method].decode("ascii"), text(unescaped_uri(uri)) or "", version)


def zeek_uri(method: bytes, uri: bytes, version: bytes) -> str | None:
    """http.log's URI from tshark's three request-line fields."""
    if not uri:
        return None
    if _VERSION.fullmatch(version[5:]) and version[:5].upper() == b"HTTP/":
        return text(unescaped_uri(uri))  # the common line: tshark split it where Zeek does
    parsed = request_line(b" ".join((method, uri, version)))
    return parsed.uri if parsed else text(unescaped_uri(uri))
