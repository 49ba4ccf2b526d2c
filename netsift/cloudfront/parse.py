"""CloudFront standard access logs: lines in, typed rows out.

Pure functions, no Prefect and no database, so they test in milliseconds.
Columns are mapped by each file's own `#Fields:` line (as zat does for Zeek's
`#fields`), because the layout grew from 12 to 33 fields over the years and a
single bucket can hold every generation. A file without a header is read by
its field count: every historical layout is a prefix of the newest one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from ipaddress import ip_address
from operator import itemgetter
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator
from urllib.parse import unquote

from netsift.schema import CLOUDFRONT_COPY_COLUMNS
from netsift.ingest.reading import TooLongLine

PARSER_VERSION = "cloudfront-3"  # 2: strict numbers and addresses, ragged lines; 3: v2 JSON lines

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
MIN_FIELDS = 12  # the oldest layout ends at cs-uri-query
BOM = "\ufeff"

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}\Z")
_REALTIME_FIRST_FIELD = re.compile(r"\d{9,11}\.\d{1,6}\Z")


class NotCloudFrontLog(ValueError):
    """The object as a whole is not a CloudFront standard access log."""


@dataclass(frozen=True)
class Rejected:
    line_number: int
    reason: str
    raw_line: str


def column_for(field_name: str) -> str:
    """`cs(User-Agent)` -> `cs_user_agent`: the table's snake_case name."""
    return field_name.replace("(", "_").replace(")", "").replace("-", "_").lower()


@lru_cache(maxsize=1 << 16)
def decode_field(value: str) -> str:
    """Percent-decode, twice, because CloudFront encodes `%` itself in some
    fields (`%2520` is a space). `+` stays `+`: these are paths and headers,
    not form data. Bytes that are not UTF-8 are kept as `\\xNN`.

    Cached: user agents, referers and paths repeat across millions of lines,
    and decoding was half the parser's time before the cache."""
    if "%" in value:
        value = unquote(value, errors="backslashreplace")
        if "%" in value:
            value = unquote(value, errors="backslashreplace")
    if "\x00" in value:
        value = value.replace("\x00", "\\x00")
    return value


def _shown(value: str) -> str:
    """A value as a reject reason quotes it: repr (escapes control and
    invisible characters) and cut, since the value is the attacker's."""
    return repr(value if len(value) <= 40 else value[:40] + "…")


def _count(high: int) -> Callable[[str], int]:
    """A non-negative integer in ASCII digits, at most `high`.

    `int()` alone would take `1_000`, `１２３`, ` 77 ` and `-5`; CloudFront
    writes none of these, so each rejects the line instead of loading as a
    number nobody logged. No CloudFront numeric field carries a sign."""
    most_digits = len(str(high))

    def convert(value: str) -> int:
        if not (value.isascii() and value.isdigit()):
            raise ValueError(f"{_shown(value)} is not a non-negative integer in ASCII digits")
        # Length first: int() of thousands of digits is slow, then refused.
        digits = value if len(value) <= most_digits else (value.lstrip("0") or "0")
        if len(digits) > most_digits or (number := int(digits)) > high:
            raise ValueError(f"{_shown(value)} is out of range (0 to {high})")
        return number

    return convert


_DECIMAL = re.compile(r"[0-9]+(?:\.[0-9]+)?\Z")  # str pattern: [0-9] is ASCII only


def _seconds(value: str) -> float:
    """A non-negative decimal number of seconds, as CloudFront writes it (`0.002`)."""
    if not _DECIMAL.match(value):
        raise ValueError(f"{_shown(value)} is not a non-negative decimal number")
    number = float(value)
    if number == float("inf"):
        raise ValueError(f"{_shown(value)} is out of range")
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
        raise ValueError(f"{_shown(value)} is not an IP address") from None
    return value


_int32 = _count(2**31 - 1)
_int64 = _count(2**63 - 1)

