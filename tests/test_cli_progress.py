"""The CLI's progress bar follows the objects done, through the flow's fan-out."""

from __future__ import annotations

import pytest

from tests.conftest import DATA

pytestmark = pytest.mark.prefect


def test_progress_bar_sees_every_object(prefect_server, pg, monkeypatch):
    import netsift.deployments.cli as cli
    from netsift.flows.cloudfront_ingest import cloudfront_ingest
    from netsift.tasks.fanout import progress_listener

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


def test_progress_moves_with_each_object_on_sqlite(prefect_server, sqlite_db):
    """SQLite loads one object at a time: each step of the bar comes as that
    object is recorded, not all at the end."""
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
