"""Captures loaded exactly once, on both databases; bad and hostile captures."""

from __future__ import annotations

import gzip
import shutil

import pytest
from sqlalchemy import text

from netsift.db import engine_for
from netsift.settings import Settings
from netsift.capture.dissect import Limits, capture_info, dissect
from netsift.capture.load import is_documentation, load_capture
from netsift.capture.tshark import CaptureError
from netsift.ingest.sources import Window, list_local
from tests.conftest import DATA

PCAPS = DATA / "pcap"


def load_all(url, folder):
    engine, settings = engine_for(url), Settings(database_url=url)
    return {o.name: load_capture(engine, o, settings) for o in list_local(folder, Window.of())}


def query(url, sql, **params):
    with engine_for(url).connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def test_captures_load_once_with_every_table(db, tmp_path):
    shutil.copy(PCAPS / "kitchen_boss.pcap", tmp_path)
    shutil.copy(PCAPS.parent / "zeek" / "dns53.pcap", tmp_path)
    results = load_all(db, tmp_path)
    kb = results["kitchen_boss.pcap"]
    assert kb.status == "loaded"
    # 55 files: header_bg.png (129255 bytes) arrives with a segment out of order;
    # 93 connections: 92 TCP/UDP and one IGMP flow, Zeek's unknown_transport
    assert kb.rows_by_table == {"connections": 93, "dns_queries": 12, "http_requests": 94, "extracted_files": 55}
    assert query(db, "SELECT COUNT(*) FROM connections") == [(94,)]
    assert query(db, "SELECT packets, link_type FROM pcap_files ORDER BY packets") == [
        (1, "EN10MB"), (2081, "EN10MB"),
    ]
    assert query(db, "SELECT md5 FROM pcap_files WHERE packets = 2081") == [
        ("df4f4a2e2bf020be50a12554942edb88",)
    ]
    again = load_all(db, tmp_path)
    assert {r.status for r in again.values()} == {"skipped"}
    assert query(db, "SELECT COUNT(*) FROM connections") == [(94,)]


def test_lists_round_trip_in_order(db, tmp_path):
    shutil.copy(PCAPS.parent / "zeek" / "dns53.pcap", tmp_path)
    load_all(db, tmp_path)
    ((answers, ttls),) = query(db, "SELECT answers, ttls FROM dns_queries")
    if isinstance(answers, str):  # SQLite keeps lists as JSON text
        import json

        answers, ttls = json.loads(answers), json.loads(ttls)
    assert answers[:2] == ["206.109.64.186", "216.1.205.81"] and len(answers) == 8
    assert ttls == [900.0] * 8


def test_same_capture_under_another_name_or_gzipped_is_not_loaded_again(db, tmp_path):
    shutil.copy(PCAPS / "http.pcap", tmp_path / "a.pcap")
    load_all(db, tmp_path)
    shutil.copy(PCAPS / "http.pcap", tmp_path / "b-copy.pcap")
    (tmp_path / "c.pcap.gz").write_bytes(gzip.compress((PCAPS / "http.pcap").read_bytes()))
    results = load_all(db, tmp_path)
    assert results["a.pcap"].status == "skipped"
    for name in ("b-copy.pcap", "c.pcap.gz"):
        assert results[name].status == "skipped" and "same capture as" in results[name].error
    assert query(db, "SELECT COUNT(*) FROM pcap_files") == [(1,)]
    assert sorted(query(db, "SELECT status FROM source_objects")) == [("duplicate",), ("duplicate",), ("loaded",)]


def test_gzip_capture_loads_like_the_plain_one(db, tmp_path):
    (tmp_path / "kb.pcap.gz").write_bytes(gzip.compress((PCAPS / "kitchen_boss.pcap").read_bytes()))
    result = load_all(db, tmp_path)["kb.pcap.gz"]
    assert result.status == "loaded" and result.rows_by_table["extracted_files"] == 55


def test_truncated_capture_keeps_rows_up_to_the_cut_and_is_partial(db, tmp_path):
    (tmp_path / "cut.pcap").write_bytes((PCAPS / "kitchen_boss.pcap").read_bytes()[:400_000])
    result = load_all(db, tmp_path)["cut.pcap"]
    assert result.status == "partial"
    assert "cut short in the middle of a packet" in result.error
    assert 0 < result.rows_by_table["connections"] < 92
    assert query(db, "SELECT status FROM source_objects") == [("partial",)]
    assert "cut short" in query(db, "SELECT error FROM source_objects")[0][0]
    assert query(db, "SELECT packets FROM pcap_files")[0][0] < 2081