# Field -> converter; fields not named here are text, kept as logged.
CONVERTERS: dict[str, Callable[[str], object]] = {
    "sc-bytes": _int64,
    "c-ip": client_address,
    "sc-status": _count(999),  # three digits; CloudFront logs 000 for an aborted request
    "cs-bytes": _int64,
    "time-taken": _seconds,
    "fle-encrypted-fields": _int32,
    "c-port": _count(65535),
    "time-to-first-byte": _seconds,
    "sc-content-len": _int64,
    "sc-range-start": _int64,
    "sc-range-end": _int64,
    "cs-uri-stem": decode_field,
    "cs(Referer)": decode_field,
    "cs(User-Agent)": decode_field,
}

_FIELD_OF_COLUMN = {column_for(name): name for name in STANDARD_FIELDS}
_FIXED_PREFIX = ("source_object_id", "line_number", "ts", "distribution_id")
assert CLOUDFRONT_COPY_COLUMNS[:4] == _FIXED_PREFIX


@dataclass(frozen=True)
class Layout:
    """Where each column comes from in one file's lines.

    `pick` gathers every column's field in one C call; a column the layout
    lacks points one past the end, where the parser puts a `-` (NULL).
    """

    fields: tuple[str, ...]
    date_index: int
    time_index: int
    pick: Callable[[list[str]], tuple[str, ...]]
    names: tuple[str, ...]  # log field name per value column, for messages
    converters: tuple[tuple[int, Callable[[str], object]], ...]

    def fit(self, fields: list[str]) -> bool:
        """Make a ragged line the layout's length, if real logs write it so.

        Real logs hold lines missing their last fields (31 of 33) and lines
        with one empty field too many (a trailing tab); both load, the missing
        fields NULL, as Elastic's integration loads them. A line shorter than
        the oldest layout, or longer by anything else, disagrees with the
        header and is rejected."""
        expected, found = len(self.fields), len(fields)
        if found == expected + 1 and fields[-1] == "":
            fields.pop()
            return True
        if min(MIN_FIELDS, expected) <= found < expected:
            fields.extend(["-"] * (expected - found))
            return True
        return False

    @classmethod
    def from_fields(cls, fields: tuple[str, ...], origin: str) -> "Layout":
        if "date" not in fields or "time" not in fields:
            raise NotCloudFrontLog(f"{origin} has no date and time fields")
        if "x-edge-location" not in fields and "x-edge-request-id" not in fields:
            raise NotCloudFrontLog(
                f"{origin} has no x-edge-* field: a W3C log from another server, not CloudFront"
            )
        position = {column_for(name): i for i, name in enumerate(fields)}
        missing = len(fields)
        columns = CLOUDFRONT_COPY_COLUMNS[len(_FIXED_PREFIX) :]
        sources = [position.get(column, missing) for column in columns]
        names = tuple(_FIELD_OF_COLUMN[column] for column in columns)
        converters = tuple(
            (i, CONVERTERS[name])
            for i, (name, source) in enumerate(zip(names, sources))
            if name in CONVERTERS and source != missing
        )
        return cls(
            fields, fields.index("date"), fields.index("time"),
            itemgetter(*sources), names, converters,
        )  # fmt: skip

    @classmethod
    def from_count(cls, count: int) -> "Layout":
        if count < MIN_FIELDS:
            raise NotCloudFrontLog(
                f"first line has {count} tab-separated fields; "
                f"CloudFront standard logs have at least {MIN_FIELDS}"
            )
        extra = tuple(f"unknown-{i}" for i in range(len(STANDARD_FIELDS), count))
        return cls.from_fields(STANDARD_FIELDS[:count] + extra, "a headerless file")


def parse_fields_header(line: str) -> tuple[str, ...]:
    return tuple(line.split(":", 1)[1].split())


