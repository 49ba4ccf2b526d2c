"""The flow and the CLI against a real `prefect server start` and PostgreSQL."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from netsift.db import engine_for, utc_datetime
from tests.cloudfront_lines import line, log_text
from tests.conftest import DATA

SAMPLES = DATA / "cloudfront" / "samples"
HOSTILE_NAME = "<img src=x onerror=alert(1)>[x](javascript:alert(1)).log"
NETSIFT = str(Path(sys.executable).parent / "netsift")

pytestmark = pytest.mark.prefect


def artifacts_of(flow_run_id):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[flow_run_id]))
        )
        run = client.read_flow_run(flow_run_id)
    return {a.key or a.type: a for a in found}, run


def test_failed_object_fails_the_run_and_shows_escaped_in_the_ui(prefect_server, pg, tmp_path):
    from netsift.flows.cloudfront_ingest import cloudfront_ingest

    shutil.copytree(SAMPLES, tmp_path / "logs")
    (tmp_path / "logs" / HOSTILE_NAME).write_bytes(gzip.compress(b"x" * 100)[:-8])
    (tmp_path / "logs" / "hostile-content.log").write_text(HOSTILE_NAME + "\tb\tc\n")
    state = cloudfront_ingest(source=str(tmp_path / "logs"), since=None, return_state=True)
    assert state.is_failed()
    assert "2 of 7 objects failed" in state.message
    summary = state.result(raise_on_failure=False)
    assert (summary["loaded"], summary["failed"], summary["rows_loaded"]) == (4, 2, 112)  # mapbox plain and .gz: one content

    artifacts, run = artifacts_of(state.state_details.flow_run_id)
    assert run.name == f"cloudfront {tmp_path / 'logs'}"
    table = artifacts["cloudfront-ingest-objects"]
    cells = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert [c["status"] for c in cells] == ["failed", "failed"] + ["loaded"] * 4 + ["skipped"]
    by_reason = {("gzip" in c["error"]): c for c in cells[:2]}
    assert "%3Cimg" in by_reason[True]["object"]  # file URIs arrive percent-encoded
    hostile_error = by_reason[False]["error"]
    assert "is not a date" in hostile_error and "&lt;img" in hostile_error
    for cell in cells:
        for value in map(str, cell.values()):
            assert "<img" not in value and "](javascript" not in value
    assert artifacts["progress"].data == 100.0
    assert "rows loaded \\| 112" in artifacts["cloudfront-ingest-summary"].data or "| rows loaded | 112 |" in artifacts["cloudfront-ingest-summary"].data

    with engine_for(pg).connect() as conn:
        errors = conn.execute(
            text("SELECT error FROM source_objects WHERE status = 'failed' ORDER BY uri")
        ).scalars().all()
    assert "truncated gzip" in errors[0] and "is not a date" in errors[1]


def test_rerun_skips_everything_and_completes(prefect_server, pg):
    from netsift.flows.cloudfront_ingest import cloudfront_ingest

    first = cloudfront_ingest(source=str(SAMPLES), return_state=True)
    second = cloudfront_ingest(source=str(SAMPLES), return_state=True)
    assert first.is_completed() and second.is_completed()
    assert second.result()["skipped"] == 5 and second.result()["rows_loaded"] == 0
    with engine_for(pg).connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM cloudfront_requests")).scalar() == 112


def test_flow_reads_s3_narrowed_by_distribution_and_dates(prefect_server, pg, s3):
    for day, hour in ((1, 23), (2, 0), (2, 13), (3, 0)):
        body = gzip.compress(log_text(line(date=f"2024-03-{day:02d}", cs_uri_stem=f"/d{day}h{hour}")).encode())
        s3.put_object(Bucket=s3.bucket, Key=f"cf/E9XYZ.2024-03-{day:02d}-{hour:02d}.k.gz", Body=body)
        s3.put_object(Bucket=s3.bucket, Key=f"cf/E8OTHER.2024-03-{day:02d}-{hour:02d}.k.gz", Body=body)
    from netsift.flows.cloudfront_ingest import cloudfront_ingest

    state = cloudfront_ingest(
        source=f"s3://{s3.bucket}/cf", since="2024-03-02", until="2024-03-02",
        distribution="E9XYZ", return_state=True,
    )  # fmt: skip
    assert state.is_completed(), state.message
    with engine_for(pg).connect() as conn:
        stems = conn.execute(text("SELECT cs_uri_stem FROM cloudfront_requests ORDER BY 1")).scalars().all()
    assert stems == ["/d2h0", "/d2h13"]
    _, run = artifacts_of(state.state_details.flow_run_id)
    assert run.name == f"cloudfront s3://{s3.bucket}/cf 2024-03-02..2024-03-02 E9XYZ"


def run_cli(*args, env=None):
    return subprocess.run(
        [NETSIFT, *args], capture_output=True, text=True, timeout=240,
        env={**os.environ, "COLUMNS": "300", **(env or {})},
    )  # fmt: skip


def test_cli_exit_codes_and_json(prefect_server, pg, tmp_path):
    shutil.copytree(SAMPLES / "ironholds-webreadr", tmp_path / "logs")
    ok = run_cli("cloudfront", str(tmp_path / "logs"), "--database-url", pg, "--json")
    assert ok.returncode == 0, ok.stderr[-2000:]
    summary = json.loads(ok.stdout.strip().splitlines()[-1])
    assert (summary["loaded"], summary["rows_loaded"]) == (1, 2)

    (tmp_path / "logs" / "broken.log").write_text("not a log\n")
    failed = run_cli("cloudfront", str(tmp_path / "logs"), "--database-url", pg)
    assert failed.returncode == 1
    assert "broken.log" in failed.stdout and "not tab-separated" in failed.stdout

    bad_usage = run_cli("cloudfront", str(tmp_path / "logs"), "--since", "last tuesday")
    assert bad_usage.returncode == 2 and "--since" in bad_usage.stderr


def test_cli_db_upgrade_creates_the_schema_and_nothing_else(tmp_path):
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = run_cli("db", "upgrade", "--database-url", url)
    assert result.returncode == 0, result.stderr
    assert "schema up to date" in result.stdout
    from sqlalchemy import create_engine, inspect

    engine = create_engine(url)
    assert "cloudfront_requests" in inspect(engine).get_table_names()
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM source_objects")).scalar() == 0
    engine.dispose()


def test_pcap_flow_reports_loaded_partial_and_failed_captures(prefect_server, pg, tmp_path):
    from netsift.flows.pcap_ingest import pcap_ingest

    pcaps = DATA / "pcap"
    shutil.copy(pcaps / "http.pcap", tmp_path)
    (tmp_path / "cut.pcap").write_bytes((pcaps / "kitchen_boss.pcap").read_bytes()[:300_000])
    (tmp_path / "junk.pcap").write_bytes(b"<html>not a capture</html>")
    (tmp_path / "README.md").write_text("notes beside the captures are skipped by name")
    state = pcap_ingest(source=str(tmp_path), return_state=True)
    assert state.is_failed() and "1 of 3 objects failed" in state.message
    summary = state.result(raise_on_failure=False)
    assert (summary["loaded"], summary["partial"], summary["failed"]) == (1, 1, 1)
    assert summary["rows_connections"] > 0 and summary["rows_http_requests"] > 0

    artifacts, run = artifacts_of(state.state_details.flow_run_id)
    assert run.name == f"pcap {tmp_path}"
    table = artifacts["pcap-ingest-objects"]
    cells = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert [c["status"] for c in cells] == ["failed", "partial", "loaded"]
    assert "not a pcap or pcapng" in cells[0]["error"] and "cut short" in cells[1]["error"]
    markdown = artifacts["pcap-ingest-summary"].data
    assert "| rows connections |" in markdown and "| rows extracted files |" in markdown


def test_detect_flow_emits_events_and_escapes_its_artifact(prefect_server, pg, tmp_path, monkeypatch):
    import netsift.tasks.detection
    from netsift.flows.cloudfront_ingest import cloudfront_ingest
    from netsift.flows.detect import detect_flow

    emitted = []
    real_emit = netsift.tasks.detection.emit_event
    monkeypatch.setattr(netsift.tasks.detection, "emit_event", lambda **kw: emitted.append(kw) or real_emit(**kw))
    hostile = "<img src=x onerror=alert(1)>"
    lines = [line(c_ip="203.0.113.5", time=f"12:00:0{i}", cs_uri_stem=path, sc_status="404",
                  cs_user_agent=hostile.replace(" ", "%20"))
             for i, path in enumerate(["/wp-login.php", "/xmlrpc.php", "/wp-admin/[x](javascript:alert(1))"])]  # fmt: skip
    (tmp_path / "probe.log").write_text(log_text(*lines))
    assert cloudfront_ingest(source=str(tmp_path), return_state=True).is_completed()

    state = detect_flow(return_state=True)
    assert state.is_completed() and state.result()["new"] == 1
    assert [e["event"] for e in emitted] == ["netsift.alert.created"]
    resource = emitted[0]["resource"]
    assert resource["prefect.resource.id"] == "netsift.alert.wordpress-probe.cloudfront.203.0.113.5"
    assert (resource["netsift.rule"], resource["netsift.severity"]) == ("wordpress-probe", "medium")

    artifacts, _ = artifacts_of(state.state_details.flow_run_id)
    cells = artifacts["detect-alerts"].data
    cells = json.loads(cells) if isinstance(cells, str) else cells
    for cell in cells:
        for value in map(str, cell.values()):
            assert "<img" not in value and "](javascript" not in value
    assert "&lt;img" in cells[0]["sample_user_agents"]

    rerun = detect_flow(return_state=True)
    assert rerun.result()["new"] == 0 and len(emitted) == 1  # no event twice for one alert


def test_cli_status_shows_feeds_and_runs(prefect_server, pg):
    from prefect import tags

    from netsift.analyst.status import database_tag
    from netsift.flows.cloudfront_ingest import cloudfront_ingest

    with tags(database_tag(pg)):  # as the CLI tags its runs
        assert cloudfront_ingest(source=str(SAMPLES), return_state=True).is_completed()
    shown = run_cli("status", "--database-url", pg, "--json")
    assert shown.returncode == 0, shown.stderr[-2000:]
    status = json.loads(shown.stdout.strip().splitlines()[-1])
    assert {d["distribution"] for d in status["distributions"]} == {"AAAAAAAAAAAAAA", "(unnamed)"}
    assert any(run["name"].startswith("cloudfront ") for run in status["runs"])


def test_alert_events_left_unsent_by_a_failed_run_are_sent_by_the_next(prefect_server, pg, tmp_path, monkeypatch):
    """The task dies between committing the alerts and emitting their events:
    the next run sends them, with the same event ids, and only once."""
    import netsift.tasks.detection
    from netsift.detection.outbox import event_id
    from netsift.flows.cloudfront_ingest import cloudfront_ingest
    from netsift.flows.detect import detect_flow

    lines = [line(c_ip="203.0.113.8", time=f"12:00:0{i}", cs_uri_stem=path, sc_status="404")
             for i, path in enumerate(["/wp-login.php", "/xmlrpc.php", "/wp-admin/"])]  # fmt: skip
    (tmp_path / "probe.log").write_text(log_text(*lines))
    assert cloudfront_ingest(source=str(tmp_path), return_state=True).is_completed()

    def dies(**_event):
        raise RuntimeError("killed between the commit and the emit")

    monkeypatch.setattr(netsift.tasks.detection, "emit_event", dies)
    assert detect_flow(return_state=True).is_failed()
    with engine_for(pg).connect() as conn:
        rows = conn.execute(text("SELECT rule, source, client_ip, window_start, notified_at FROM alerts")).all()
    assert [(r.rule, r.client_ip, r.notified_at) for r in rows] == [("wordpress-probe", "203.0.113.8", None)]

    emitted = []
    from prefect.events import emit_event

    monkeypatch.setattr(netsift.tasks.detection, "emit_event", lambda **kw: emitted.append(kw) or emit_event(**kw))
    second = detect_flow(return_state=True)
    assert second.is_completed() and second.result()["new"] == 0 and second.result()["events_sent"] == 1
    alert = dict(rows[0]._mapping) | {"window_start": utc_datetime(rows[0].window_start)}
    assert [(e["event"], e["id"]) for e in emitted] == [("netsift.alert.created", event_id(alert))]
    with engine_for(pg).connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM alerts WHERE notified_at IS NULL")).scalar() == 0

    assert detect_flow(return_state=True).result()["events_sent"] == 0 and len(emitted) == 1
