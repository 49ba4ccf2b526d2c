"""`netsift prune`: old rows go, the ledger stays, and pruned objects are
never loaded again."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from sqlalchemy import text

from netsift.cloudfront.load import load_object
from netsift.db import engine_for
from netsift.detection.alerts import detect
from netsift.detection.ruleset import load_rules
from netsift.ingest.sources import Window, list_local
from netsift.retention import cutoff_of, prune
from netsift.settings import Settings
from tests.cloudfront_lines import line, log_text


def count(url, table):
    with engine_for(url).connect() as conn:
        return conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar()


def test_prune_removes_old_rows_keeps_the_ledger_and_never_reloads(db, tmp_path):
    old = [line(date="2024-01-10", time=f"12:00:0{i}", c_ip="203.0.113.4", cs_uri_stem=p, sc_status="404")
           for i, p in enumerate(["/.env", "/.git/config"])]  # fmt: skip
    new = [line(date="2024-03-01", time="12:00:00", c_ip="192.0.2.1")]
    (tmp_path / "old.log").write_text(log_text(*old) + "not a log line\n")
    (tmp_path / "new.log").write_text(log_text(*new))
    engine, settings = engine_for(db), Settings(database_url=db)
    for obj in list_local(tmp_path, Window.of()):
        load_object(engine, obj, settings)
    detect(engine, load_rules())
    assert (count(db, "cloudfront_requests"), count(db, "alerts"), count(db, "rejected_records")) == (3, 1, 1)

    cutoff = datetime(2024, 2, 1, tzinfo=timezone.utc)
    with engine.begin() as conn:  # the old object was loaded long ago
        conn.execute(text("UPDATE source_objects SET loaded_at = :t WHERE uri LIKE '%old.log'"), {"t": cutoff.replace(year=2023)})
    removed = prune(engine, cutoff)
    assert removed["cloudfront_requests"] == 2 and removed["alerts"] == 1 and removed["rejected_records"] == 1
    assert (count(db, "cloudfront_requests"), count(db, "alerts"), count(db, "source_objects")) == (1, 0, 2)

    reloaded = [load_object(engine, obj, settings).status for obj in list_local(tmp_path, Window.of())]
    assert reloaded == ["skipped", "skipped"] and count(db, "cloudfront_requests") == 1
    assert prune(engine, cutoff)["cloudfront_requests"] == 0


def test_ages_are_days_or_hours():
    now = datetime(2026, 12, 2, tzinfo=timezone.utc)
    assert cutoff_of("90d", now) == datetime(2026, 9, 3, tzinfo=timezone.utc)
    assert cutoff_of("36h", now) == datetime(2026, 11, 30, 12, tzinfo=timezone.utc)
    for bad in ("90", "0d", "-1d", "3w", "d", "90 days"):
        with pytest.raises(ValueError, match="e.g. 90d"):
            cutoff_of(bad, now)