def sniff_first_line(line: str) -> None:
    """Reject other formats up front, naming what they look like."""
    first = line.split("\t", 1)[0]
    if _REALTIME_FIRST_FIELD.match(first):
        raise NotCloudFrontLog(
            "looks like a CloudFront real-time log (Kinesis): the first field is a Unix "
            "timestamp; netsift reads standard access logs"
        )
    if "\t" not in line:
        raise NotCloudFrontLog("lines are not tab-separated: not a CloudFront standard access log")
    if not _DATE.match(first):
        raise NotCloudFrontLog(
            f"first field {first[:40]!r} is not a date: not a CloudFront standard access log"
        )


@dataclass
class LogParser:
    """Parses one object's lines into rows in COPY column order.

    Keeps at most `max_rejects_kept` reject records (all are counted), so a
    file of garbage cannot exhaust memory.
    """

    source_object_id: int
    distribution_id: str | None = None
    raw_line_max_chars: int = 2000
    max_rejects_kept: int = 10_000
    rows_parsed: int = 0
    rejected_count: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    _layout: Layout | None = None
    _seen_data: bool = False

    def reject(self, line_number: int, reason: str, raw: str) -> None:
        self.rejected_count += 1
        if len(self.rejected) < self.max_rejects_kept:
            raw = raw[: self.raw_line_max_chars].replace("\x00", "\\x00")
            self.rejected.append(Rejected(line_number, reason, raw))

    def rows(self, lines: Iterable[str]) -> Iterator[list]:
        """Rows for every good line; bad lines go to `self.rejected`."""
        object_id, distribution = self.source_object_id, self.distribution_id
        last_stamp: tuple[str, str] | None = None
        last_ts: datetime | None = None
        layout = self._layout
        numbered = enumerate(lines, start=1)
        for line_number, line in numbered:
            if isinstance(line, TooLongLine):
                self.reject(line_number, "line longer than the limit", line)
                continue
            line = line.rstrip("\r\n")
            if line_number == 1 and line.startswith(BOM):
                line = line[1:]  # written by editors and some sync tools, not by CloudFront
            if not line:
                continue
            if line[0] == "#":
                if line.startswith("#Fields:"):
                    layout = Layout.from_fields(parse_fields_header(line), "#Fields header")
                    self._layout = layout
                continue
            if layout is None and not self._seen_data:
                # Without a header, the first line decides what the object is.
                if line[0] == "{":  # standard logging v2, JSON lines
                    from netsift.cloudfront.v2 import json_rows

                    self._seen_data = True
                    yield from json_rows(self, chain([(line_number, line)], numbered))
                    return
                sniff_first_line(line)
            self._seen_data = True
            if "\x00" in line:
                line = line.replace("\x00", "\\x00")
            fields = line.split("\t")
            if layout is None:
                layout = self._layout = Layout.from_count(len(fields))
            if len(fields) != len(layout.fields) and not layout.fit(fields):
                self.reject(
                    line_number,
                    f"expected {len(layout.fields)} fields, found {len(fields)}",
                    line,
                )
                continue
            stamp = (fields[layout.date_index], fields[layout.time_index])
            if stamp != last_stamp:
                try:
                    last_ts = _utc_timestamp(*stamp)
                except ValueError:
                    self.reject(line_number, f"bad date/time {stamp[0]!r} {stamp[1]!r}", line)
                    continue
                last_stamp = stamp
            fields.append("-")  # what columns missing from this layout read
            values = [None if v == "-" else v for v in layout.pick(fields)]
            index = 0
            try:
                for index, convert in layout.converters:
                    value = values[index]
                    if value is not None:
                        values[index] = convert(value)
            except ValueError as error:
                self.reject(line_number, f"field {layout.names[index]}: {error}", line)
                continue
            row = [object_id, line_number, last_ts, distribution]
            row += values
            self.rows_parsed += 1
            yield row


def _utc_timestamp(date: str, time: str) -> datetime:
    if not _DATE.match(date) or len(time) != 8:
        raise ValueError("not YYYY-MM-DD HH:MM:SS")
    return datetime.fromisoformat(f"{date}T{time}").replace(tzinfo=timezone.utc)
