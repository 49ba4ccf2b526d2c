"""Scale-out: a local Dask cluster of two workers loads the same rows as a
serial run, and object loads hold a slot of the global write limit."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from netsift.db import engine_for
from netsift.settings import Settings
from netsift.tasks.fanout import task_runner_for
from tests.conftest import DATA

pytestmark = pytest.mark.prefect
SAMPLES = DATA / "cloudfront" / "samples"
ROWS = ("SELECT o.uri, r.line_number, r.ts, r.c_ip, r.cs_uri_stem, r.cs_user_agent, r.sc_bytes "
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
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate

    from netsift.flows.cloudfront_ingest import cloudfront_ingest

    with get_client(sync_client=True) as client:
        client.create_global_concurrency_limit(GlobalConcurrencyLimitCreate(name="netsift-database-writes", limit=1))
    held = []
    from prefect.concurrency.sync import concurrency as prefect_concurrency

    def watching(name, occupy=1, **kwargs):
        held.append((name, occupy))
        return prefect_concurrency(name, occupy=occupy, strict=True, **kwargs)

    monkeypatch.setattr("prefect.concurrency.sync.concurrency", watching)
    state = cloudfront_ingest(source=str(SAMPLES), return_state=True)
    assert state.is_completed() and state.result()["loaded"] == 4  # and the mapbox .gz a duplicate
    assert held == [("netsift-database-writes", 1)] * 5
    with get_client(sync_client=True) as client:
        limit = client.read_global_concurrency_limit_by_name("netsift-database-writes")
    assert limit.active_slots == 0  # every slot given back
