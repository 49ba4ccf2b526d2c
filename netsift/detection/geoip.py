"""Which country and autonomous system an address belongs to, offline.

By default from the data `geoip2fast` bundles (MaxMind GeoLite2 country and
ASN, IPv4 and IPv6, as of the package's release). It names the AS
organisation but not its number, so `asn` stays None with it. A user's own
MaxMind files (NETSIFT_GEOIP_COUNTRY_MMDB, NETSIFT_GEOIP_ASN_MMDB), read
with `maxminddb`, replace the part they cover and give the number too.

Lookups are cached per address: detection looks up each distinct client
once per run, and a log repeats its clients many times.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from netsift.settings import Settings

GEOIP2FAST_FILE = "geoip2fast-asn-ipv6.dat.gz"  # country + ASN, IPv4 + IPv6
CACHE_SIZE = 1 << 20  # distinct addresses kept: ~200 MB at worst, far fewer in practice


class Network(NamedTuple):
    country: str | None  # ISO 3166 alpha-2
    asn: int | None
    as_org: str | None


UNKNOWN = Network(None, None, None)


def public_address(text: str | None) -> str | None:
    """The address in canonical form when it is a global one (what a
    database can place), else None: private, loopback, documentation and
    malformed addresses are nobody's network."""
    try:
        address = ipaddress.ip_address((text or "").strip())
    except ValueError:
        return None
    return str(address) if address.is_global else None


class GeoLookup:
    """One reader per database, opened once; `network` is cached per address."""

    def __init__(self, geoip2fast_file: Path | None = None, country_mmdb: Path | None = None,
                 asn_mmdb: Path | None = None):  # fmt: skip
        self._country = self._asn = None
        self._fast = None
        versions = []
        if country_mmdb:
            self._country = _open_mmdb(country_mmdb, "NETSIFT_GEOIP_COUNTRY_MMDB")
            versions.append(_mmdb_version(self._country))
        if asn_mmdb:
            self._asn = _open_mmdb(asn_mmdb, "NETSIFT_GEOIP_ASN_MMDB")
            versions.append(_mmdb_version(self._asn))
        if not (self._country and self._asn):
            from geoip2fast import GeoIP2Fast

            try:
                self._fast = GeoIP2Fast(geoip2fast_data_file=str(geoip2fast_file or GEOIP2FAST_FILE))
            except Exception as error:  # geoip2fast raises its own GeoIPError, and gzip/pickle errors
                raise ValueError(f"NETSIFT_GEOIP2FAST_FILE {geoip2fast_file or GEOIP2FAST_FILE}: "
                                 f"cannot read it as a geoip2fast data file: {error}") from error
            versions.append("geoip2fast:" + self._fast.get_database_info()["source_info"])
        # Stored beside each looked-up address: a new database means new lookups.
        self.version = "+".join(versions)
        self.network = lru_cache(maxsize=CACHE_SIZE)(self._network)

    def _network(self, text: str | None) -> Network:
        address = public_address(text)
        if address is None:
            return UNKNOWN
        country = asn = as_org = None
        if self._fast is not None:
            found = self._fast.lookup(address)
            if not self._country and len(found.country_code or "") == 2 and found.country_code != "--":
                country = found.country_code
            if not self._asn:
                as_org = found.asn_name or None
        if self._country is not None:
            record = self._country.get(address) or {}
            place = record.get("country") or record.get("registered_country") or {}
            country = place.get("iso_code")
        if self._asn is not None:
            record = self._asn.get(address) or {}
            asn, as_org = record.get("autonomous_system_number"), record.get("autonomous_system_organization")
        return Network(country, asn, as_org)


def _open_mmdb(path: Path, setting: str):
    import maxminddb

    try:
        return maxminddb.open_database(str(path))
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as error:
        raise ValueError(f"{setting} {path}: cannot read it as a MaxMind database: {error}") from error


def _mmdb_version(reader) -> str:
    meta = reader.metadata()
    return f"mmdb:{meta.database_type}:{meta.build_epoch}"


@lru_cache(maxsize=4)
def _cached(fast: Path | None, country: Path | None, asn: Path | None) -> GeoLookup:
    return GeoLookup(fast, country, asn)


def geo_lookup(settings: Settings | None = None) -> GeoLookup:
    """The lookup the settings name, opened once per process (geoip2fast's
    file takes about a second to load)."""
    settings = settings or Settings()
    return _cached(settings.geoip2fast_file, settings.geoip_country_mmdb, settings.geoip_asn_mmdb)
