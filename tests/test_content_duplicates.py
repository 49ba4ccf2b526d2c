"""A CloudFront log's content loads once, whatever its names or compression."""

from __future__ import annotations

import gzip
import hashlib
import io
import threading

import pytest

from netsift.db import engine_for
from netsift.ingest import ledger
from netsift.ingest.reading import TooLongLine, text_lines
from netsift.ingest.sources import Window, list_local
from netsift.cloudfront.load import load_object
from netsift.settings import Settings
from tests.cloudfront_lines import line, log_text
from tests.test_load import SAMPLES, load_all, rows, scalar

MAPBOX = SAMPLES / "mapbox-aws-log-replay" / "AAAAAAAAAAAAAA.2015-10-19-17.e5b6526a"


def test_copies_under_other_names_and_prefixes_are_duplicates_of_the_first(db, tmp_path):
    content = log_text(line(cs_uri_stem="/a"), line(cs_uri_stem="/b"), line(sc_status="x"))
    (tmp_path / "a").mkdir()
    (tmp_path / "b" / "replica").mkdir(parents=True)
    (tmp_path / "a" / "E1.2024-03-01-00.x").write_text(content)
    (tmp_path / "a" / "E1.2024-03-01-00.x.gz").write_bytes(gzip.compress(content.encode()))
    (tmp_path / "b" / "replica" / "E1.2024-03-01-00.x.gz").write_bytes(gzip.compress(content.encode(), 1))
    (tmp_path / "b" / "other.log").write_text(log_text(line(cs_uri_stem="/other")))
    first = tmp_path.joinpath("a", "E1.2024-03-01-00.x").as_uri()

    engine, settings = engine_for(db), Settings(database_url=db)
    results = [load_object(engine, o, settings) for o in list_local(tmp_path, Window.of())]
    assert [(r.status, r.rows_loaded, r.rows_rejected, r.error) for r in results] == [
        ("loaded", 2, 1, None),
        ("skipped", 0, 0, f"same content as {first}"),
        ("loaded", 1, 0, None),  # b/other.log lists before b/replica/
        ("skipped", 0, 0, f"same content as {first}"),
    ]
    assert rows(db, "SELECT cs_uri_stem, COUNT(*) FROM cloudfront_requests GROUP BY cs_uri_stem ORDER BY 1") == [
        ("/a", 1), ("/b", 1), ("/other", 1)
    ]
    assert scalar(db, "SELECT COUNT(*) FROM rejected_records") == 1  # the copies' bad line is not repeated
    sha = hashlib.sha256(content.encode()).hexdigest()
    assert rows(db, "SELECT status, rows_loaded, rows_rejected, error, content_sha256 FROM source_objects ORDER BY uri") == [
        ("loaded", 2, 1, None, sha),
        ("duplicate", 0, 0, f"same content as {first}", sha),
        ("loaded", 1, 0, None, hashlib.sha256(log_text(line(cs_uri_stem="/other")).encode()).hexdigest()),
        ("duplicate", 0, 0, f"same content as {first}", sha),
    ]
    again = [load_object(engine, o, settings) for o in list_local(tmp_path, Window.of())]
    assert {r.status for r in again} == {"skipped"}
    assert scalar(db, "SELECT COUNT(*) FROM cloudfront_requests") == 3


def test_an_object_changed_into_a_copy_keeps_none_of_its_rows(db, tmp_path):
    (tmp_path / "a.log").write_text(log_text(line(cs_uri_stem="/a")))
    (tmp_path / "b.log").write_text(log_text(line(cs_uri_stem="/b")))
    load_all(db, tmp_path)
    (tmp_path / "b.log").write_text(log_text(line(cs_uri_stem="/a")))
    result = load_all(db, tmp_path)["b.log"]
    assert (result.status, result.error) == ("skipped", f"same content as {(tmp_path / 'a.log').as_uri()}")
    assert rows(db, "SELECT cs_uri_stem FROM cloudfront_requests") == [("/a",)]
    assert rows(db, "SELECT status FROM source_objects ORDER BY uri") == [("loaded",), ("duplicate",)]


