"""Exactly-once loading and bad input, asserted on the tables of both databases."""

from __future__ import annotations

import gzip
import shutil

import pytest
from sqlalchemy import text

from netsift.db import engine_for
from netsift.settings import Settings
from netsift.cloudfront import load as cloudfront_load
from netsift.cloudfront.load import load_object
from netsift.ingest.sources import Window, list_local
from tests.cloudfront_lines import line, log_text
from tests.conftest import DATA

SAMPLES = DATA / "cloudfront" / "samples"


def load_all(url, folder, settings=None):
    settings = settings or Settings(database_url=url)
    engine = engine_for(url)
    return {
        o.name: load_object(engine, o, settings) for o in list_local(folder, Window.of())
    }


def scalar(url, sql, **params):
    with engine_for(url).connect() as conn:
        return conn.execute(text(sql), params).scalar()


def rows(url, sql, **params):
    with engine_for(url).connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def test_samples_load_once_and_a_rerun_skips_them(db):
    first = load_all(db, SAMPLES)
    # The mapbox log is bundled plain and gzipped: its content loads once.
    assert {n: (r.status, r.rows_loaded) for n, r in first.items()} == {
        "log.aws": ("loaded", 2),
        "AAAAAAAAAAAAAA.2015-10-19-17.e5b6526a": ("loaded", 9),
        "AAAAAAAAAAAAAA.2015-10-19-17.e5b6526a.gz": ("skipped", 0),
        "amazon_cloudfront_web.log": ("loaded", 1),
        "example-100.gz": ("loaded", 100),
    }
    assert scalar(db, "SELECT COUNT(*) FROM cloudfront_requests") == 112
    second = load_all(db, SAMPLES)
    assert {r.status for r in second.values()} == {"skipped"}
    assert scalar(db, "SELECT COUNT(*) FROM cloudfront_requests") == 112
    assert rows(db, "SELECT status, COUNT(*), SUM(rows_loaded) FROM source_objects GROUP BY status ORDER BY status") == [
        ("duplicate", 1, 0), ("loaded", 4, 112)
    ]
    plain = (SAMPLES / "mapbox-aws-log-replay" / "AAAAAAAAAAAAAA.2015-10-19-17.e5b6526a").resolve().as_uri()
    assert rows(db, "SELECT uri, error FROM source_objects WHERE status = 'duplicate'") == [
        (f"{plain}.gz", f"same content as {plain}")
    ]
    # The real samples repeat request ids: the index must not be unique.
    assert scalar(db, "SELECT COUNT(*) FROM cloudfront_requests WHERE x_edge_request_id = 'FAKE=='") == 9
    assert rows(
        db,
        "SELECT DISTINCT distribution_id FROM cloudfront_requests WHERE distribution_id IS NOT NULL",
    ) == [("AAAAAAAAAAAAAA",)]


def test_changed_object_is_reloaded_without_its_old_rows(db, tmp_path):
    log = tmp_path / "E1.2024-03-01-00.abc.gz"
    log.write_bytes(gzip.compress(log_text(line(cs_uri_stem="/old"), line(cs_uri_stem="/old2")).encode()))
    assert load_all(db, tmp_path)[log.name].rows_loaded == 2
    log.write_bytes(gzip.compress(log_text(line(cs_uri_stem="/new")).encode()))
    result = load_all(db, tmp_path)[log.name]
    assert (result.status, result.rows_loaded) == ("loaded", 1)
    assert rows(db, "SELECT cs_uri_stem FROM cloudfront_requests") == [("/new",)]
    assert scalar(db, "SELECT COUNT(*) FROM source_objects") == 1


def test_a_new_local_file_is_read_once_and_its_identity_is_of_the_bytes_loaded(db, tmp_path, monkeypatch):
    import hashlib

    from netsift.ingest import ledger, sources

    log = tmp_path / "E1.2024-03-01-00.abc.gz"
    stored = gzip.compress(log_text(line(cs_uri_stem="/a")).encode()) + b"\0" * 8  # gzip's zero padding
    log.write_bytes(stored)
    opened = []
    real_open = sources.open_body
    monkeypatch.setattr(cloudfront_load, "open_body", lambda obj, client=None: opened.append(obj) or real_open(obj))

    def no_second_read(obj):
        raise AssertionError(f"{obj.uri} hashed apart from its load")

    monkeypatch.setattr(ledger, "identity_of", no_second_read)
    assert load_all(db, tmp_path)[log.name].status == "loaded"
    assert len(opened) == 1
    assert scalar(db, "SELECT etag FROM source_objects") == hashlib.sha256(stored).hexdigest()

    # A version loaded before is hashed to compare: the same bytes skip, changed ones load.
    monkeypatch.setattr(ledger, "identity_of", sources.identity_of)
    assert load_all(db, tmp_path)[log.name].status == "skipped"
    log.write_bytes(gzip.compress(log_text(line(cs_uri_stem="/b")).encode()))
    assert load_all(db, tmp_path)[log.name].status == "loaded"
    assert scalar(db, "SELECT etag FROM source_objects") == hashlib.sha256(log.read_bytes()).hexdigest()
    assert rows(db, "SELECT cs_uri_stem FROM cloudfront_requests") == [("/b",)]


