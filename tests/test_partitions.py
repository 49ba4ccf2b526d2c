"""PostgreSQL's daily partitions of cloudfront_requests (migration 0011):
loads make the days they need, concurrent loaders agree, a prune drops days."""

from __future__ import annotations

import threading
from datetime import date, datetime, timezone

import pytest
from alembic import command
from sqlalchemy import text

from netsift.cloudfront.load import load_object
from netsift.db import alembic_config, engine_for, upgrade
from netsift.ingest.sources import Window, list_local
from netsift.partitions import attached_days, create_days
from netsift.retention import prune
from netsift.settings import Settings
from tests.cloudfront_lines import line, log_text
from tests.conftest import fresh_pg_database


def write_days(folder, name: str, days: list[str], per_day: int = 3) -> None:
    lines = [line(date=d, time=f"{h // 60:02d}:{h % 60:02d}:00", c_ip=f"192.0.2.{h + 1}", cs_uri_stem=f"/{name}/{h}")
             for d in days for h in range(per_day)]  # fmt: skip
    folder.mkdir(exist_ok=True)
    (folder / f"{name}.log").write_text(log_text(*lines))


def load_all(url, folder) -> list[str]:
    engine, settings = engine_for(url), Settings(database_url=url)
    return [load_object(engine, obj, settings).status for obj in list_local(folder, Window.of())]


def scalar(url, sql):
    with engine_for(url).connect() as conn:
        return conn.execute(text(sql)).scalar()


def days_of(url) -> set[date]:
    with engine_for(url).connect() as conn:
        return attached_days(conn)


def test_a_load_spanning_days_makes_each_day_and_only_those(pg, tmp_path):
    write_days(tmp_path / "a", "a", ["2024-05-01", "2024-05-02", "2024-05-04"])
    assert load_all(pg, tmp_path / "a") == ["loaded"]
    assert days_of(pg) >= {date(2024, 5, 1), date(2024, 5, 2), date(2024, 5, 4)}
    assert date(2024, 5, 3) not in days_of(pg)
    assert scalar(pg, "SELECT count(*) FROM cloudfront_requests_p20240502") == 3
    assert scalar(pg, "SELECT relkind FROM pg_class WHERE relname = 'cloudfront_requests'") == "p"
    # Views still read the partitioned table.
    assert scalar(pg, "SELECT count(*) FROM cloudfront_requests_classified WHERE ts >= '2024-05-01'") == 9
    # Made again: nothing to do, nothing fails.
    assert create_days(engine_for(pg), [date(2024, 5, 1)]) == []


def test_an_object_naming_more_new_days_than_allowed_fails_with_the_reason_and_makes_none(pg, tmp_path, monkeypatch):
    from datetime import timedelta

    span = [str(date(1999, 1, 1) + timedelta(days=d)) for d in range(40)]  # a broken or hostile file
    write_days(tmp_path / "c", "hostile", span, per_day=1)
    write_days(tmp_path / "c", "ordinary", ["1999-06-01"])
    before = days_of(pg)
    engine, settings = engine_for(pg), Settings(database_url=pg, max_new_days_per_object=31)
    results = {obj.name: load_object(engine, obj, settings) for obj in list_local(tmp_path / "c", Window.of())}
    assert results["ordinary.log"].status == "loaded"
    assert results["hostile.log"].status == "failed"
    assert "more than 31 days that have no partition yet" in results["hostile.log"].error
    assert "NETSIFT_MAX_NEW_DAYS_PER_OBJECT" in results["hostile.log"].error
    assert days_of(pg) - before == {date(1999, 6, 1)}  # none of the hostile file's days
    assert scalar(pg, "SELECT error FROM source_objects WHERE uri LIKE '%hostile.log'") == results["hostile.log"].error
    assert scalar(pg, "SELECT count(*) FROM cloudfront_requests WHERE ts < '1999-02-15'") == 0
    # An operator who means it raises the limit; the file then loads whole.
    monkeypatch.setenv("NETSIFT_MAX_NEW_DAYS_PER_OBJECT", "40")
    assert sorted(load_all(pg, tmp_path / "c")) == ["loaded", "skipped"]
    assert scalar(pg, "SELECT count(*) FROM cloudfront_requests WHERE ts < '1999-02-15'") == 40


