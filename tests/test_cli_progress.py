"""The CLI's progress bar follows the objects done, through the flow's fan-out."""

from __future__ import annotations

import pytest

from tests.conftest import DATA

pytestmark = pytest.mark.prefect


def test_progress_bar_sees_every_object(prefect_server, pg, monkeypatch):
    import netsift.deployments.cli as cli
    from netsift.flows.cloudfront_ingest import cloudfront_ingest
    from netsift.tasks.fanout import progress_listener

    monkeypatch.setenv("NETSIFT_PROGRESS_INTERVAL_SECONDS", "0")  # every object, to see each step
    seen = []
    token = progress_listener.set(lambda done, total: seen.append((done, total)))
    try:
        assert cloudfront_ingest(source=str(DATA / "cloudfront" / "samples"), return_state=True).is_completed()
    finally:
        progress_listener.reset(token)
    assert seen == [(0, 5), (1, 5), (2, 5), (3, 5), (4, 5), (5, 5)]

    from rich.console import Console

    monkeypatch.setattr(cli, "console", Console(force_terminal=True))
    with cli.progress_bar("test"):
        assert progress_listener.get() is not None
    assert progress_listener.get() is None


def test_progress_moves_with_each_object_on_sqlite(prefect_server, sqlite_db, monkeypatch):
    """SQLite loads one object at a time: each step of the bar comes as that
    object is recorded, not all at the end."""
    monkeypatch.setenv("NETSIFT_PROGRESS_INTERVAL_SECONDS", "0")
    from sqlalchemy import text

    from netsift.flows.cloudfront_ingest import cloudfront_ingest
    from netsift.db import engine_for
    from netsift.tasks.fanout import progress_listener

    def recorded() -> int:
        with engine_for(sqlite_db).connect() as conn:
            return conn.execute(text("SELECT count(*) FROM source_objects")).scalar()

    seen = []
    token = progress_listener.set(lambda done, total: seen.append((done, total, recorded())))
    try:
        assert cloudfront_ingest(source=str(DATA / "cloudfront" / "samples"), return_state=True).is_completed()
    finally:
        progress_listener.reset(token)
    assert seen == [(done, 5, done) for done in range(6)]


def test_progress_moves_at_most_once_a_second_and_always_ends_done(prefect_server, pg, tmp_path):
    """Updates cost an API call each: between the first and the last, two
    updates are never closer than the interval (1 s by default)."""
    import time

    from tests.cloudfront_lines import distinct_copy

    from netsift.flows.cloudfront_ingest import cloudfront_ingest
    from netsift.tasks.fanout import progress_listener

    sample = DATA / "cloudfront" / "samples" / "rkalla-cloudfront-log-parser" / "example-100.gz"
    for i in range(40):
        (tmp_path / f"E1.2024-03-01-00.{i:03}.gz").write_bytes(distinct_copy(sample, i))
    seen = []
    token = progress_listener.set(lambda done, total: seen.append((time.monotonic(), done, total)))
    try:
        assert cloudfront_ingest(source=str(tmp_path), return_state=True).is_completed()
    finally:
        progress_listener.reset(token)
    assert (seen[0][1:], seen[-1][1:]) == ((0, 40), (40, 40))
    dones = [done for _, done, _ in seen]
    assert dones == sorted(dones)
    # (0.9: the listener is called a moment after the update is timed)
    assert all(later[0] - earlier[0] >= 0.9 for earlier, later in zip(seen, seen[1:-1]))
