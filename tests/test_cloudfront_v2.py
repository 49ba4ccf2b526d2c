"""CloudFront standard logging v2 (JSON lines) loads as the legacy log does."""

from __future__ import annotations

import gzip
import json
import random

from netsift.cloudfront.parse import PARSER_VERSION, STANDARD_FIELDS, LogParser
from tests.cloudfront_lines import line
from tests.test_load import load_all, rows, scalar

# A subset of fields, as a v2 delivery chosen in the console may hold them.
SUBSET = (
    "date", "time", "x-edge-location", "sc-bytes", "c-ip", "cs-method", "cs(Host)",
    "cs-uri-stem", "sc-status", "cs(User-Agent)", "cs-uri-query", "x-edge-result-type",
    "x-edge-request-id", "time-taken", "c-port", "time-to-first-byte", "sc-content-len",
)  # fmt: skip
REQUESTS = [
    {"cs_uri_stem": "/wp-login.php", "sc_status": "404", "c_ip": "2001:db8::7"},
    {"cs_uri_stem": "/a%2520b", "cs_user_agent": "Mozilla/5.0%20(X11)", "time_taken": "1.250"},
    {"sc_status": "000", "sc_bytes": "0", "cs_uri_query": "q=%27or%201=1"},
]
COMPARED = "ts, distribution_id, " + ", ".join(
    name.replace("(", "_").replace(")", "").replace("-", "_").lower() for name in STANDARD_FIELDS[2:]
)


def fields_of(overrides: dict) -> dict[str, str]:
    return dict(zip(STANDARD_FIELDS, line(**overrides).rstrip("\n").split("\t")))


def legacy_text() -> str:
    body = "".join("\t".join(fields_of(r)[f] for f in SUBSET) + "\n" for r in REQUESTS)
    return "#Version: 1.0\n#Fields: " + " ".join(SUBSET) + "\n" + body


def json_text(seed: int = 15) -> str:
    """The same requests as v2 JSON lines: fields shuffled, numbers as JSON
    numbers where CloudFront writes numbers, `-` kept as CloudFront writes it."""
    shuffle = random.Random(seed).shuffle
    out = []
    for request in REQUESTS:
        values = fields_of(request)
        names = list(SUBSET)
        shuffle(names)
        record = {}
        for name in names:
            value = values[name]
            if name in ("sc-bytes", "sc-status", "c-port", "sc-content-len") and value not in ("-", "000"):
                value = int(value)
            elif name in ("time-taken", "time-to-first-byte") and value != "-":
                value = float(value)
            record[name] = value
        record["c-country"] = "DE"  # v2-only fields are ignored
        record["asn"] = 64500
        out.append(json.dumps(record))
    return "\n".join(out) + "\n"


def loaded_rows(db, uri_part: str):
    return rows(
        db,
        f"SELECT {COMPARED} FROM cloudfront_requests r JOIN source_objects s ON s.id = r.source_object_id "
        "WHERE s.uri LIKE :uri ORDER BY r.line_number",
        uri=f"%{uri_part}%",
    )


def test_json_lines_load_exactly_as_the_same_legacy_lines(db, tmp_path):
    (tmp_path / "legacy.log").write_text(legacy_text())
    (tmp_path / "v2.json").write_text(json_text())
    (tmp_path / "v2-gz.json.gz").write_bytes(gzip.compress(json_text(seed=16).encode(), mtime=0))
    results = load_all(db, tmp_path)
    assert {n: (r.status, r.rows_loaded, r.rows_rejected) for n, r in results.items()} == {
        "legacy.log": ("loaded", 3, 0), "v2.json": ("loaded", 3, 0), "v2-gz.json.gz": ("loaded", 3, 0),
    }  # fmt: skip
    legacy = loaded_rows(db, "legacy.log")
    assert len(legacy) == 3 and legacy[0][COMPARED.split(", ").index("c_ip")] == "2001:db8::7"
    assert loaded_rows(db, "v2.json") == legacy
    assert loaded_rows(db, "v2-gz.json.gz") == legacy


def test_a_bad_json_line_is_rejected_with_its_reason_and_the_others_load(db, tmp_path):
    good = json_text().splitlines()
    bad_status = json.dumps({**json.loads(good[0]), "sc-status": -5})
    lines = [good[0], "{not json", bad_status, "[1, 2]", json.dumps({"c-ip": "192.0.2.1"}), good[1]]
    (tmp_path / "v2.json").write_text("\n".join(lines) + "\n")
    result = load_all(db, tmp_path)["v2.json"]
    assert (result.status, result.rows_loaded, result.rows_rejected) == ("loaded", 2, 4)
    reasons = rows(db, "SELECT line_number, reason FROM rejected_records ORDER BY line_number")
    assert [n for n, _ in reasons] == [2, 3, 4, 5]
    assert reasons[0][1].startswith("not JSON")
    assert reasons[1][1] == "field sc-status: '-5' is not a non-negative integer in ASCII digits"
    assert reasons[2][1] == "not a JSON object"
    assert reasons[3][1] == "no date and time, and no timestamp"
    assert scalar(db, "SELECT COUNT(*) FROM cloudfront_requests") == 2


def parse(text: str):
    parser = LogParser(source_object_id=1)
    return list(parser.rows(text.splitlines(True))), parser


