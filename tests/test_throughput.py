"""Many small objects: loaded ones set aside before any task, batches of
objects per task with each object still its own transaction and ledger row,
one S3 client per process, and an outage that stops the run in seconds."""

from __future__ import annotations

import gzip
import threading

import pytest
from sqlalchemy import text

from netsift.db import engine_for
from netsift.ingest import ledger, s3_clients
from netsift.ingest.sources import SourceObject, Window, list_local
from tests.cloudfront_lines import line, log_text, distinct_copy
from tests.conftest import DATA, free_port, start_process, stop_process, wait_for_http, BIN

SAMPLE = DATA / "cloudfront" / "samples" / "rkalla-cloudfront-log-parser" / "example-100.gz"


@pytest.fixture
def load_tasks(monkeypatch) -> list[list[str]]:
    """The objects each load task run was given, one list per task run."""
    import netsift.tasks.cloudfront as cloudfront_tasks

    runs, real = [], cloudfront_tasks.run_batch

    def counted(loader, kind, parser_version, objects, *args):
        runs.append([obj.name for obj in objects])
        return real(loader, kind, parser_version, objects, *args)

    monkeypatch.setattr(cloudfront_tasks, "run_batch", counted)
    return runs


def copies(folder, count: int, name="E1.2024-03-01-00.{:03}.gz"):
    for i in range(count):
        (folder / name.format(i)).write_bytes(distinct_copy(SAMPLE, i))


def ledger_rows(url) -> dict[str, tuple]:
    with engine_for(url).connect() as conn:
        rows = conn.execute(text("SELECT uri, status, rows_loaded, error FROM source_objects"))
        return {uri.rsplit("/", 1)[-1]: (status, loaded, error) for uri, status, loaded, error in rows}


def test_split_loaded_sets_aside_exactly_the_loaded_versions(db, tmp_path):
    """Same rule as the ledger: a local file by its sha256, so a changed
    file, a new one and a failed one are still to load."""
    from netsift.cloudfront.load import load_object
    from netsift.settings import Settings

    for name in ("same", "changed", "bad"):
        (tmp_path / name).write_text(log_text(line(cs_uri_stem=f"/{name}")))
    (tmp_path / "bad").write_bytes(gzip.compress(b"x" * 100)[:30])  # truncated gzip: fails
    engine, settings = engine_for(db), Settings(database_url=db)
    for obj in list_local(tmp_path, Window.of()):
        load_object(engine, obj, settings)
    (tmp_path / "changed").write_text(log_text(line(cs_uri_stem="/changed-again")))
    (tmp_path / "new").write_text(log_text(line()))
    pending, skipped = ledger.split_loaded(engine, list(list_local(tmp_path, Window.of())))
    assert sorted(o.name for o in pending) == ["bad", "changed", "new"]
    assert [(r.uri.rsplit("/", 1)[-1], r.status, r.rows_loaded) for r in skipped] == [("same", "skipped", 1)]
    s3_like = [SourceObject("s3://b/k1", 1, etag="e1"), SourceObject("s3://b/k2", 1, etag="e2")]
    with engine.begin() as conn:
        for obj, etag in zip(s3_like, ("e1", "old")):
            entry = ledger.claim(conn, obj.uri, "cloudfront", "test")
            ledger.record(conn, entry.id, status=ledger.LOADED, etag=etag)
    pending, skipped = ledger.split_loaded(engine, s3_like)
    assert ([o.uri for o in pending], [r.uri for r in skipped]) == (["s3://b/k2"], ["s3://b/k1"])


def test_a_rerun_creates_no_load_task_for_loaded_objects(prefect_server, db, tmp_path, load_tasks):
    from netsift.flows.cloudfront_ingest import cloudfront_ingest

    copies(tmp_path, 30)
    first = cloudfront_ingest(source=str(tmp_path), return_state=True)
    assert first.is_completed() and first.result()["loaded"] == 30
    assert sorted(name for run in load_tasks for name in run) == sorted(p.name for p in tmp_path.iterdir())
    load_tasks.clear()
    (tmp_path / "E1.2024-03-01-00.new.gz").write_bytes(distinct_copy(SAMPLE, 1000))
    second = cloudfront_ingest(source=str(tmp_path), return_state=True)
    summary = second.result()
    assert (summary["skipped"], summary["loaded"], summary["rows_loaded"]) == (30, 1, 100)
    assert load_tasks == [["E1.2024-03-01-00.new.gz"]]  # one task run, for the new object only
    load_tasks.clear()
    third = cloudfront_ingest(source=str(tmp_path), return_state=True)
    assert third.is_completed() and third.result()["skipped"] == 31
    assert load_tasks == []
    assert len(ledger_rows(db)) == 31


