"""Where each kind of traffic lives, by column role. Names are ours, never data."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Source:
    name: str
    kind: str  # source_objects.kind of the objects its rows come from
    table: str
    view: str
    client: str
    path: str
    agent: str
    status: str


SOURCES = (
    Source("cloudfront", "cloudfront", "cloudfront_requests", "cloudfront_requests_classified",
           "c_ip", "cs_uri_stem", "cs_user_agent", "sc_status"),
    Source("pcap", "pcap", "http_requests", "http_requests_classified",
           "orig_h", "uri", "user_agent", "status_code"),
)  # fmt: skip
