"""Who may talk to the console.

On loopback (the default) only this machine can connect, but a web page the
analyst visits could still reach 127.0.0.1 through DNS rebinding: requests
whose Host header is not the console's own are refused. Bound to any other
address, every request needs the token from NETSIFT_BROWSE_TOKEN: given once
as `?token=...`, then kept in an HttpOnly, SameSite=Strict cookie.

A token must be hard to guess: 16 or more characters, no whitespace or
control characters, and at least 64 bits by its own character frequencies
(its length times the Shannon entropy of its characters), which refuses
`aaaaaaaaaaaaaaaa`, `abcabcabcabcabca` and sixteen spaces alike.
`generate_token()` makes one (43 URL-safe characters, 256 bits). The token
never reaches a log: the request log's `?token=` values are redacted.
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import math
import re
import secrets
from collections import Counter
from urllib.parse import urlencode

from flask import Flask, Response, redirect, request

COOKIE = "netsift_browse_token"
MIN_TOKEN_CHARS = 16
MIN_TOKEN_BITS = 64


class AccessError(ValueError):
    """The console may not start as asked; the message says what to change."""


_TOKEN_IN_URL = re.compile(r"([?&;]token=)[^&;\s\"']*", re.IGNORECASE)


def redact_token(text: str) -> str:
    return _TOKEN_IN_URL.sub(r"\1<redacted>", text)


class RedactTokens(logging.Filter):
    """Rewrites `?token=...` in a record (werkzeug logs each request line,
    query string included) before any handler writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_token(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact_token(a) if isinstance(a, str) else a for a in record.args)
        return True


def redact_request_logs() -> None:
    """Once per process: the request loggers of werkzeug and Flask."""
    for name in ("werkzeug", "flask.app", "dash"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_binding(host: str, token: str | None) -> None:
    """A token, when one is set, must be strong (on loopback too: it is then
    demanded there as well); beyond loopback one is required."""
    if token:
        check_token(token)
        return
    if not is_loopback(host):
        raise AccessError(
            f"binding to {host} exposes the tables to the network: set NETSIFT_BROWSE_TOKEN "
            f"({MIN_TOKEN_CHARS}+ characters, {MIN_TOKEN_BITS}+ bits) or use --host 127.0.0.1"
        )


def token_bits(token: str) -> float:
    """Bits the token carries by its own character frequencies: a lower
    bound an attacker who knows the token's alphabet must search."""
    counts = Counter(token)
    return -sum(n * math.log2(n / len(token)) for n in counts.values())


def check_token(token: str) -> None:
    """Refuse a token that is short, holds whitespace, or repeats itself."""
    fix = "; make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))'"
    if len(token) < MIN_TOKEN_CHARS:
        raise AccessError(f"NETSIFT_BROWSE_TOKEN must be at least {MIN_TOKEN_CHARS} characters{fix}")
    if any(c.isspace() or not c.isprintable() for c in token):
        raise AccessError(f"NETSIFT_BROWSE_TOKEN must not hold spaces or control characters{fix}")
    if token_bits(token) < MIN_TOKEN_BITS or (token + token).find(token, 1) < len(token):
        raise AccessError(f"NETSIFT_BROWSE_TOKEN is too predictable (under {MIN_TOKEN_BITS} bits: "
                          f"too few different characters, or repeated){fix}")  # fmt: skip


def generate_token() -> str:
    """A token that passes `check_token`: 256 random bits, URL-safe."""
    while True:
        token = secrets.token_urlsafe(32)
        if token_bits(token) >= MIN_TOKEN_BITS:
            return token


def loopback_hosts(port: int) -> set[str]:
    return {f"{name}:{port}" for name in ("127.0.0.1", "localhost", "[::1]")}


def guard(server: Flask, token: str | None, allowed_hosts: set[str] | None) -> None:
    """Install the checks on every request, Dash's own callbacks included."""
    redact_request_logs()
    if token:
        check_token(token)

    @server.before_request
    def _check():
        if allowed_hosts is not None and request.host not in allowed_hosts:
            return Response("netsift browse: unexpected Host header\n", 403, mimetype="text/plain")
        if not token:
            return None
        supplied = _supplied_token()
        if supplied is None or not hmac.compare_digest(supplied.encode(), token.encode()):
            return Response(
                "netsift browse: this console needs its token; open the address "
                "`netsift browse` printed, with ?token=...\n",
                401,
                mimetype="text/plain",
            )
        if "token" in request.args:
            # Move the token out of the address bar (and history) into a cookie.
            rest = [(k, v) for k, v in request.args.items(multi=True) if k != "token"]
            response = redirect(request.path + (f"?{urlencode(rest)}" if rest else ""))
            response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", secure=request.is_secure)
            return response
        return None

    @server.after_request
    def _headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response


def _supplied_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[len("Bearer ") :]
    return request.cookies.get(COOKIE) or request.args.get("token")