def test_capture_cut_by_a_short_snaplen_is_partial_and_unseen_values_are_null(db, tmp_path):
    import subprocess

    # editcap's argument list, no shell; -F pcap keeps the classic format
    subprocess.run(["editcap", "-F", "pcap", "-s", "200", str(PCAPS / "http.pcap"), str(tmp_path / "short.pcap")],
                   check=True, capture_output=True)  # fmt: skip
    result = load_all(db, tmp_path)["short.pcap"]
    assert (result.status, result.error) == ("partial", "snaplen 200 truncates payloads")
    assert query(db, "SELECT status, error FROM source_objects") == [("partial", "snaplen 200 truncates payloads")]
    # The request line and the response's status line fit in 200 bytes; the
    # body was cut away: its length is NULL (unseen), not the 21684 the
    # server's Content-Length claims nor a count of the bytes left.
    assert query(db, "SELECT uri, status_code, response_body_len FROM http_requests") == [
        ("/images/layout/logo.png", 200, None)
    ]


def test_capture_whose_frames_all_fit_its_snaplen_is_loaded(db, tmp_path):
    import subprocess

    subprocess.run(["editcap", "-F", "pcap", "-s", "65535", str(PCAPS / "http.pcap"), str(tmp_path / "whole.pcap")],
                   check=True, capture_output=True)  # fmt: skip
    result = load_all(db, tmp_path)["whole.pcap"]
    assert (result.status, result.error) == ("loaded", None)
    assert query(db, "SELECT status_code FROM http_requests") == [(200,)]


def test_not_a_capture_fails_with_the_reason_and_others_load(db, tmp_path):
    shutil.copy(PCAPS / "http.pcap", tmp_path)
    (tmp_path / "evil.pcap").write_bytes(b"MZ\x90\x00 this is not a capture" * 10)
    (tmp_path / "bomb.pcap.gz").write_bytes(b"\x1f\x8b\x08\x00" + b"\x00" * 20)
    results = load_all(db, tmp_path)
    assert results["http.pcap"].status == "loaded"
    assert results["evil.pcap"].status == "failed"
    assert "not a pcap or pcapng capture" in results["evil.pcap"].error
    assert results["bomb.pcap.gz"].status == "failed" and "gzip" in results["bomb.pcap.gz"].error
    assert query(db, "SELECT COUNT(*) FROM pcap_files") == [(1,)]


def test_tshark_that_runs_too_long_is_stopped():
    capture = PCAPS / "kitchen_boss.pcap"
    with pytest.raises(CaptureError, match="did not finish within"):
        list(dissect(capture, 1, capture_info(capture), Limits.from_settings(Settings(), timeout=0.05)))


HOSTILE_URI = "/q?id=1'OR'1'='1;DROP%20TABLE%20http_requests;--"
HOSTILE_AGENT = "<script>alert(1)</script>\x00\x01$(rm -rf /)"


def test_hostile_http_strings_are_stored_as_text(db, tmp_path):
    from bench.pcap_gen import PcapWriter, http_request, http_response

    with (tmp_path / "hostile.pcap").open("wb") as sink:
        PcapWriter(sink).http_session(
            1_700_000_000.0, "10.0.0.5", "10.0.0.80", 40000,
            http_request(HOSTILE_URI, "victim.example", HOSTILE_AGENT),
            http_response(b"MZ" + bytes(range(256)) * 4, "application/octet-stream"),
        )  # fmt: skip
    result = load_all(db, tmp_path)["hostile.pcap"]
    assert result.status == "loaded", result.error
    ((uri, agent, host),) = query(db, "SELECT uri, user_agent, host FROM http_requests")
    # decoded, as Zeek's http.log has it
    assert uri == HOSTILE_URI.replace("%20", " ") and host == "victim.example"
    assert agent.startswith("<script>alert(1)</script>") and "\x00" not in agent
    assert query(db, "SELECT COUNT(*) FROM http_requests") == [(1,)]  # the DROP stayed text
    ((size, sha256),) = query(db, "SELECT size, sha256 FROM extracted_files")
    import hashlib

    assert size == 1026 and sha256 == hashlib.sha256(b"MZ" + bytes(range(256)) * 4).hexdigest()


def test_notes_beside_captures_are_recognised_by_name():
    assert is_documentation("SOURCES.md") and is_documentation("conn.LOG")
    assert not is_documentation("capture.pcap") and not is_documentation("x.pcapng.gz")