def test_a_bad_object_in_a_batch_fails_alone(prefect_server, db, tmp_path, monkeypatch, load_tasks):
    """Twelve objects on one worker: four tasks of three. The corrupt one in
    the middle of its batch fails with its reason; the ones before and after
    it in the same task load, each its own ledger row."""
    from netsift.flows.cloudfront_ingest import cloudfront_ingest

    monkeypatch.setenv("NETSIFT_WORKERS", "1")
    copies(tmp_path, 12)
    whole = SAMPLE.read_bytes()
    (tmp_path / "E1.2024-03-01-00.004.gz").write_bytes(whole[: len(whole) // 2])  # truncated mid-stream
    state = cloudfront_ingest(source=str(tmp_path), return_state=True)
    assert state.is_failed()
    summary = state.result(raise_on_failure=False)
    assert (summary["loaded"], summary["failed"]) == (11, 1)
    assert [len(run) for run in load_tasks] == [3, 3, 3, 3]
    # In the middle of its batch (the batches' task runs may start in any order).
    assert [run.index("E1.2024-03-01-00.004.gz") for run in load_tasks if "E1.2024-03-01-00.004.gz" in run] == [1]
    rows = ledger_rows(db)
    assert len(rows) == 12
    bad = rows.pop("E1.2024-03-01-00.004.gz")
    assert bad[0] == "failed" and "gzip" in bad[2].lower()
    assert set(rows.values()) == {("loaded", 100, None)}
    with engine_for(db).connect() as conn:
        per_object = conn.execute(text("SELECT source_object_id, COUNT(*) FROM cloudfront_requests "
                                       "GROUP BY 1")).all()  # fmt: skip
    assert sorted(n for _, n in per_object) == [100] * 11  # nothing of the bad one's first half


def test_one_s3_client_per_process_for_every_object_and_thread(s3, monkeypatch):
    built = []
    real = s3_clients.new_s3_client
    monkeypatch.setattr(s3_clients, "new_s3_client", lambda: built.append(1) or real())
    monkeypatch.setattr(s3_clients, "_clients", {})
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(s3_clients.s3_client())) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(built) == 1 and all(client is seen[0] for client in seen)
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:1")  # another endpoint: another client
    other = s3_clients.s3_client()
    assert other is not seen[0] and other.meta.endpoint_url == "http://127.0.0.1:1"


def test_a_flow_over_s3_builds_one_client(prefect_server, pg, s3, monkeypatch):
    from netsift.flows.cloudfront_ingest import cloudfront_ingest

    for i in range(20):
        s3.put_object(Bucket=s3.bucket, Key=f"cf/E1.2024-03-01-00.{i}.gz", Body=distinct_copy(SAMPLE, i))
    built = []
    real = s3_clients.new_s3_client
    monkeypatch.setattr(s3_clients, "new_s3_client", lambda: built.append(1) or real())
    monkeypatch.setattr(s3_clients, "_clients", {})
    state = cloudfront_ingest(source=f"s3://{s3.bucket}/cf", return_state=True)
    assert state.is_completed() and state.result()["loaded"] == 20
    assert len(built) == 1


def test_s3_going_down_after_listing_stops_the_run_naming_the_endpoint(prefect_server, pg, tmp_path, monkeypatch):
    """Forty objects listed, then S3 stops: a few connection failures in a
    row stop the run (not 40 objects × every retry); every object is
    recorded failed with the reason, and the run's message names S3's endpoint."""
    import boto3

    from netsift.flows.cloudfront_ingest import cloudfront_ingest
    from netsift.tasks.fanout import progress_listener

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    server = start_process([str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)], tmp_path / "moto.log")
    try:
        wait_for_http(endpoint + "/moto-api/", server, 30, tmp_path / "moto.log")
        client = boto3.client("s3", endpoint_url=endpoint)
        client.create_bucket(Bucket="logs")
        for i in range(40):
            client.put_object(Bucket="logs", Key=f"cf/E1.2024-03-01-00.{i:02}.gz", Body=distinct_copy(SAMPLE, i))
        monkeypatch.setenv("AWS_ENDPOINT_URL", endpoint)
        monkeypatch.setenv("NETSIFT_RETRY_DELAY_SECONDS", "0.1")
        attempts = []
        s3_clients.s3_client().meta.events.register("before-send.s3.GetObject", lambda **_: attempts.append(1))

        def stop_s3(done, total):
            if done == 0:
                stop_process(server)  # listed; now S3 is gone

        token = progress_listener.set(stop_s3)
        try:
            state = cloudfront_ingest(source="s3://logs/cf", return_state=True)
        finally:
            progress_listener.reset(token)
    finally:
        stop_process(server)
    assert state.is_failed()
    assert f"S3 at {endpoint} unreachable" in state.message
    # 3 failures in a row stop it (the other worker may have one more in
    # flight; each request is up to 3 botocore attempts, a stale pooled
    # connection adds one). Without the stop: 40 objects × 4 tries × 3 attempts.
    assert len(attempts) < 40
    rows = ledger_rows(pg)
    assert len(rows) == 40 and {status for status, _, _ in rows.values()} == {"failed"}
    assert all(f"S3 at {endpoint} unreachable" in error for _, _, error in rows.values())
    assert sum(error.startswith("not tried: ") for _, _, error in rows.values()) >= 36


