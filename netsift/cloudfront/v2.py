"""CloudFront standard logging (v2) delivered to S3 as JSON lines or Parquet.

v2 lets the owner pick any subset of fields, in any order, and names them as
the legacy log does (`c-ip`, `cs(Host)`, ...). Each JSON object is turned into
the legacy field list, as text, and goes through the legacy layout's own
converters: a v2 row must load exactly as the same request logged as a tab
line would, and be refused for the same reasons. Fields only v2 has
(`asn`, `c-country`, `origin-fbl`, ...) load into their own columns
(fields.py, migration 0011); the other v2-only fields are read past.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timezone
from decimal import Decimal
from typing import TYPE_CHECKING, Iterator

from netsift.cloudfront.fields import (
    DISTRIBUTION_FIELD, STANDARD_FIELDS, TIMESTAMP_FIELDS, V2_COLUMN_FIELDS, moment_of_ms, moment_of_seconds,
)  # fmt: skip
from netsift.cloudfront.fields import distribution as distribution_of
from netsift.ingest.reading import TooLongLine, UnreadableObject

if TYPE_CHECKING:
    from netsift.cloudfront.parse import LogParser

# Every field a record may hold that has a column, in one fixed layout;
# `timestamp` is read into `timestamp(ms)`.
RECORD_FIELDS = (*STANDARD_FIELDS, *V2_COLUMN_FIELDS.values(), "timestamp(ms)", DISTRIBUTION_FIELD)
_MS_AT, _DISTRIBUTION_AT = RECORD_FIELDS.index("timestamp(ms)"), RECORD_FIELDS.index(DISTRIBUTION_FIELD)


def _text(name: str, value: object) -> str:
    """A JSON value as the legacy log would have written it.

    Numbers become their digits so the legacy converters judge them (a
    negative or fractional byte count is refused as in a tab line); `null`
    is the legacy `-`. Booleans, lists and objects are not anything
    CloudFront writes into these fields."""
    if value is None:
        return "-"
    if isinstance(value, str):
        return value.replace("\x00", "\\x00")
    if isinstance(value, datetime):  # Parquet's own types, for date and time
        raise ValueError(f"field {name}: a timestamp, not a date or a time of day")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M:%S")
    if isinstance(value, Decimal):
        value = float(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"field {name}: a {type(value).__name__} value, not a string or number")
    if isinstance(value, int):
        return str(value)
    text = repr(value)
    if "e" in text or "n" in text:  # 1e-05, inf, nan: the legacy log never writes these
        raise ValueError(f"field {name}: {text} is not a plain decimal number")
    return text


def _milliseconds(record: dict) -> str:
    """v2's `timestamp(ms)` as digits, from whichever of `timestamp(ms)`
    (epoch milliseconds) or `timestamp` (epoch seconds, with milliseconds)
    the owner chose; `-` when neither."""
    name = next((n for n in TIMESTAMP_FIELDS if n in record), None)
    raw = record[name] if name else None
    if raw is None:
        return "-"
    if isinstance(raw, datetime):  # a Parquet timestamp column
        moment = raw if raw.tzinfo else raw.replace(tzinfo=timezone.utc)
    else:
        convert = moment_of_ms if name == "timestamp(ms)" else moment_of_seconds
        try:
            moment = convert(_text(name, raw))
        except ValueError as error:
            raise ValueError(f"field {name}: {error}") from None
    return str(round(moment.timestamp() * 1000))


class _Rows:
    """One record (a JSON object or a Parquet row) to a row in COPY order,
    through the legacy layout's converters; ValueError carries the reason."""

    def __init__(self, parser: "LogParser") -> None:
        from netsift.cloudfront.parse import Layout

        self.fields = RECORD_FIELDS
        self.layout = Layout.from_fields(RECORD_FIELDS, "the v2 layout")
        self.head = (parser.source_object_id, parser.distribution_id)
        self.last_stamp: tuple[str, str] | None = None
        self.last_ts: datetime | None = None

    def row(self, line_number: int, record: dict) -> list:
        fields = [_text(name, record.get(name)) for name in self.fields[:-2]]
        fields.append(_milliseconds(record))
        fields.append(_text(DISTRIBUTION_FIELD, record.get(DISTRIBUTION_FIELD)))
        fields.append("-")  # what columns missing from the layout read
        return self.row_of_fields(line_number, fields, "date" in record and "time" in record)

    def row_of_fields(self, line_number: int, fields, dated: bool, converters=None) -> list:
        """`fields`: text in RECORD_FIELDS order then a `-`, `-` for null, as a
        tab line's. A list or a tuple: the Parquet path zips columns into tuples."""
        from netsift.cloudfront.parse import _utc_timestamp

        layout = self.layout
        if not dated:
            if fields[_MS_AT] == "-":
                raise ValueError("no date and time, and no timestamp")
            try:
                moment = moment_of_ms(fields[_MS_AT])
            except ValueError as error:
                raise ValueError(f"field timestamp(ms): {error}") from None
            fields = list(fields)
            fields[0], fields[1] = moment.strftime("%Y-%m-%d"), moment.strftime("%H:%M:%S")
        stamp = (fields[0], fields[1])
        if stamp != self.last_stamp:  # requests come in time order: most rows repeat the last second
            try:
                self.last_ts = _utc_timestamp(*stamp)
            except ValueError:
                raise ValueError(f"bad date/time {stamp[0]!r} {stamp[1]!r}") from None
            self.last_stamp = stamp
        distribution = self.head[1]
        if distribution is None and fields[_DISTRIBUTION_AT] != "-":
            try:
                distribution = distribution_of(fields[_DISTRIBUTION_AT])
            except ValueError as error:
                raise ValueError(f"field {DISTRIBUTION_FIELD}: {error}") from None
        values = [None if v == "-" else v for v in layout.pick(fields)]
        index = 0
        try:
            for index, convert in layout.converters if converters is None else converters:
                if values[index] is not None:
                    values[index] = convert(values[index])
        except ValueError as error:
            raise ValueError(f"field {layout.names[index]}: {error}") from None
        return [self.head[0], line_number, self.last_ts, distribution, *values]


