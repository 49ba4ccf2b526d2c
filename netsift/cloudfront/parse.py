"""CloudFront standard access logs: lines in, typed rows out.

Pure functions, no Prefect and no database, so they test in milliseconds.
Columns are mapped by each file's own `#Fields:` line (as zat does for Zeek's
`#fields`), because the layout grew from 12 to 33 fields over the years and a
single bucket can hold every generation. A file without a header is read by
its field count: every historical layout is a prefix of the newest one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from itertools import chain
from operator import itemgetter
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator
from urllib.parse import unquote

from netsift.cloudfront import fields
from netsift.cloudfront import fields as fields_module  # `fields` is also a line's values below
from netsift.cloudfront.fields import STANDARD_FIELDS, client_address, column_for  # noqa: F401 (public)
from netsift.schema import CLOUDFRONT_COPY_COLUMNS
from netsift.ingest.reading import TooLongLine

PARSER_VERSION = "cloudfront-4"  # 2: strict numbers and addresses, ragged lines; 3: v2 JSON lines; 4: v2 columns, W3C subsets, delimiters

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


# Field -> converter: fields.py's, plus percent-decoding for the text fields
# CloudFront encodes; fields not named are text, kept as logged.
CONVERTERS: dict[str, Callable[[str], object]] = {
    **fields.CONVERTERS,
    "cs-uri-stem": decode_field,
    "cs(Referer)": decode_field,
    "cs(User-Agent)": decode_field,
}

_FIELD_OF_COLUMN = {column_for(name): name for name in STANDARD_FIELDS} | fields.V2_COLUMN_FIELDS
_FIXED_PREFIX = ("source_object_id", "line_number", "ts", "distribution_id")
assert CLOUDFRONT_COPY_COLUMNS[:4] == _FIXED_PREFIX
DELIMITERS = ("\t", " ", ",", "|", ";")  # v2 lets the owner choose; tab is the legacy one


def _moment_reader(convert: Callable[[str], datetime]) -> Callable[[str, str], datetime]:
    def moment(value: str, _same: str) -> datetime:
        return fields.second_of(convert(value))

    return moment


def _refuse_other_servers(names: tuple[str, ...], origin: str) -> None:
    """W3C is shared with IIS and others; CloudFront's files are told by
    their fields. An x-edge-* or a v2-only field is CloudFront's own; without
    one, every field must be one CloudFront writes."""
    if any(n.startswith("x-edge-") or n in fields.V2_ONLY_FIELDS for n in names):
        return
    unknown = [n for n in names if not fields.is_cloudfront_field(n) and not n.startswith("unknown-")]
    if unknown:
        raise NotCloudFrontLog(
            f"{origin} has field {unknown[0][:40]!r}, which CloudFront does not write, and no "
            "x-edge-* field: a W3C log from another server, not CloudFront"
        )


@dataclass(frozen=True)
class Layout:
    """Where each column comes from in one file's lines.

    `pick` gathers every column's field in one C call; a column the layout
    lacks points one past the end, where the parser puts a `-` (NULL).
    `stamp_at` picks what `ts` is made of: date and time, or v2's timestamp
    twice (so both kinds go through one cache of the last stamp).
    """

    fields: tuple[str, ...]
    stamp_at: Callable[[list[str]], tuple[str, str]]
    to_ts: Callable[[str, str], datetime]
    pick: Callable[[list[str]], tuple[str, ...]]
    names: tuple[str, ...]  # log field name per value column, for messages
    converters: tuple[tuple[int, Callable[[str], object]], ...]
    distribution_index: int | None = None  # v2 DistributionId, if chosen
    delimiter: str = "\t"

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

    def with_delimiter_of(self, line: str) -> "Layout":
        """The layout reading `line`'s delimiter: the one that splits it into
        the header's number of fields (tab when none does, as before v2)."""
        for delimiter in DELIMITERS:
            if line.count(delimiter) + 1 == len(self.fields):
                return self if delimiter == self.delimiter else replace(self, delimiter=delimiter)
        return self

    @classmethod
    def from_fields(cls, names: tuple[str, ...], origin: str) -> "Layout":
        """The layout of a `#Fields` header, made once per distinct header
        (a layout is immutable): every object of a distribution repeats it."""
        return _layout_of_fields(cls, tuple(names), origin)

    @classmethod
    def _of_fields(cls, names: tuple[str, ...], origin: str) -> "Layout":
        _refuse_other_servers(names, origin)
        position = {column_for(name): i for i, name in enumerate(names)}
        missing = len(names)
        if "date" in position and "time" in position:
            stamp_at = itemgetter(position["date"], position["time"])
            to_ts = _utc_timestamp
        else:
            chosen = next((f for f in fields.TIMESTAMP_FIELDS if column_for(f) in position), None)
            if chosen is None:
                raise NotCloudFrontLog(f"{origin} has no date and time fields, nor a timestamp")
            at = position[column_for(chosen)]
            stamp_at, to_ts = itemgetter(at, at), _moment_reader(fields.CONVERTERS[chosen])
        field_of = dict(_FIELD_OF_COLUMN)
        field_of["ts_ms"] = next(
            (f for f in fields.TIMESTAMP_FIELDS if column_for(f) in position), fields.TIMESTAMP_FIELDS[0]
        )
        columns = CLOUDFRONT_COPY_COLUMNS[len(_FIXED_PREFIX) :]
        column_names = tuple(field_of[column] for column in columns)
        sources = [position.get(column_for(name), missing) for name in column_names]
        converters = tuple(
            (i, CONVERTERS[name])
            for i, (name, source) in enumerate(zip(column_names, sources))
            if name in CONVERTERS and source != missing
        )
        return cls(
            names, stamp_at, to_ts, itemgetter(*sources), column_names, converters,
            position.get(column_for(fields.DISTRIBUTION_FIELD)),
        )  # fmt: skip

    @classmethod
    def from_count(cls, count: int, delimiter: str = "\t") -> "Layout":
        """A headerless file: legacy, or v2 plain in CloudFront's default
        field order (the legacy one). Plain output of another selection
        cannot be read: nothing in it says which field is which."""
        if count < MIN_FIELDS:
            raise NotCloudFrontLog(
                f"first line has {count} tab-separated fields; "
                f"CloudFront standard logs have at least {MIN_FIELDS}"
            )
        extra = tuple(f"unknown-{i}" for i in range(len(STANDARD_FIELDS), count))
        layout = cls.from_fields(STANDARD_FIELDS[:count] + extra, "a headerless file")
        return replace(layout, delimiter=delimiter)