def test_an_unreachable_database_fails_the_run_naming_it(prefect_server, tmp_path, monkeypatch):
    from netsift.flows.cloudfront_ingest import cloudfront_ingest

    port = free_port()  # nothing listens there
    monkeypatch.setenv("NETSIFT_DATABASE_URL", f"postgresql://netsift:secret@127.0.0.1:{port}/netsift")
    copies(tmp_path, 3)
    state = cloudfront_ingest(source=str(tmp_path), return_state=True)
    assert state.is_failed()
    assert f'"127.0.0.1", port {port} failed' in state.message
    assert "secret" not in state.message


def test_batches_cap_count_and_bytes_and_keep_every_worker_busy():
    from netsift.tasks.fanout import batches

    small = [SourceObject(f"s3://b/{i}", 10) for i in range(1000)]
    assert [len(b) for b in batches(small, 50, 10**9, min_batches=8)] == [50] * 20
    assert [len(b) for b in batches(small[:10], 50, 10**9, min_batches=8)] == [2] * 5
    mixed = [SourceObject("s3://b/a", 10), SourceObject("s3://b/huge", 500), SourceObject("s3://b/c", 10)]
    assert [[o.name for o in b] for b in batches(mixed, 50, 100, min_batches=1)] == [["a"], ["huge"], ["c"]]
    assert batches([], 50, 100, min_batches=8) == []


def test_connection_failures_are_told_from_other_errors():
    from botocore.exceptions import ClientError, ConnectTimeoutError, EndpointConnectionError
    from sqlalchemy.exc import OperationalError

    from netsift.tasks.retry import is_connection_failure

    class Refused(Exception):  # psycopg's own: no SQLSTATE when it never connected
        __module__ = "psycopg"
        sqlstate = None

    class Deadlock(Exception):
        __module__ = "psycopg.errors"
        sqlstate = "40P01"

    assert is_connection_failure(EndpointConnectionError(endpoint_url="http://127.0.0.1:1"))
    assert is_connection_failure(ConnectTimeoutError(endpoint_url="http://10.0.0.1"))
    assert is_connection_failure(OperationalError("connect", {}, Refused("connection refused")))
    assert not is_connection_failure(OperationalError("UPDATE", {}, Deadlock("deadlock detected")))
    assert not is_connection_failure(ClientError({"Error": {"Code": "SlowDown"}}, "GetObject"))
    assert not is_connection_failure(ValueError("bad data"))


def test_the_breaker_trips_on_failures_in_a_row_only():
    from netsift.tasks.retry import Breaker

    breaker, error = Breaker(3), ConnectionRefusedError("refused")
    assert not breaker.failed("S3 at http://x", error) and not breaker.failed("S3 at http://x", error)
    breaker.succeeded()  # one object got through: not an outage
    assert not breaker.failed("S3 at http://x", error) and not breaker.failed("S3 at http://x", error)
    assert breaker.failed("S3 at http://x", error) and breaker.tripped
    assert breaker.reason.startswith("S3 at http://x unreachable (3 connection failures in a row")