def json_rows(parser: "LogParser", numbered: Iterator[tuple[int, str]]) -> Iterator[list]:
    """Rows for JSON lines, the first of which the legacy parser has read.

    One bad line is rejected with its reason; the others load."""
    from netsift.cloudfront.parse import NotCloudFrontLog

    rows, first = _Rows(parser), True
    for line_number, line in numbered:
        if isinstance(line, TooLongLine):
            parser.reject(line_number, "line longer than the limit", line)
            continue
        line = line.strip()
        if not line:
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError) as error:
            parser.reject(line_number, f"not JSON: {str(error)[:80]}", line)
            continue
        if not isinstance(record, dict):
            parser.reject(line_number, "not a JSON object", line)
            continue
        if first:
            first = False
            if not any(name in record for name in (*rows.fields, *_PARQUET_COLUMNS)):
                raise NotCloudFrontLog(
                    "JSON lines without a CloudFront field: not a CloudFront standard log (v2)"
                )
        try:
            row = rows.row(line_number, record)
        except ValueError as error:
            parser.reject(line_number, str(error), line)
            continue
        parser.rows_parsed += 1
        yield row


PARQUET_BATCH_ROWS = 8192
_PARQUET_COLUMNS = frozenset(TIMESTAMP_FIELDS)


def parquet_rows(parser: "LogParser", file) -> Iterator[list]:
    """Rows of a Parquet object, a batch at a time within a row group, so
    memory follows the batch rather than the file.

    Only the columns the table holds are read. A row's number is its place
    in the file, from 1, as a line's would be; a rejected row is kept as JSON."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from netsift.cloudfront.parse import NotCloudFrontLog

    try:
        source = pq.ParquetFile(file)
        names = source.schema_arrow.names
    except (pa.ArrowException, OSError) as error:
        raise UnreadableObject(f"corrupt Parquet: {str(error)[:200]}") from error
    wanted = [n for n in names if n in RECORD_FIELDS or n in _PARQUET_COLUMNS]
    if not ({"date", "time"} <= set(wanted) or _PARQUET_COLUMNS & set(wanted)):
        raise NotCloudFrontLog("Parquet without date and time or timestamp columns: not a CloudFront log")
    rows = _Rows(parser)
    columnar = _columnar(source.schema_arrow, wanted)
    line_number = 0
    batches = source.iter_batches(batch_size=PARQUET_BATCH_ROWS, columns=wanted)
    while True:
        try:
            batch = next(batches, None)
        except (pa.ArrowException, OSError) as error:
            raise UnreadableObject(f"corrupt Parquet: {str(error)[:200]}") from error
        if batch is None:
            return
        if columnar is None:  # per row: dicts, each value judged by its type
            records, convert = batch.to_pylist(), rows.row
        else:  # in bulk: text columns, as a tab line's fields
            records, typed = _field_lists(batch, wanted)
            converters = tuple(
                (i, c) for i, c in rows.layout.converters if rows.layout.names[i] not in typed
            )

            def convert(number: int, fields: list[str]) -> list:
                return rows.row_of_fields(number, fields, columnar, converters)

        for line_number, record in enumerate(records, line_number + 1):
            try:
                row = convert(line_number, record)
            except ValueError as error:
                shown = record if columnar is None else dict(zip(RECORD_FIELDS, record))  # the `-` drops
                parser.reject(line_number, str(error), json.dumps(shown, default=str))
                continue
            parser.rows_parsed += 1
            yield row


def _columnar(schema, wanted: list[str]) -> bool | None:
    """Whether a batch can be turned into text columns in bulk (True when it
    has date and time, False when the timestamp stands in for them), or None
    when a column's type needs the per-row path (dates, times, decimals, or
    what CloudFront never writes, which that path names in its reason).

    Per row, a batch costs a Python dict per row and a type test per value;
    in bulk, Arrow casts each column to text in C, and the rows go through
    the same converters as a tab line's fields."""
    import pyarrow.types as t

    for name in wanted:
        kind = schema.field(name).type
        if name in TIMESTAMP_FIELDS and t.is_timestamp(kind):
            continue
        if name == "timestamp" and not t.is_integer(kind):
            return None  # seconds with a fraction: the per-row path rounds them exactly
        if not (t.is_string(kind) or t.is_large_string(kind) or t.is_integer(kind) or t.is_floating(kind)):
            return None
    return "date" in wanted and "time" in wanted


