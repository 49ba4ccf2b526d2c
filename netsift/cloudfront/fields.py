"""Which fields CloudFront writes, and what each may hold.

The legacy log has 33 fields in a fixed order; standard logging (v2) lets
the owner choose any of them plus some of the real-time log's, in any order,
in JSON, W3C, plain or Parquet. A value is loaded only as CloudFront writes
it: anything else rejects its line with the field and the value, rather than
loading a number or an address nobody logged.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from ipaddress import ip_address
from typing import Callable

# The standard (legacy) log layout in its newest, 33-field form. Older files
# carry a prefix of it: 12, 19, 23, 24 or 26 fields.
STANDARD_FIELDS: tuple[str, ...] = (
    "date", "time", "x-edge-location", "sc-bytes", "c-ip", "cs-method", "cs(Host)",
    "cs-uri-stem", "sc-status", "cs(Referer)", "cs(User-Agent)", "cs-uri-query",
    "cs(Cookie)", "x-edge-result-type", "x-edge-request-id", "x-host-header",
    "cs-protocol", "cs-bytes", "time-taken", "x-forwarded-for", "ssl-protocol",
    "ssl-cipher", "x-edge-response-result-type", "cs-protocol-version", "fle-status",
    "fle-encrypted-fields", "c-port", "time-to-first-byte", "x-edge-detailed-result-type",
    "sc-content-type", "sc-content-len", "sc-range-start", "sc-range-end",
)  # fmt: skip

# v2 fields with a column of their own (migration 0011), column -> field.
# The request's time to the millisecond comes from `timestamp(ms)` or
# `timestamp`, whichever the owner chose; DistributionId fills
# `distribution_id` when the object's name and path do not carry it.
V2_COLUMN_FIELDS: dict[str, str] = {
    "c_country": "c-country",
    "asn": "asn",
    "cache_behavior_path_pattern": "cache-behavior-path-pattern",
    "origin_fbl": "origin-fbl",
    "origin_lbl": "origin-lbl",
}
TIMESTAMP_FIELDS = ("timestamp(ms)", "timestamp")
DISTRIBUTION_FIELD = "DistributionId"

# Fields only v2 writes, beyond the columns: read past without a column.
# Any of them marks a W3C file as CloudFront's even without an x-edge-* field.
V2_ONLY_FIELDS = frozenset((
    *V2_COLUMN_FIELDS.values(), *TIMESTAMP_FIELDS, DISTRIBUTION_FIELD,
    "DistributionTenantId", "cs-accept", "cs-accept-encoding", "cs-headers", "cs-header-names",
    "cs-headers-count", "primary-distribution-id", "primary-distribution-dns-name",
    "sr-reason", "x-edge-mqcs", "connection-id", "r-host", "server-ip", "server-port",
))  # fmt: skip
KNOWN_FIELDS = frozenset(STANDARD_FIELDS) | V2_ONLY_FIELDS


def is_cloudfront_field(name: str) -> bool:
    return name in KNOWN_FIELDS or name.startswith("cmcd-")


def column_for(field_name: str) -> str:
    """`cs(User-Agent)` -> `cs_user_agent`: the table's snake_case name."""
    return field_name.replace("(", "_").replace(")", "").replace("-", "_").lower()


def shown(value: str) -> str:
    """A value as a reject reason quotes it: repr (escapes control and
    invisible characters) and cut, since the value is the attacker's."""
    return repr(value if len(value) <= 40 else value[:40] + "…")


def count(high: int) -> Callable[[str], int]:
    """A non-negative integer in ASCII digits, at most `high`.

    `int()` alone would take `1_000`, `１２３`, ` 77 ` and `-5`; CloudFront
    writes none of these, so each rejects the line instead of loading as a
    number nobody logged. No CloudFront numeric field carries a sign."""
    most_digits = len(str(high))

    def convert(value: str) -> int:
        if not (value.isascii() and value.isdigit()):
            raise ValueError(f"{shown(value)} is not a non-negative integer in ASCII digits")
        # Length first: int() of thousands of digits is slow, then refused.
        digits = value if len(value) <= most_digits else (value.lstrip("0") or "0")
        if len(digits) > most_digits or (number := int(digits)) > high:
            raise ValueError(f"{shown(value)} is out of range (0 to {high})")
        return number

    convert.high = high  # the Parquet path checks typed integer columns against it in bulk
    return convert


