"""The foreign keys from loaded rows to the ledger are checked by index
lookups, even when a connection planned them while the ledger was empty
(a new database's first backfill). PostgreSQL keeps the plan of each check
for the connection's life; a sequential scan planned over an empty ledger
would read the whole ledger for every row loaded afterwards.

Observed through PostgreSQL's own counters of scans on `source_objects`,
which a backend reports when it exits."""

from __future__ import annotations

import gzip
import time

import pytest
from sqlalchemy import create_engine, text

from netsift.cloudfront.load import load_object
from netsift.db import engine_for, normalized_url
from netsift.ingest.sources import Window, list_local
from netsift.settings import Settings
from tests.cloudfront_lines import line, log_text
from tests.conftest import fresh_pg_database

OBJECTS, LINES, FIRST = 30, 20, 3


def ledger_scans(url: str) -> tuple[int, int]:
    """(sequential, index) scans of `source_objects` reported so far."""
    probe = create_engine(normalized_url(url))
    try:
        with probe.connect() as conn:
            return tuple(conn.execute(text(
                "SELECT seq_scan, COALESCE(idx_scan, 0) FROM pg_stat_user_tables WHERE relname = 'source_objects'"
            )).one())  # fmt: skip
    finally:
        probe.dispose()


@pytest.mark.postgres  # a fresh database of its own, not the `pg` fixture's
def test_rows_loaded_into_an_empty_ledger_are_checked_by_index_lookups(tmp_path):
    for k in range(OBJECTS):
        lines = [line(x_edge_request_id=f"r{k}-{i}==") for i in range(LINES)]
        (tmp_path / f"E1.2024-03-01-12.{k:04d}.gz").write_bytes(gzip.compress(log_text(*lines).encode()))
    with fresh_pg_database("netsift_plans") as url:
        engine = engine_for(url)
        settings = Settings(database_url=url)
        seq_before, idx_before = ledger_scans(url)
        objects = list_local(tmp_path, Window.of())
        for k, obj in enumerate(objects):  # one at a time: one pooled connection plans the checks
            if k == FIRST:
                # What autovacuum does once a new database's first objects land:
                # the ledger is analyzed while it holds a handful of rows.
                with engine.begin() as conn:
                    conn.execute(text("ANALYZE source_objects"))
            assert load_object(engine, obj, settings).status == "loaded"
        engine.dispose()  # its backends exit, and report their counters
        checks = OBJECTS * LINES
        deadline = time.monotonic() + 30
        while True:
            seq, idx = ledger_scans(url)
            seq, idx = seq - seq_before, idx - idx_before
            if seq + idx >= checks or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert seq + idx >= checks, f"the loads' scans were not reported: {seq} sequential, {idx} index"
        # Planned with sequential scans allowed, nearly every row loaded after the ANALYZE makes one (567 of 600).
        assert seq < OBJECTS, f"{seq} sequential scans of the ledger for {checks} rows checked"