def _field_lists(batch, wanted: list[str]):
    """Each row of `batch` in RECORD_FIELDS order then a `-`, `-` for null,
    and the names of the fields whose values are already numbers.

    Values are text, as a tab line's, except integer columns whose every
    value is in the field's range (checked in bulk): those come as ints, and
    their per-value converter is skipped. A column with any value out of
    range goes as text, so the converter rejects just those rows."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from netsift.cloudfront.fields import CONVERTERS

    columns, typed = [], set()
    for name in RECORD_FIELDS:
        source = name
        if name == "timestamp(ms)" and name not in wanted and "timestamp" in wanted:
            source = "timestamp"
        if source not in wanted:
            columns.append(None)
            continue
        column = batch.column(source)
        high = getattr(CONVERTERS.get(name), "high", None)
        if high is not None and pa.types.is_integer(column.type):
            low_high = pc.min_max(column).as_py()
            if low_high["min"] is None or (low_high["min"] >= 0 and low_high["max"] <= high):
                numbers = pc.fill_null(pc.cast(column, pa.int64()), -1).to_numpy().tolist()
                if column.null_count:
                    numbers = [None if n < 0 else n for n in numbers]
                columns.append(numbers)
                typed.add(name)
                continue
        if pa.types.is_timestamp(column.type):
            column = pc.cast(pc.cast(column, pa.timestamp("ms", tz="UTC")), pa.int64())
        elif source == "timestamp":
            column = pc.multiply(column, 1000)
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            column = pc.replace_substring(column, "\x00", "\\x00")
        # to_numpy makes the str objects in one C loop; to_pylist goes through a scalar per value
        columns.append(pc.fill_null(pc.cast(column, pa.string()), "-").to_numpy(zero_copy_only=False).tolist())
    dash = ["-"] * batch.num_rows
    columns.append(dash)  # what columns missing from the layout read
    return zip(*(c if c is not None else dash for c in columns)), typed
