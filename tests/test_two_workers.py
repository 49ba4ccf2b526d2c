"""Issue 11, item 7: two loader processes on one PostgreSQL, over overlapping
folders, with objects still arriving, load every object exactly once, and
the tables equal those of one sequential run.

The workers are real `netsift cloudfront` processes (each with Prefect's API
inside it, as without a configured server), so the race is between separate
connections and transactions, not threads sharing a client. A lock on the
ledger holds both at their first object until both wait there, so they race
over the same objects from the start whatever their start-up times.
"""

from __future__ import annotations

import gzip
import os
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from netsift.cloudfront.load import load_object
from netsift.db import engine_for
from netsift.ingest.sources import Window, list_local
from netsift.schema import cloudfront_requests, source_objects
from netsift.settings import Settings
from tests.cloudfront_lines import line, log_text
from tests.conftest import fresh_pg_database

NETSIFT = str(Path(sys.executable).parent / "netsift")
EARLY, LATE, LINES = 60, 20, 3
TIMEOUT = 90  # seconds a worker may take before the test fails


def write_object(folder: Path, number: int) -> Path:
    """A gzip log of its own content (distinct request ids and times), made
    visible by a rename, so no worker lists it half written."""
    lines = [
        line(time=f"12:{number % 60:02d}:{i:02d}", x_edge_request_id=f"req-{number}-{i}==",
             cs_uri_stem=f"/page/{number}/{i}")
        for i in range(LINES)
    ]  # fmt: skip
    final = folder / f"E2TWO.2024-03-01-{number % 24:02d}.{number:04d}.gz"
    hidden = folder / f".{final.name}.part"  # hidden files are not listed
    hidden.write_bytes(gzip.compress(log_text(*lines).encode(), mtime=0))
    os.replace(hidden, final)
    return final


def worker_env(home: Path, database_url: str) -> dict:
    """No Prefect server configured (each worker runs Prefect's API in its
    own process, on its own PREFECT_HOME), the test's database."""
    env = {**os.environ, "PREFECT_HOME": str(home), "NETSIFT_DATABASE_URL": database_url}
    for name in ("PREFECT_API_URL", "PREFECT_SERVER_ANALYTICS_ENABLED", "DO_NOT_TRACK"):
        env.pop(name, None)
    return env


