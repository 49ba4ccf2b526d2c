"""CloudFront standard logging (v2): W3C and plain with any field selection,
in any order and with any of v2's delimiters, JSON and Parquet with the v2
columns; generated to AWS's documented field names."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from netsift.cloudfront.fields import STANDARD_FIELDS, V2_COLUMN_FIELDS, column_for
from netsift.cloudfront.parse import DELIMITERS, LogParser, NotCloudFrontLog
from netsift.cloudfront.v2 import RECORD_FIELDS
from netsift.schema import CLOUDFRONT_COPY_COLUMNS
from tests.cloudfront_lines import line
from tests.test_load import load_all, rows

V2_VALUES = {
    "c-country": "DE", "asn": "64500", "cache-behavior-path-pattern": "/api/*",
    "origin-fbl": "0.011", "origin-lbl": "0.020", "timestamp(ms)": "1709294401123",
    "timestamp": "1709294401.123", "DistributionId": "E2ABCDEF123456",
}  # fmt: skip
ALL_FIELDS = (*STANDARD_FIELDS, *V2_VALUES)
MOMENT = datetime(2024, 3, 1, 12, 0, 1, tzinfo=timezone.utc)


def values() -> dict[str, str]:
    return dict(zip(STANDARD_FIELDS, line().rstrip("\n").split("\t"))) | V2_VALUES


def parsed(text: str) -> tuple[list[dict], LogParser]:
    parser = LogParser(source_object_id=1)
    found = [dict(zip(CLOUDFRONT_COPY_COLUMNS, row)) for row in parser.rows(text.splitlines(True))]
    return found, parser


def w3c(names, delimiter="\t", requests=1) -> str:
    row = values()
    body = "".join(delimiter.join(row[n] for n in names) + "\n" for _ in range(requests))
    return "#Version: 1.0\n#Fields: " + " ".join(names) + "\n" + body


FULL, _ = parsed(w3c(ALL_FIELDS))


def test_every_field_loads_into_its_column():
    (row,) = FULL
    assert row["ts"] == MOMENT and row["ts_ms"] == MOMENT.replace(microsecond=123_000)
    assert (row["c_country"], row["asn"], row["cache_behavior_path_pattern"]) == ("DE", 64500, "/api/*")
    assert (row["origin_fbl"], row["origin_lbl"], row["distribution_id"]) == (0.011, 0.020, "E2ABCDEF123456")
    assert row["c_ip"] == "203.0.113.9" and row["sc_content_len"] == 1000


def expected_for(names) -> dict:
    """The full row, with what the selection lacks NULL."""
    chosen = {column_for(n) for n in names} | {V2_COLUMN_FIELDS.get(c, c) for c in ()}
    chosen |= {c for c, f in V2_COLUMN_FIELDS.items() if f in names}
    expected = {}
    for column, value in FULL[0].items():
        if column in ("source_object_id", "line_number", "ts"):
            expected[column] = value
        elif column == "ts_ms":
            expected[column] = value if {"timestamp", "timestamp(ms)"} & set(names) else None
        elif column == "distribution_id":
            expected[column] = value if "DistributionId" in names else None
        else:
            expected[column] = value if column in chosen else None
    if "line_number" in expected:
        expected["line_number"] = 3
    return expected


selections = st.lists(st.sampled_from(ALL_FIELDS), min_size=1, unique=True).filter(
    lambda names: {"date", "time"} <= set(names) or {"timestamp", "timestamp(ms)"} & set(names)
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(names=selections, delimiter=st.sampled_from(DELIMITERS))
def test_w3c_with_any_selection_order_and_delimiter_loads_the_chosen_columns(names, delimiter):
    found, parser = parsed(w3c(names, delimiter))
    assert parser.rejected == []
    assert found == [expected_for(names)]


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(names=selections)
def test_json_lines_with_any_selection_load_as_the_same_w3c(names):
    row = values()
    record = {n: row[n] for n in names}
    found, parser = parsed(json.dumps(record) + "\n")
    assert parser.rejected == []
    expected = expected_for(names)
    assert found == [{**expected, "line_number": 1}]


def test_a_selection_without_x_edge_fields_loads_and_another_servers_w3c_does_not():
    names = ("timestamp(ms)", "c-ip", "cs-method", "cs-uri-stem", "sc-status", "c-country", "asn")
    found, parser = parsed(w3c(names, " "))
    assert parser.rejected == [] and found[0]["c_country"] == "DE" and found[0]["x_edge_location"] is None
    plain_legacy = ("date", "time", "c-ip", "cs-uri-stem", "sc-status")
    assert parsed(w3c(plain_legacy))[0][0]["sc_status"] == 200
    iis = "#Software: Microsoft Internet Information Services 10.0\n#Fields: date time s-ip cs-method " \
          "cs-uri-stem sc-status\n2024-03-01 12:00:01 10.0.0.1 GET / 200\n"  # fmt: skip
    with pytest.raises(NotCloudFrontLog, match="field 's-ip', which CloudFront does not write"):
        parsed(iis)


@pytest.mark.parametrize("delimiter", DELIMITERS)
def test_plain_in_the_default_order_loads_with_any_delimiter(delimiter):
    text = delimiter.join(values()[n] for n in STANDARD_FIELDS) + "\n"
    found, parser = parsed(text * 2)
    assert parser.rejected == [] and len(found) == 2
    assert {k: v for k, v in found[0].items() if k != "line_number"} == {
        k: v for k, v in expected_for(STANDARD_FIELDS).items() if k != "line_number"
    }


def test_plain_of_another_selection_fails_the_object_in_one_line():
    names = ("date", "time", "c-ip", "cs-method", "sc-status", "cs-uri-stem", "x-edge-location",
             "sc-bytes", "cs(Host)", "cs(Referer)", "cs(User-Agent)", "cs-uri-query")  # fmt: skip
    text = "\t".join(values()[n] for n in names) + "\n"
    with pytest.raises(NotCloudFrontLog, match="not in CloudFront's default field order.*W3C, JSON or Parquet"):
        parsed(text)


@pytest.mark.parametrize(
    "field, value, reason",
    [
        ("c-country", "de", "'de' is not a two-letter country code"),
        ("asn", "-1", "'-1' is not a non-negative integer in ASCII digits"),
        ("asn", "4294967296", "out of range"),
        ("origin-fbl", "-0.1", "not a non-negative decimal number"),
        ("timestamp(ms)", "1709294401.5", "not a time in epoch milliseconds"),
        ("DistributionId", "E2;DROP", "not a CloudFront distribution id"),
    ],
)
def test_v2_values_cloudfront_never_writes_reject_the_line(field, value, reason):
    names = ("date", "time", "x-edge-location", field)
    text = w3c(names) + "\t".join(("2024-03-01", "12:00:02", "FRA56-P1", value)) + "\n"
    found, parser = parsed(text)
    assert len(found) == 1 and [r.line_number for r in parser.rejected] == [4]
    assert parser.rejected[0].reason.startswith(f"field {field}: ") and reason in parser.rejected[0].reason


def test_a_bad_timestamp_standing_in_for_date_and_time_rejects_the_line():
    text = "#Fields: timestamp(ms) c-ip x-edge-location\n12x\t192.0.2.1\tFRA\n"
    found, parser = parsed(text)
    assert found == [] and parser.rejected[0].reason == "bad timestamp '12x'"


def test_v2_columns_reach_the_database_and_legacy_logs_leave_them_null(db, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = ("timestamp(ms)", "c-ip", "sc-status", "c-country", "asn", "cache-behavior-path-pattern",
             "origin-fbl", "origin-lbl", "DistributionId")  # fmt: skip
    (tmp_path / "v2.log").write_text(w3c(names, "|"))
    record = {n: values()[n] for n in names} | {"asn": 64500, "sc-status": 200, "origin-fbl": 0.011,
                                               "origin-lbl": 0.02, "timestamp(ms)": None}  # fmt: skip
    record["timestamp(ms)"] = MOMENT.replace(microsecond=124_000)
    table = pa.Table.from_pylist([record], schema=pa.schema(
        [(n, pa.timestamp("ms", tz="UTC") if n == "timestamp(ms)" else pa.int64() if n in ("asn", "sc-status")
          else pa.float64() if n.startswith("origin") else pa.string()) for n in names]
    ))  # fmt: skip
    pq.write_table(table, tmp_path / "v2.parquet")
    (tmp_path / "legacy.log").write_text("#Fields: " + " ".join(STANDARD_FIELDS) + "\n" + line())
    results = load_all(db, tmp_path)
    assert {n: (r.status, r.rows_loaded) for n, r in results.items()} == {
        "v2.log": ("loaded", 1), "v2.parquet": ("loaded", 1), "legacy.log": ("loaded", 1),
    }  # fmt: skip
    found = rows(db, "SELECT s.uri, r.distribution_id, r.c_country, r.asn, r.cache_behavior_path_pattern, "
                     "r.origin_fbl, r.origin_lbl, r.ts_ms FROM cloudfront_requests r "
                     "JOIN source_objects s ON s.id = r.source_object_id ORDER BY s.uri")  # fmt: skip
    by_name = {uri.rsplit("/", 1)[-1]: tuple(r) for uri, *r in found}
    assert by_name["legacy.log"] == (None,) * 7
    for name, millis in (("v2.log", 123_000), ("v2.parquet", 124_000)):
        *plain, ts_ms = by_name[name]
        assert plain == ["E2ABCDEF123456", "DE", 64500, "/api/*", 0.011, 0.02], name
        moment = ts_ms if isinstance(ts_ms, datetime) else datetime.fromisoformat(str(ts_ms))
        assert moment.replace(tzinfo=timezone.utc) == MOMENT.replace(microsecond=millis), name


def test_record_fields_cover_every_column():
    assert {column_for(n) for n in RECORD_FIELDS} >= {c for c in CLOUDFRONT_COPY_COLUMNS[4:] if c in
                                                      {column_for(f) for f in STANDARD_FIELDS}}


def test_bad_v2_json_values_name_their_field():
    base = {"x-edge-location": "FRA56-P1"}
    bad = [{"timestamp(ms)": "soon"}, {"timestamp": "-1.5"}, {"date": "2024-03-01", "time": "12:00:01",
                                                             "DistributionId": "e2 lower"}]  # fmt: skip
    found, parser = parsed("".join(json.dumps({**base, **b}) + "\n" for b in bad))
    assert found == []
    assert [r.reason.split(":")[0] for r in parser.rejected] == [
        "field timestamp(ms)", "field timestamp", "field DistributionId"
    ]


_INTEGERS = {"sc-bytes", "sc-status", "cs-bytes", "c-port", "sc-content-len", "sc-range-start", "sc-range-end",
             "fle-encrypted-fields", "asn", "timestamp(ms)"}  # fmt: skip
_FLOATS = {"time-taken", "time-to-first-byte", "origin-fbl", "origin-lbl", "timestamp"}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.filter_too_much])
@given(names=selections, batch=st.sampled_from((1, 3, 8192)))
def test_typed_parquet_with_any_selection_loads_as_the_same_w3c(names, batch):
    """Typed columns as Parquet has them: the bulk path (integers, floats,
    text) and the per-row path (a float `timestamp`) give the W3C rows."""
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from netsift.cloudfront import v2

    row = values()
    record = {}
    for name in names:
        value = row[name]
        record[name] = None if value == "-" else int(value) if name in _INTEGERS else \
            float(value) if name in _FLOATS else value  # fmt: skip
    schema = pa.schema([(n, pa.int64() if n in _INTEGERS else pa.float64() if n in _FLOATS else pa.string())
                        for n in names])  # fmt: skip
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist([record] * 3, schema=schema), buffer, row_group_size=2)
    buffer.seek(0)
    parser = LogParser(source_object_id=1)
    saved, v2.PARQUET_BATCH_ROWS = v2.PARQUET_BATCH_ROWS, batch
    try:
        found = [dict(zip(CLOUDFRONT_COPY_COLUMNS, r)) for r in v2.parquet_rows(parser, buffer)]
    finally:
        v2.PARQUET_BATCH_ROWS = saved
    assert parser.rejected == []
    assert found == [{**expected_for(names), "line_number": n} for n in (1, 2, 3)]


def test_typed_parquet_integers_out_of_range_reject_only_their_rows():
    import io

    import pyarrow as pa
    import pyarrow.parquet as pq

    from netsift.cloudfront import v2

    records = [{"timestamp(ms)": 1709294401123, "c-ip": "192.0.2.1", "sc-bytes": b, "asn": a}
               for b, a in ((10, 64500), (-5, 64500), (7, None), (8, 2**32))]  # fmt: skip
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(records), buffer)
    buffer.seek(0)
    parser = LogParser(source_object_id=1)
    found = [dict(zip(CLOUDFRONT_COPY_COLUMNS, r)) for r in v2.parquet_rows(parser, buffer)]
    assert [(r["sc_bytes"], r["asn"]) for r in found] == [(10, 64500), (7, None)]
    assert [(r.line_number, r.reason) for r in parser.rejected] == [
        (2, "field sc-bytes: '-5' is not a non-negative integer in ASCII digits"),
        (4, "field asn: '4294967296' is out of range (0 to 4294967295)"),
    ]