_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?\Z")  # str pattern: [0-9] is ASCII only


def seconds(value: str) -> float:
    """A non-negative decimal number of seconds, as CloudFront writes it (`0.002`)."""
    if not _DECIMAL.match(value):
        raise ValueError(f"{shown(value)} is not a non-negative decimal number")
    number = float(value)
    if number == float("inf"):
        raise ValueError(f"{shown(value)} is out of range")
    return number


_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"  # no leading zeros, as ipaddress
_IPV4 = re.compile(rf"{_OCTET}(?:\.{_OCTET}){{3}}\Z")


def client_address(value: str) -> str:
    """`c-ip`, as logged, once it is known to be an IPv4 or IPv6 address.

    CloudFront writes the viewer's address itself, so anything else means the
    file is not what it claims; it would otherwise become an alert's
    `client_ip`. No port, no zone (`%eth0`), no leading zeros (Python's
    `ipaddress` refuses them). Kept as written rather than re-spelled:
    `ipaddress`'s spelling of some addresses changes between Python versions
    (`::ffff:192.0.2.1`), and rows loaded before and after an upgrade must
    group together. IPv4 is matched by a regex first: `ip_address` costs
    more than parsing the rest of the line, and most addresses are seen once."""
    if _IPV4.match(value):
        return value
    try:
        if "%" in value:
            raise ValueError
        ip_address(value)
    except ValueError:
        raise ValueError(f"{shown(value)} is not an IP address") from None
    return value


_COUNTRY = re.compile(r"[A-Z]{2}\Z")


def country(value: str) -> str:
    """ISO 3166-1 alpha-2, as CloudFront's own geolocation writes it (`DE`)."""
    if not _COUNTRY.match(value):
        raise ValueError(f"{shown(value)} is not a two-letter country code")
    return value


_MAX_MS = 253402300799999  # 9999-12-31T23:59:59.999Z; beyond it datetime fails


def moment_of_ms(value: str) -> datetime:
    """`timestamp(ms)`: epoch milliseconds in ASCII digits."""
    if not (value.isascii() and value.isdigit()) or len(value) > 15 or int(value) > _MAX_MS:
        raise ValueError(f"{shown(value)} is not a time in epoch milliseconds")
    return datetime.fromtimestamp(int(value) / 1000, tz=timezone.utc)


def moment_of_seconds(value: str) -> datetime:
    """`timestamp`: epoch seconds with a fraction (`1709294401.123`)."""
    whole, dot, fraction = value.partition(".")
    if not _DECIMAL.match(value) or len(whole) > 12 or len(fraction) > 6:
        raise ValueError(f"{shown(value)} is not a time in epoch seconds")
    return moment_of_ms(str(int(whole) * 1000 + int((fraction + "000")[:3])))


def second_of(moment: datetime) -> datetime:
    """The legacy `ts`: cut to the second, as the legacy `time` field is."""
    return moment.replace(microsecond=0)


_DISTRIBUTION = re.compile(r"[A-Z0-9]{1,32}\Z")


def distribution(value: str) -> str:
    if not _DISTRIBUTION.match(value):
        raise ValueError(f"{shown(value)} is not a CloudFront distribution id")
    return value


_int32 = count(2**31 - 1)
_int64 = count(2**63 - 1)


# Field -> converter; fields not named here are text, kept as logged.
CONVERTERS: dict[str, Callable[[str], object]] = {
    "sc-bytes": _int64,
    "c-ip": client_address,
    "sc-status": count(999),  # three digits; CloudFront logs 000 for an aborted request
    "cs-bytes": _int64,
    "time-taken": seconds,
    "fle-encrypted-fields": _int32,
    "c-port": count(65535),
    "time-to-first-byte": seconds,
    "sc-content-len": _int64,
    "sc-range-start": _int64,
    "sc-range-end": _int64,
    "c-country": country,
    "asn": count(2**32 - 1),
    "origin-fbl": seconds,
    "origin-lbl": seconds,
    "timestamp(ms)": moment_of_ms,
    "timestamp": moment_of_seconds,
}