@lru_cache(maxsize=256)  # bounded: each hostile file may bring its own header
def _layout_of_fields(cls: type[Layout], names: tuple[str, ...], origin: str) -> Layout:
    return cls._of_fields(names, origin)


_FIELDS_SPLIT = re.compile(r"[\s,|;]+")


def parse_fields_header(line: str) -> tuple[str, ...]:
    """`#Fields:` names, separated by spaces as W3C has it, or by the
    delimiter v2 was told to use between fields."""
    return tuple(name for name in _FIELDS_SPLIT.split(line.split(":", 1)[1]) if name)


def sniff_first_line(line: str) -> str:
    """The delimiter of a headerless file; other formats are refused up
    front, naming what they look like."""
    first = line.split("\t", 1)[0]
    if _REALTIME_FIRST_FIELD.match(first):
        raise NotCloudFrontLog(
            "looks like a CloudFront real-time log (Kinesis): the first field is a Unix "
            "timestamp; netsift reads standard access logs"
        )
    if "\t" in line:
        delimiter = "\t"
    else:  # v2 plain with another delimiter: still a date first, and many fields
        delimiter = next(
            (d for d in DELIMITERS[1:] if line.count(d) + 1 >= MIN_FIELDS and _DATE.match(line.split(d, 1)[0])),
            None,
        )
        if delimiter is None:
            raise NotCloudFrontLog("lines are not tab-separated: not a CloudFront standard access log")
        first = line.split(delimiter, 1)[0]
    if not _DATE.match(first):
        raise NotCloudFrontLog(
            f"first field {first[:40]!r} is not a date: not a CloudFront standard access log"
        )
    _default_order_or_refuse(line.split(delimiter))
    return delimiter