def test_timestamp_stands_in_for_a_missing_date_and_time():
    rows_, parser = parse(
        json.dumps({"timestamp": 1709294401.123, "c-ip": "192.0.2.1", "x-edge-location": "FRA56-P1"}) + "\n"
        + json.dumps({"timestamp(ms)": "1709294402999", "sc-status": 200}) + "\n"
    )  # fmt: skip
    assert parser.rejected == []
    assert [str(r[2]) for r in rows_] == ["2024-03-01 12:00:01+00:00", "2024-03-01 12:00:02+00:00"]


def test_json_values_cloudfront_never_writes_are_rejected():
    base = {"date": "2024-03-01", "time": "12:00:01"}
    bad = [{"sc-bytes": True}, {"cs-method": ["GET"]}, {"time-taken": 1e-9}, {"sc-bytes": 1.5},
           {"c-ip": "not-an-ip"}, {"date": "2024-3-1"}]  # fmt: skip
    rows_, parser = parse("".join(json.dumps({**base, **b}) + "\n" for b in bad))
    assert rows_ == [] and parser.rejected_count == len(bad)
    assert [r.reason for r in parser.rejected] == [
        "field sc-bytes: a bool value, not a string or number",
        "field cs-method: a list value, not a string or number",
        "field time-taken: 1e-09 is not a plain decimal number",
        "field sc-bytes: '1.5' is not a non-negative integer in ASCII digits",
        "field c-ip: 'not-an-ip' is not an IP address",
        "bad date/time '2024-3-1' '12:00:01'",
    ]


def write_parquet(path, records: list[dict], row_group_size: int) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    names = list(records[0])
    table = pa.Table.from_pylist(records, schema=pa.schema(
        [(n, pa.float64() if n.startswith("time-t") else pa.int64() if isinstance(records[0][n], int)
          else pa.string()) for n in names]
    ))  # fmt: skip
    pq.write_table(table, path, row_group_size=row_group_size)


def parquet_records(seed: int = 15) -> list[dict]:
    """The JSON lines' records, with "-" as Parquet's null where a column is numeric."""
    records = [json.loads(text) for text in json_text(seed).splitlines()]
    for record in records:
        for name, value in record.items():
            if value == "-" and name in ("sc-bytes", "c-port", "sc-content-len", "time-taken", "time-to-first-byte"):
                record[name] = None
        if record["sc-status"] == "000":
            record["sc-status"] = 0
    return records


def test_parquet_with_several_row_groups_loads_as_the_legacy_log(db, tmp_path, monkeypatch):
    import pyarrow.parquet as pq

    from netsift.cloudfront import v2

    monkeypatch.setattr(v2, "PARQUET_BATCH_ROWS", 2)
    (tmp_path / "legacy.log").write_text(legacy_text() * 3)
    write_parquet(tmp_path / "v2.parquet", parquet_records() * 3, row_group_size=4)
    assert pq.ParquetFile(tmp_path / "v2.parquet").num_row_groups == 3
    results = load_all(db, tmp_path)
    assert {n: (r.status, r.rows_loaded, r.rows_rejected) for n, r in results.items()} == {
        "legacy.log": ("loaded", 9, 0), "v2.parquet": ("loaded", 9, 0),
    }  # fmt: skip
    legacy = loaded_rows(db, "legacy.log")
    assert len(legacy) == 9 and loaded_rows(db, "v2.parquet") == legacy
    assert rows(db, "SELECT DISTINCT parser_version FROM source_objects") == [(PARSER_VERSION,)]


def test_a_bad_parquet_row_is_rejected_and_a_corrupt_parquet_fails(db, tmp_path):
    records = parquet_records()
    records[1]["c-ip"] = "203.0.113.300"
    write_parquet(tmp_path / "v2.parquet", records, row_group_size=2)
    (tmp_path / "broken.parquet").write_bytes(b"PAR1" + b"\0" * 64)
    results = load_all(db, tmp_path)
    assert (results["v2.parquet"].status, results["v2.parquet"].rows_loaded) == ("loaded", 2)
    assert rows(db, "SELECT line_number, reason FROM rejected_records") == [
        (2, "field c-ip: '203.0.113.300' is not an IP address")
    ]
    assert results["broken.parquet"].status == "failed"
    assert "corrupt Parquet" in results["broken.parquet"].error


def test_parquet_over_the_size_cap_fails_before_it_is_read(db, tmp_path):
    from netsift.cloudfront.load import load_object
    from netsift.db import engine_for
    from netsift.ingest.sources import Window, list_local
    from netsift.settings import Settings

    write_parquet(tmp_path / "v2.parquet", parquet_records() * 50, row_group_size=10)
    settings = Settings(database_url=db, max_decompressed_bytes=1000)
    (obj,) = list_local(tmp_path, Window.of())
    result = load_object(engine_for(db), obj, settings)
    assert result.status == "failed" and "exceeds the cap" in result.error


def test_json_lines_from_something_else_are_not_a_cloudfront_log():
    import pytest

    from netsift.cloudfront.parse import NotCloudFrontLog

    with pytest.raises(NotCloudFrontLog, match="without a CloudFront field"):
        parse('{"level": "info", "msg": "hello"}\n')