def start_worker(source: Path, home: Path, database_url: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen([NETSIFT, "cloudfront", str(source), "--json"], stdout=log.open("wb"),
                            stderr=subprocess.STDOUT, env=worker_env(home, database_url))  # fmt: skip


def finished(worker: subprocess.Popen, log: Path) -> None:
    try:
        code = worker.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
        raise AssertionError(f"worker still running after {TIMEOUT}s:\n{log.read_text()[-3000:]}")
    shown = log.read_text(errors="replace")
    assert code == 0, shown[-3000:]
    # A race the retries hid would still be a race: none may be logged.
    for trouble in ("Traceback", "ERROR", "WARNING", "Retry"):
        assert trouble not in shown, f"{trouble} in {log}:\n{shown[-3000:]}"


def request_rows(database_url: str) -> list[tuple]:
    """cloudfront_requests by content: the object's URI in place of its
    surrogate id, every other column as loaded."""
    columns = [c for c in cloudfront_requests.c if c.name != "source_object_id"]
    query = (
        select(source_objects.c.uri, *columns)
        .join(source_objects, source_objects.c.id == cloudfront_requests.c.source_object_id)
        .order_by(source_objects.c.uri, cloudfront_requests.c.line_number)
    )
    with engine_for(database_url).connect() as conn:
        return [tuple(row) for row in conn.execute(query)]


def ledger_rows(database_url: str) -> int:
    with engine_for(database_url).connect() as conn:
        return conn.execute(select(func.count()).select_from(source_objects)).scalar_one()


def write_while_loading(folders: list[Path], numbers: range, workers: list[subprocess.Popen], database_url: str):
    """Write each of `numbers` once the workers have moved on (a new ledger
    row since the last write), so objects arrive while they load; paced by
    their progress, not a clock. Once both have exited the rest are written
    at once (the last pass loads them)."""
    written, seen = [], 0
    deadline = time.monotonic() + TIMEOUT
    for number in numbers:
        while any(w.poll() is None for w in workers) and time.monotonic() < deadline:
            count = ledger_rows(database_url)
            if count > seen:
                seen = count
                break
            time.sleep(0.02)
        written.append(write_object(folders[number % len(folders)], number))
    return written


@contextmanager
def held_ledger(database_url: str):
    """A lock on `source_objects` that lets the workers list and read but
    not claim an object, so both can be made to start loading together."""
    with engine_for(database_url).connect() as conn:
        with conn.begin():
            conn.execute(text("LOCK TABLE source_objects IN EXCLUSIVE MODE"))
            yield conn


def wait_until_both_wait(conn, names: list[str], workers: list[subprocess.Popen]) -> None:
    """Until a connection of each worker waits on the held lock (each worker
    names its connections by its database URL's application_name). The
    statistics views hold still within a transaction, hence the clearing."""
    deadline = time.monotonic() + TIMEOUT
    query = text("SELECT DISTINCT application_name FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
    while conn.execute(text("SELECT pg_stat_clear_snapshot()")) and set(names) - set(conn.execute(query).scalars()):
        assert all(w.poll() is None for w in workers), "a worker exited before it began to load"
        assert time.monotonic() < deadline, f"the workers did not reach the ledger in {TIMEOUT}s"
        time.sleep(0.05)


@pytest.fixture
def spawned():
    """Worker processes, killed if a failed test leaves them running."""
    workers: list[subprocess.Popen] = []
    yield workers
    for worker in workers:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


@pytest.mark.prefect  # Prefect's API, in each CLI process
def test_two_workers_with_objects_arriving_load_each_object_once(pg, tmp_path, spawned):
    root = tmp_path / "logs"
    shared = root / "0-shared"  # worker B's folder, inside A's, and first in A's name order
    shared.mkdir(parents=True)
    files = [write_object(shared if number % 3 else root, number) for number in range(EARLY)]

    with held_ledger(pg) as conn:
        a = start_worker(root, tmp_path / "home-a", f"{pg}?application_name=worker-a", tmp_path / "a.log")
        b = start_worker(shared, tmp_path / "home-b", f"{pg}?application_name=worker-b", tmp_path / "b.log")
        spawned += [a, b]
        wait_until_both_wait(conn, ["worker-a", "worker-b"], [a, b])
        # Both have listed and wait at the same first object: they race from
        # there on. Half the late objects arrive now, after their listing.
        files += [write_object([shared, root][n % 2], n) for n in range(EARLY, EARLY + LATE // 2)]
    files += write_while_loading([shared, root], range(EARLY + LATE // 2, EARLY + LATE), [a, b], pg)
    finished(a, tmp_path / "a.log")
    finished(b, tmp_path / "b.log")
    # One more pass, in this process (a third CLI start would cost seconds),
    # loads the objects that arrived after both workers listed theirs.
    for obj in list_local(root, Window.of()):
        assert load_object(engine_for(pg), obj, Settings(database_url=pg)).status in ("loaded", "skipped")

    with engine_for(pg).connect() as conn:
        ledger = conn.execute(select(source_objects.c.uri, source_objects.c.status,
                                     source_objects.c.rows_loaded)).all()  # fmt: skip
        request_ids = conn.execute(select(cloudfront_requests.c.x_edge_request_id)).scalars().all()
    uris = sorted(f.resolve().as_uri() for f in files)
    assert sorted(uri for uri, _, _ in ledger) == uris  # one ledger row per object, no other
    assert {(status, rows) for _, status, rows in ledger} == {("loaded", LINES)}
    assert len(request_ids) == len(set(request_ids)) == (EARLY + LATE) * LINES

    rows = request_rows(pg)

    with fresh_pg_database("netsift_single") as single:
        for obj in list_local(root, Window.of()):  # one run, one object after another
            assert load_object(engine_for(single), obj, Settings(database_url=single)).status == "loaded"
        assert request_rows(single) == rows