def test_malformed_lines_go_to_rejected_records_and_the_rest_loads(db, tmp_path):
    (tmp_path / "mixed.log").write_text(
        log_text(line(), "not\ta\tcloudfront\tline\n", line(sc_status="OK"), line())
    )
    result = load_all(db, tmp_path)["mixed.log"]
    assert (result.status, result.rows_loaded, result.rows_rejected) == ("loaded", 2, 2)
    assert rows(db, "SELECT line_number FROM cloudfront_requests ORDER BY line_number") == [(3,), (6,)]
    assert rows(
        db, "SELECT line_number, reason, raw_line FROM rejected_records ORDER BY line_number"
    ) == [
        (4, "expected 33 fields, found 4", "not\ta\tcloudfront\tline"),
        (5, "field sc-status: 'OK' is not a non-negative integer in ASCII digits", line(sc_status="OK").rstrip("\n")),
    ]
    assert rows(db, "SELECT rows_loaded, rows_rejected, status FROM source_objects") == [(2, 2, "loaded")]


@pytest.mark.parametrize(
    "name, content, reason",
    [
        ("corrupt.gz", gzip.compress(log_text(line()).encode() * 200)[:-30] + b"\x00" * 30, "gzip"),
        ("realtime.log", b"1591725829.345\t192.0.2.1\t0.1\t200\n", "real-time log"),
        ("notes.txt", b"hello world\n", "not tab-separated"),
        ("archive.bz2", b"BZh91AY&SY" + b"\x00" * 20, "bzip2"),
    ],
)
def test_unreadable_object_fails_with_reason_and_others_still_load(db, tmp_path, name, content, reason):
    shutil.copy(SAMPLES / "ironholds-webreadr" / "log.aws", tmp_path / "good.aws")
    (tmp_path / name).write_bytes(content)
    results = load_all(db, tmp_path)
    assert results["good.aws"].status == "loaded"
    assert results[name].status == "failed" and reason in results[name].error
    assert rows(db, "SELECT status FROM source_objects WHERE uri LIKE :u", u=f"%/{name}") == [("failed",)]
    assert reason in scalar(db, "SELECT error FROM source_objects WHERE uri LIKE :u", u=f"%/{name}")
    assert scalar(db, "SELECT COUNT(*) FROM cloudfront_requests") == 2


def test_gzip_bomb_is_failed_by_the_configured_cap(db, tmp_path):
    (tmp_path / "bomb.gz").write_bytes(gzip.compress(log_text(line()).encode() * 20000))
    settings = Settings(database_url=db, max_decompressed_bytes=100_000)
    result = load_all(db, tmp_path, settings)["bomb.gz"]
    assert result.status == "failed" and "exceeds the cap of 100000 bytes" in result.error
    assert scalar(db, "SELECT COUNT(*) FROM cloudfront_requests") == 0


def crash_after(count):
    real = cloudfront_load.text_lines

    def lines(*args, **kwargs):
        for number, text_line in enumerate(real(*args, **kwargs)):
            if number == count:
                raise RuntimeError("simulated crash")
            yield text_line

    return lines


def test_crash_mid_object_leaves_nothing_half_loaded(db, tmp_path, monkeypatch):
    (tmp_path / "big.log").write_text(log_text(*[line()] * 500))
    monkeypatch.setattr(cloudfront_load, "text_lines", crash_after(300))
    with pytest.raises(RuntimeError, match="simulated crash"):
        load_all(db, tmp_path)
    assert scalar(db, "SELECT COUNT(*) FROM cloudfront_requests") == 0
    assert scalar(db, "SELECT COUNT(*) FROM source_objects") == 0
    monkeypatch.undo()
    assert load_all(db, tmp_path)["big.log"].rows_loaded == 500


def test_crash_while_reloading_a_changed_object_keeps_the_old_version(db, tmp_path, monkeypatch):
    log = tmp_path / "E1.2024-03-01-00.abc"
    log.write_text(log_text(line(cs_uri_stem="/v1")))
    load_all(db, tmp_path)
    log.write_text(log_text(*[line(cs_uri_stem="/v2")] * 50))
    monkeypatch.setattr(cloudfront_load, "text_lines", crash_after(20))
    with pytest.raises(RuntimeError):
        load_all(db, tmp_path)
    assert rows(db, "SELECT cs_uri_stem FROM cloudfront_requests") == [("/v1",)]
    assert rows(db, "SELECT status, rows_loaded FROM source_objects") == [("loaded", 1)]
