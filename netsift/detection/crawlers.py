"""Crawler claims and the operators' networks: is a self-declared Googlebot
really Google's?

Anyone can send `Googlebot`; only Google sends it from Google's networks.
A user agent's claim (which operator it names) is a property of the string,
stored with its verdict; an address's operators (whose networks hold it) is
a property of the address, stored per client (`client_networks`). The views
compare the two in SQL, so detection stays set-based.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.resources import files
from pathlib import Path

import yaml

from netsift.detection.geoip import Network
from netsift.detection.ruleset import SAFE_LOADER

MAX_INPUT = 2000  # as for the user-agent rules: attacker strings are cut first

BUNDLED = files("netsift.detection").joinpath("rules", "crawler_networks.yaml")
_OPERATOR_ID = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")  # goes inside a LIKE pattern: no % or _


class NetworksError(ValueError):
    """A crawler networks file netsift refuses to load."""


@dataclass(frozen=True)
class Operator:
    id: str
    claims: re.Pattern
    asns: frozenset[int]
    as_orgs: frozenset[str]  # lowercased
    ranges: tuple  # (IP version, network as an integer, netmask as an integer)


@dataclass(frozen=True)
class CrawlerNetworks:
    version: str  # a digest of the file: a new file means new claims and lookups
    operators: tuple[Operator, ...]

    def claimed_operator(self, user_agent: str | None) -> str | None:
        """The operator whose crawler the user agent says it is, or None."""
        text = (user_agent or "")[:MAX_INPUT]
        return next((op.id for op in self.operators if op.claims.search(text)), None)

    def operators_of(self, address: str, network: Network) -> list[str]:
        """The operators whose networks hold this (public, canonical) address."""
        ip = ipaddress.ip_address(address)
        version, number = ip.version, int(ip)
        org = (network.as_org or "").lower()
        return [op.id for op in self.operators if (network.asn is not None and network.asn in op.asns)
                or (org and org in op.as_orgs)
                or any(v == version and number & mask == net for v, net, mask in op.ranges)]  # fmt: skip


def _operator(raw) -> Operator:
    if not isinstance(raw, dict) or not _OPERATOR_ID.match(str(raw.get("id", ""))):
        raise NetworksError(f"crawler networks: an operator needs an id of lowercase words and hyphens: {raw!r}")
    name = raw["id"]
    try:
        claims = re.compile(raw["claims"], re.IGNORECASE)
    except (KeyError, TypeError, re.error) as error:
        raise NetworksError(f"crawler operator {name!r}: claims must be a regex: {error}") from error
    asns, orgs = raw.get("asns") or [], raw.get("as_orgs") or []
    if not all(isinstance(a, int) and not isinstance(a, bool) and a > 0 for a in asns):
        raise NetworksError(f"crawler operator {name!r}: asns must be positive numbers, got {asns!r}")
    if not all(isinstance(o, str) and o for o in orgs):
        raise NetworksError(f"crawler operator {name!r}: as_orgs must be names, got {orgs!r}")
    ranges = raw.get("ranges") or {}
    if ranges and not (isinstance(ranges, dict) and ranges.get("source") and ranges.get("as_of")):
        raise NetworksError(f"crawler operator {name!r}: ranges need source, as_of and list")
    try:
        networks = tuple(ipaddress.ip_network(str(r)) for r in ranges.get("list", []))
    except ValueError as error:
        raise NetworksError(f"crawler operator {name!r}: bad range: {error}") from error
    if not (asns or orgs or networks):
        raise NetworksError(f"crawler operator {name!r}: lists no networks (asns, as_orgs or ranges)")
    ranges = tuple((n.version, int(n.network_address), int(n.netmask)) for n in networks)
    return Operator(name, claims, frozenset(asns), frozenset(o.lower() for o in orgs), ranges)


def load_crawler_networks(path: Path | None = None) -> CrawlerNetworks:
    source = Path(path) if path else BUNDLED
    try:
        text = source.read_text()
        document = yaml.load(text, Loader=SAFE_LOADER) or {}
    except (OSError, yaml.YAMLError) as error:
        raise NetworksError(f"{source}: cannot read crawler networks: {error}") from error
    operators = tuple(_operator(raw) for raw in document.get("operators") or [])
    ids = [op.id for op in operators]
    if len(set(ids)) != len(ids):
        raise NetworksError(f"{source}: operator ids used twice: {sorted({i for i in ids if ids.count(i) > 1})}")
    return CrawlerNetworks(f"{document.get('version', '?')}#{hashlib.sha256(text.encode()).hexdigest()[:8]}",
                           operators)  # fmt: skip


@lru_cache(maxsize=1)
def bundled_crawler_networks() -> CrawlerNetworks:
    return load_crawler_networks()