def test_concurrent_loaders_on_the_same_new_days_all_load(pg, tmp_path):
    days = ["2024-06-10", "2024-06-11", "2024-06-12"]
    folders = []
    for n in range(4):
        write_days(tmp_path / f"w{n}", f"w{n}", days[n % 2 :], per_day=50)
        folders.append(tmp_path / f"w{n}")
    start, results = threading.Barrier(len(folders)), {}

    def run(folder):
        start.wait()
        results[folder.name] = load_all(pg, folder)

    threads = [threading.Thread(target=run, args=(f,)) for f in folders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert all(v == ["loaded"] for v in results.values()) and len(results) == 4
    assert scalar(pg, "SELECT count(*) FROM cloudfront_requests WHERE ts >= '2024-06-10'") == 2 * 150 + 2 * 100
    assert {date(2024, 6, d) for d in (10, 11, 12)} <= days_of(pg)


def test_prune_drops_old_days_and_removes_what_a_delete_would(pg, tmp_path):
    write_days(tmp_path, "p", ["2023-01-01", "2023-01-02", "2023-01-03", "2023-01-04"], per_day=6)
    assert load_all(pg, tmp_path) == ["loaded"]
    cutoff = datetime(2023, 1, 3, 0, 2, 30, tzinfo=timezone.utc)  # inside 2023-01-03
    expected = scalar(pg, "SELECT count(*) FROM cloudfront_requests WHERE ts < '2023-01-03 00:02:30+00'")
    total = scalar(pg, "SELECT count(*) FROM cloudfront_requests")
    removed = prune(engine_for(pg), cutoff)
    assert removed["cloudfront_requests"] == expected == 6 + 6 + 3
    assert scalar(pg, "SELECT count(*) FROM cloudfront_requests") == total - expected
    assert scalar(pg, "SELECT min(ts) FROM cloudfront_requests") == datetime(2023, 1, 3, 0, 3, tzinfo=timezone.utc)
    left = days_of(pg)
    assert date(2023, 1, 1) not in left and date(2023, 1, 2) not in left and date(2023, 1, 3) in left
    assert scalar(pg, "SELECT count(*) FROM pg_class WHERE relname = 'cloudfront_requests_p20230102'") == 0
    assert scalar(pg, "SELECT count(*) FROM source_objects") == 1  # the ledger stays
    assert load_all(pg, tmp_path) == ["skipped"]


def test_a_day_pruned_after_this_process_read_the_catalog_is_made_again(pg, tmp_path):
    """Loads read the days once per process, not once per object; PostgreSQL
    refuses a row of a day pruned since, and the load reads the catalog again."""
    write_days(tmp_path / "a", "a", ["2023-03-01"])
    assert load_all(pg, tmp_path / "a") == ["loaded"]
    prune(engine_for(pg), datetime(2023, 3, 2, tzinfo=timezone.utc))
    assert date(2023, 3, 1) not in days_of(pg)
    write_days(tmp_path / "b", "b", ["2023-03-01"], per_day=4)
    assert load_all(pg, tmp_path / "b") == ["loaded"]
    assert scalar(pg, "SELECT count(*) FROM cloudfront_requests_p20230301") == 4


@pytest.mark.postgres  # a fresh database of its own, not the `pg` fixture's
def test_the_migration_moves_rows_into_days_and_downgrades_to_a_plain_table(tmp_path):
    """Loaded at the head, down to 0010 (a plain table, the rows kept), and up
    again: the rows move back into their days."""
    write_days(tmp_path, "m", ["2022-02-01", "2022-02-03"])
    with fresh_pg_database("netsift_parts") as url:
        config = alembic_config(url)
        assert load_all(url, tmp_path) == ["loaded"]
        engine_for(url).dispose()
        command.downgrade(config, "0010")
        assert scalar(url, "SELECT relkind FROM pg_class WHERE relname = 'cloudfront_requests'") == "r"
        assert scalar(url, "SELECT count(*) FROM cloudfront_origin_exchanges") == 0
        assert scalar(url, "SELECT count(*) FROM cloudfront_requests") == 6
        engine_for(url).dispose()
        upgrade(url)
        assert scalar(url, "SELECT relkind FROM pg_class WHERE relname = 'cloudfront_requests'") == "p"
        assert days_of(url) == {date(2022, 2, 1), date(2022, 2, 3)}
        assert scalar(url, "SELECT count(*) FROM cloudfront_requests_p20220203") == 3
        assert scalar(url, "SELECT count(*) FROM cloudfront_requests_p20220201") == 3
        assert scalar(url, "SELECT count(*) FROM cloudfront_requests_classified") == 6
