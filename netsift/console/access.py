"""Who may talk to the console.

On loopback (the default) only this machine can connect, but a web page the
analyst visits could still reach 127.0.0.1 through DNS rebinding: requests
whose Host header is not the console's own are refused. Bound to any other
address, every request needs the token from NETSIFT_BROWSE_TOKEN: given once
as `?token=...`, then kept in an HttpOnly, SameSite=Strict cookie.
"""

from __future__ import annotations

import hmac
import ipaddress
from urllib.parse import urlencode

from flask import Flask, Response, redirect, request

COOKIE = "netsift_browse_token"
MIN_TOKEN_CHARS = 16


class AccessError(ValueError):
    """The console may not start as asked; the message says what to change."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_binding(host: str, token: str | None) -> None:
    if is_loopback(host):
        return
    if not token:
        raise AccessError(
            f"binding to {host} exposes the tables to the network: set NETSIFT_BROWSE_TOKEN "
            f"(at least {MIN_TOKEN_CHARS} characters) or use --host 127.0.0.1"
        )
    if len(token) < MIN_TOKEN_CHARS:
        raise AccessError(f"NETSIFT_BROWSE_TOKEN must be at least {MIN_TOKEN_CHARS} characters")


def loopback_hosts(port: int) -> set[str]:
    return {f"{name}:{port}" for name in ("127.0.0.1", "localhost", "[::1]")}


def guard(server: Flask, token: str | None, allowed_hosts: set[str] | None) -> None:
    """Install the checks on every request, Dash's own callbacks included."""

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