def test_a_changed_object_whose_content_is_still_its_own_reloads(db, tmp_path):
    """Same bytes, new version (a re-upload): its own hash is no twin."""
    log = tmp_path / "a.log"
    log.write_text(log_text(line()))
    load_all(db, tmp_path)
    log.write_bytes(gzip.compress(log.read_bytes()))  # the etag changes, the content does not
    assert load_all(db, tmp_path)["a.log"].status == "loaded"
    assert scalar(db, "SELECT COUNT(*) FROM cloudfront_requests") == 1


def test_failed_twins_do_not_block_a_good_copy(db, tmp_path):
    good = log_text(line())
    (tmp_path / "a.gz").write_bytes(gzip.compress(good.encode())[:-8])  # truncated: fails
    (tmp_path / "b.log").write_text(good)
    results = load_all(db, tmp_path)
    assert (results["a.gz"].status, results["b.log"].status) == ("failed", "loaded")


def test_two_runs_racing_on_two_copies_load_the_content_once(pg, tmp_path):
    """Both runs read and write their rows before either decides; the unique
    index makes the second wait for the first's commit and become its duplicate."""
    content = log_text(*(line(cs_uri_stem=f"/{i}") for i in range(50)))
    (tmp_path / "one.log").write_text(content)
    (tmp_path / "two.log.gz").write_bytes(gzip.compress(content.encode()))
    objects = list(list_local(tmp_path, Window.of()))
    both_written = threading.Barrier(2, timeout=30)
    claim = ledger.claim_content

    def claim_after_both_wrote(conn, object_id, sha256, finished):
        both_written.wait()
        return claim(conn, object_id, sha256, finished)

    engine, settings = engine_for(pg), Settings(database_url=pg)
    results = {}

    def run(obj):
        results[obj.name] = load_object(engine, obj, settings)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ledger, "claim_content", claim_after_both_wrote)
        threads = [threading.Thread(target=run, args=(obj,)) for obj in objects]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
    assert sorted(r.status for r in results.values()) == ["loaded", "skipped"]
    assert scalar(pg, "SELECT COUNT(*) FROM cloudfront_requests") == 50
    assert rows(pg, "SELECT status, COUNT(*) FROM source_objects GROUP BY status ORDER BY status") == [
        ("duplicate", 1), ("loaded", 1)
    ]


def test_the_reader_hashes_the_decompressed_bytes_as_it_reads(tmp_path):
    plain = MAPBOX.read_bytes() + b"x" * 300 + b"\n" + b"tail without newline"
    for body in (plain, gzip.compress(plain)):
        digest = hashlib.sha256()
        lines = list(text_lines(io.BytesIO(body), max_line_bytes=200, max_total_bytes=10**6, digest=digest))
        assert isinstance(lines[-2], TooLongLine)  # skipped bytes are hashed all the same
        assert digest.hexdigest() == hashlib.sha256(plain).hexdigest()


def test_a_duplicate_loads_when_its_twin_changes_so_the_content_is_not_lost(db, tmp_path):
    content = log_text(line(cs_uri_stem="/shared"))
    (tmp_path / "a.log").write_text(content)
    (tmp_path / "b.log").write_text(content)
    assert [r.status for r in load_all(db, tmp_path).values()] == ["loaded", "skipped"]
    (tmp_path / "a.log").write_text(log_text(line(cs_uri_stem="/a-now")))
    results = load_all(db, tmp_path)
    assert [(r.status, r.rows_loaded) for r in results.values()] == [("loaded", 1), ("loaded", 1)]
    assert rows(db, "SELECT cs_uri_stem FROM cloudfront_requests ORDER BY 1") == [("/a-now",), ("/shared",)]
    assert [r.status for r in load_all(db, tmp_path).values()] == ["skipped", "skipped"]
