"""Scale-out: a local Dask cluster of two workers loads the same rows as a
serial run; batches of loads hold a slot of the Prefect write limit when it
exists, and each object a slot of the local semaphore."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from netsift.cloudfront.load import load_object
from netsift.db import engine_for
from netsift.settings import Settings
from netsift.tasks.fanout import task_runner_for
from tests.conftest import DATA

pytestmark = pytest.mark.prefect
SAMPLES = DATA / "cloudfront" / "samples"
# Rows by the content they came from: of two copies of one log (the mapbox
# sample, plain and gzip), whichever finishes first holds the rows.
ROWS = ("SELECT o.content_sha256, r.line_number, r.ts, r.c_ip, r.cs_uri_stem, r.cs_user_agent, r.sc_bytes "
        "FROM cloudfront_requests r JOIN source_objects o ON o.id = r.source_object_id ORDER BY 1, 2")  # fmt: skip


def snapshot(url):
    with engine_for(url).begin() as conn:
        rows = [tuple(r) for r in conn.execute(text(ROWS))]
        conn.execute(text("TRUNCATE source_objects CASCADE"))
    return rows


def test_dask_cluster_loads_the_same_rows_as_a_serial_run(prefect_server, pg, monkeypatch):
    from prefect.task_runners import ThreadPoolTaskRunner
    from prefect_dask import DaskTaskRunner

    from netsift.flows.cloudfront_ingest import cloudfront_ingest

    monkeypatch.setenv("NETSIFT_TASK_RUNNER", "dask")
    runner = task_runner_for(Settings())
    assert isinstance(runner, DaskTaskRunner)
    state = cloudfront_ingest.with_options(task_runner=runner)(source=str(SAMPLES), return_state=True)
    assert state.is_completed(), state.message
    on_dask = snapshot(pg)

    serial = cloudfront_ingest.with_options(task_runner=ThreadPoolTaskRunner(max_workers=1))
    assert serial(source=str(SAMPLES), return_state=True).is_completed()
    assert on_dask == snapshot(pg) and len(on_dask) == 112


def test_loads_hold_the_global_write_limit(prefect_server, pg, monkeypatch):
    """With the Prefect limit created, each batch of loads holds one slot of
    it while its objects write (the limit shows the slot taken from inside
    every load), and gives it back."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    import netsift.tasks.cloudfront as cloudfront_tasks
    from netsift.flows.cloudfront_ingest import cloudfront_ingest

    with get_client(sync_client=True) as client:
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name="netsift-database-writes", limit=1))
    held, active_while_loading = [], []
    from prefect.concurrency.sync import concurrency as prefect_concurrency

    def watching(name, occupy=1, **kwargs):
        held.append((name, occupy))
        return prefect_concurrency(name, occupy=occupy, strict=True, **kwargs)

    def load_watched(engine, obj, settings, client=None):
        with get_client(sync_client=True) as api:
            active_while_loading.append(api.read_global_concurrency_limit_by_name("netsift-database-writes").active_slots)
        return load_object(engine, obj, settings, client)

    monkeypatch.setattr("prefect.concurrency.sync.concurrency", watching)
    monkeypatch.setattr(cloudfront_tasks, "load_object", load_watched)
    monkeypatch.setenv("NETSIFT_WORKERS", "1")  # four batches at least: 2 + 2 + 1 objects
    try:
        state = cloudfront_ingest(source=str(SAMPLES), return_state=True)
        assert state.is_completed() and state.result()["loaded"] == 4  # and the mapbox .gz a duplicate
        assert held == [("netsift-database-writes", 1)] * 3
        assert active_while_loading == [1] * 5
        with get_client(sync_client=True) as client:
            limit = client.read_global_concurrency_limit_by_name("netsift-database-writes")
        assert limit.active_slots == 0  # every slot given back
    finally:
        with get_client(sync_client=True) as client:
            client.delete_global_concurrency_limit_by_name("netsift-database-writes")


def test_without_the_prefect_limit_no_slot_is_asked_for(prefect_server, pg, monkeypatch):
    """No limit created: loads never enter Prefect's concurrency (which costs
    over a second each and warns that the limit does not exist)."""
    from netsift.flows.cloudfront_ingest import cloudfront_ingest

    held = []
    monkeypatch.setattr("prefect.concurrency.sync.concurrency", lambda *a, **k: held.append(a))
    state = cloudfront_ingest(source=str(SAMPLES), return_state=True)
    assert state.is_completed() and state.result()["loaded"] == 4  # and the mapbox .gz a duplicate
    assert held == []


def test_the_local_semaphore_bounds_the_objects_writing_at_once(prefect_server, pg, monkeypatch, tmp_path):
    """NETSIFT_WRITE_SLOTS=1 with two worker threads: never two loads at once."""
    import threading

    from tests.cloudfront_lines import distinct_copy
    import time

    import netsift.tasks.cloudfront as cloudfront_tasks
    from netsift.flows.cloudfront_ingest import cloudfront_ingest

    sample = SAMPLES / "rkalla-cloudfront-log-parser" / "example-100.gz"
    for i in range(8):
        (tmp_path / f"E1.2024-03-01-00.{i}.gz").write_bytes(distinct_copy(sample, i))
    lock, writing, most = threading.Lock(), [0], [0]

    def load_counted(engine, obj, settings, client=None):
        with lock:
            writing[0] += 1
            most[0] = max(most[0], writing[0])
        try:
            time.sleep(0.2)  # long enough for the other thread's batch to try
            return load_object(engine, obj, settings, client)
        finally:
            with lock:
                writing[0] -= 1

    monkeypatch.setattr(cloudfront_tasks, "load_object", load_counted)
    for slots, expected in (("1", 1), ("2", 2)):
        monkeypatch.setenv("NETSIFT_WRITE_SLOTS", slots)
        most[0] = 0
        snapshot(pg)
        state = cloudfront_ingest(source=str(tmp_path), return_state=True)
        assert state.is_completed() and state.result()["loaded"] == 8
        assert most[0] == expected