_TIME = re.compile(r"\d{2}:\d{2}:\d{2}\Z")


def _default_order_or_refuse(values: list[str]) -> None:
    """A headerless line is read in CloudFront's default field order; a v2
    plain file of another selection would load every value into the wrong
    column, so a first line whose time, size, address and status are not
    where that order puts them fails the object instead."""
    checks = ((1, _TIME.match), (3, str.isdigit), (4, _is_address), (8, str.isdigit))
    for index, check in checks:
        if index < len(values) and values[index] != "-" and not check(values[index]):
            raise NotCloudFrontLog(
                f"headerless lines not in CloudFront's default field order (field {index + 1} is "
                f"{values[index][:40]!r}, not {STANDARD_FIELDS[index]}): plain output of another field "
                "selection cannot be read; deliver it as W3C, JSON or Parquet"
            )


def _is_address(value: str) -> bool:
    try:
        return bool(client_address(value))
    except ValueError:
        return False


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
        unreadable: str | None = None  # why the lines under a later, unreadable #Fields are refused
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
                    try:
                        layout = self._layout = Layout.from_fields(parse_fields_header(line), "#Fields header")
                        unreadable = None
                    except NotCloudFrontLog as error:
                        if layout is None and not self._seen_data:
                            raise  # the first header says what the object is: refused, it fails whole
                        # A later header (files joined end to end) that cannot be read:
                        # the rows above it stand; its lines are refused, each recorded,
                        # rather than read by the earlier header's fields.
                        unreadable = f"under line {line_number}'s unreadable #Fields header"
                        self.reject(line_number, str(error), line)
                continue
            if unreadable is not None:
                self.reject(line_number, unreadable, line)
                continue
            if layout is None and not self._seen_data:
                # Without a header, the first line decides what the object is.
                if line[0] == "{":  # standard logging v2, JSON lines
                    from netsift.cloudfront.v2 import json_rows

                    self._seen_data = True
                    yield from json_rows(self, chain([(line_number, line)], numbered))
                    return
                delimiter = sniff_first_line(line)
                layout = self._layout = Layout.from_count(len(line.split(delimiter)), delimiter)
            elif not self._seen_data:
                layout = self._layout = layout.with_delimiter_of(line)
            self._seen_data = True
            if "\x00" in line:
                line = line.replace("\x00", "\\x00")
            fields = line.split(layout.delimiter)
            if len(fields) != len(layout.fields) and not layout.fit(fields):
                self.reject(
                    line_number,
                    f"expected {len(layout.fields)} fields, found {len(fields)}",
                    line,
                )
                continue
            stamp = layout.stamp_at(fields)
            if stamp != last_stamp:
                try:
                    last_ts = layout.to_ts(*stamp)
                except ValueError:
                    self.reject(line_number, _bad_stamp(stamp), line)
                    continue
                last_stamp = stamp
            if layout.distribution_index is not None and distribution is None:
                try:
                    row_distribution = _distribution_of(fields[layout.distribution_index])
                except ValueError as error:
                    self.reject(line_number, f"field {fields_module.DISTRIBUTION_FIELD}: {error}", line)
                    continue
            else:
                row_distribution = distribution
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
            row = [object_id, line_number, last_ts, row_distribution]
            row += values
            self.rows_parsed += 1
            yield row


def _bad_stamp(stamp: tuple[str, str]) -> str:
    if stamp[0] is stamp[1]:
        return f"bad timestamp {stamp[0][:40]!r}"
    return f"bad date/time {stamp[0][:40]!r} {stamp[1][:40]!r}"


def _distribution_of(value: str) -> str | None:
    """v2's DistributionId, for objects whose name and path do not carry it."""
    return None if value == "-" else fields_module.distribution(value)


def _utc_timestamp(date: str, time: str) -> datetime:
    if not _DATE.match(date) or len(time) != 8:
        raise ValueError("not YYYY-MM-DD HH:MM:SS")
    return datetime.fromisoformat(f"{date}T{time}").replace(tzinfo=timezone.utc)
