"""PostgreSQL's daily partitions of the capture tables (migration 0014): a
capture's load makes the days it needs, a prune drops days and removes what
a DELETE would, and the migration goes down and up with the rows and views."""

from __future__ import annotations

import subprocess
import threading
from datetime import date, datetime, timezone

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from bench.pcap_gen import PcapWriter, http_request, http_response
from netsift.capture.load import load_capture
from netsift.db import alembic_config, engine_for, normalized_url, upgrade
from netsift.ingest.sources import Window, list_local
from netsift.partitions import CAPTURE_TABLES, attached_days
from netsift.retention import prune
from netsift.settings import Settings
from tests.conftest import fresh_pg_database

KEYS = {"connections": "source_object_id, uid", "dns_queries": "id", "http_requests": "id", "extracted_files": "id"}
CLIENT, SERVER, RESOLVER = "10.0.0.7", "192.0.2.80", "192.0.2.53"


def capture_over(path, start: datetime, hours: list[float], seed: int = 0) -> None:
    """An HTTP exchange (a body: a file) and a DNS lookup at each hour after `start`."""
    with path.open("wb") as sink:
        w = PcapWriter(sink)
        for i, hour in enumerate(hours):
            ts = start.timestamp() + hour * 3600
            w.http_session(ts, CLIENT, SERVER, 40000 + i, http_request(f"/s{seed}/{i}", "x.example", "agent"),
                           http_response(b"body %d %d" % (seed, i)))  # fmt: skip
            w.dns_exchange(ts + 0.5, CLIENT, RESOLVER, 50000 + i, i + 1, f"h{seed}-{i}.example", "192.0.2.1")


def load_all(url, folder) -> list:
    engine, settings = engine_for(url), Settings(database_url=url)
    return [load_capture(engine, obj, settings) for obj in list_local(folder, Window.of())]


def query(url, sql, **params) -> list[tuple]:
    with engine_for(url).connect() as conn:
        return [tuple(r) for r in conn.execute(text(sql), params)]


def scalar(url, sql, **params):
    return query(url, sql, **params)[0][0]


def days_of(url, table) -> set[date]:
    with engine_for(url).connect() as conn:
        return attached_days(conn, table)


def rows_of(url, table) -> list[tuple]:
    return query(url, f"SELECT * FROM {table} ORDER BY {KEYS[table]}")


def test_a_capture_over_three_days_loads_into_each_days_partitions(pg, tmp_path):
    capture_over(tmp_path / "three.pcap", datetime(2024, 3, 1, tzinfo=timezone.utc), [1, 5, 26, 38, 50, 60])
    (result,) = load_all(pg, tmp_path)
    assert result.status == "loaded"
    assert result.rows_by_table == {"connections": 12, "dns_queries": 6, "http_requests": 6, "extracted_files": 6}
    for table in CAPTURE_TABLES:
        assert scalar(pg, "SELECT relkind FROM pg_class WHERE relname = :t", t=table) == "p"
        assert {date(2024, 3, d) for d in (1, 2, 3)} <= days_of(pg, table)
        assert date(2024, 2, 29) not in days_of(pg, table) and date(2024, 3, 4) not in days_of(pg, table)
    assert scalar(pg, "SELECT count(*) FROM http_requests_p20240302") == 2
    assert scalar(pg, "SELECT count(*) FROM extracted_files_p20240303") == 2
    assert scalar(pg, "SELECT count(*) FROM connections_p20240301") == 4
    # Views still read the partitioned tables.
    assert scalar(pg, "SELECT count(*) FROM http_requests_classified WHERE ts >= '2024-03-01'") == 6
    assert load_all(pg, tmp_path)[0].status == "skipped"


def test_prune_drops_old_capture_days_and_removes_what_a_delete_would(pg, tmp_path):
    capture_over(tmp_path / "prune.pcap", datetime(2023, 7, 1, tzinfo=timezone.utc), [1, 5, 26, 38, 50, 60])
    assert load_all(pg, tmp_path)[0].status == "loaded"
    cutoff = datetime(2023, 7, 2, 8, tzinfo=timezone.utc)  # inside the second day
    before = {table: rows_of(pg, table) for table in CAPTURE_TABLES}
    kept = {table: [r for r in rows if r[1 if table == "connections" else 2] >= cutoff]
            for table, rows in before.items()}  # fmt: skip
    expected = {table: scalar(pg, f"SELECT count(*) FROM {table} WHERE ts < :c", c=cutoff) for table in CAPTURE_TABLES}
    assert expected == {"connections": 6, "dns_queries": 3, "http_requests": 3, "extracted_files": 3}
    removed = prune(engine_for(pg), cutoff)
    for table in CAPTURE_TABLES:
        assert removed[table] == expected[table] == len(before[table]) - len(kept[table])
        assert rows_of(pg, table) == kept[table]
        left = days_of(pg, table)
        assert date(2023, 7, 1) not in left and {date(2023, 7, 2), date(2023, 7, 3)} <= left
        assert scalar(pg, "SELECT count(*) FROM pg_class WHERE relname = :n", n=f"{table}_p20230701") == 0
    assert scalar(pg, "SELECT count(*) FROM pcap_files") == 1  # the ledger and the capture's record stay
    assert load_all(pg, tmp_path)[0].status == "skipped"
    assert all(v == 0 for t, v in prune(engine_for(pg), cutoff).items() if t in CAPTURE_TABLES)


def test_a_capture_of_a_new_day_is_dissected_once_and_one_over_midnight_twice(pg, tmp_path, monkeypatch):
    import netsift.capture.load as capture_load

    calls, real = [], capture_load.dissect

    def counted(*args, **kwargs):  # counts dissections run, not generators made
        calls.append(1)
        yield from real(*args, **kwargs)

    monkeypatch.setattr(capture_load, "dissect", counted)
    capture_over(tmp_path / "day.pcap", datetime(2021, 9, 5, tzinfo=timezone.utc), [1, 20])
    assert load_all(pg, tmp_path)[0].status == "loaded" and len(calls) == 1
    (tmp_path / "day.pcap").unlink()
    capture_over(tmp_path / "midnight.pcap", datetime(2021, 9, 6, tzinfo=timezone.utc), [23, 25])
    assert load_all(pg, tmp_path)[0].status == "loaded" and len(calls) == 1 + 2
    assert date(2021, 9, 7) in days_of(pg, "dns_queries")
    (tmp_path / "midnight.pcap").unlink()
    # pcapng: its first packet's day is read with its interface's time units.
    capture_over(tmp_path / "ng.pcap", datetime(2021, 9, 10, tzinfo=timezone.utc), [2, 3])
    subprocess.run(["editcap", "-F", "pcapng", str(tmp_path / "ng.pcap"), str(tmp_path / "ng.pcapng")],
                   check=True, capture_output=True, timeout=60)  # fmt: skip
    (tmp_path / "ng.pcap").unlink()
    (result,) = load_all(pg, tmp_path)
    assert result.status == "loaded" and result.rows_by_table["dns_queries"] == 2 and len(calls) == 3 + 1
    assert date(2021, 9, 10) in days_of(pg, "dns_queries")


def test_concurrent_captures_on_the_same_new_days_all_load(pg, tmp_path):
    folders = []
    for n in range(3):
        folder = tmp_path / f"w{n}"
        folder.mkdir()
        capture_over(folder / f"w{n}.pcap", datetime(2024, 8, 10, tzinfo=timezone.utc), [3, 27, 51], seed=n)
        folders.append(folder)
    start, results = threading.Barrier(len(folders)), {}

    def run(folder):
        start.wait()
        results[folder.name] = [r.status for r in load_all(pg, folder)]

    threads = [threading.Thread(target=run, args=(f,)) for f in folders]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert results == {f.name: ["loaded"] for f in folders}
    assert scalar(pg, "SELECT count(*) FROM http_requests WHERE ts >= '2024-08-10'") == 9
    for table in CAPTURE_TABLES:
        assert {date(2024, 8, d) for d in (10, 11, 12)} <= days_of(pg, table)


def view_definitions(url) -> dict[str, str]:
    return dict(query(url, "SELECT viewname, definition FROM pg_views WHERE schemaname = 'public'"))


@pytest.mark.slow
def test_0014_down_and_up_keeps_rows_keys_views_and_ids(tmp_path):
    capture_over(tmp_path / "m.pcap", datetime(2022, 4, 1, tzinfo=timezone.utc), [2, 30])
    with fresh_pg_database("netsift_capparts") as url:
        assert load_all(url, tmp_path)[0].status == "loaded"
        rows, views = {t: rows_of(url, t) for t in CAPTURE_TABLES}, view_definitions(url)
        engine_for(url).dispose()
        command.downgrade(alembic_config(url), "0013")
        engine = create_engine(normalized_url(url))
        for table, key in KEYS.items():
            assert scalar(url, "SELECT relkind FROM pg_class WHERE relname = :t", t=table) == "r"
            assert inspect(engine).get_pk_constraint(table)["constrained_columns"] == key.split(", ")
            assert rows_of(url, table) == rows[table]
        engine.dispose()
        assert view_definitions(url) == views
        # Files stored before 0014 without a time: their connection's, else the capture's first packet.
        uid = scalar(url, "SELECT uid FROM extracted_files ORDER BY id LIMIT 1")
        with engine_for(url).begin() as conn:
            conn.execute(text(
                "INSERT INTO extracted_files (source_object_id, ts, uid, size, md5, sha1, sha256) "
                "SELECT source_object_id, NULL, u, 1, 'm', 's', 'h' FROM pcap_files, (VALUES (:uid), ('gone')) AS v(u)"
            ), {"uid": uid})  # fmt: skip
        engine_for(url).dispose()
        upgrade(url)
        for table, key in KEYS.items():
            assert scalar(url, "SELECT relkind FROM pg_class WHERE relname = :t", t=table) == "p"
            assert days_of(url, table) == {date(2022, 4, 1), date(2022, 4, 2)}
            after = rows_of(url, table)
            assert [r for r in after if r in rows[table]] == rows[table]  # DNS answers are lists: not hashable
            engine = create_engine(normalized_url(url))
            assert inspect(engine).get_pk_constraint(table)["constrained_columns"] == [*key.split(", "), "ts"]
            engine.dispose()
        assert view_definitions(url) == views
        filled = dict(query(url, "SELECT uid, ts FROM extracted_files WHERE md5 = 'm'"))
        assert filled[uid] == scalar(url, "SELECT ts FROM connections WHERE uid = :u", u=uid)
        assert filled["gone"] == scalar(url, "SELECT first_ts FROM pcap_files")
        # The id sequences went with the tables: new rows get new ids.
        top = scalar(url, "SELECT max(id) FROM extracted_files")
        with engine_for(url).begin() as conn:
            new = conn.execute(text(
                "INSERT INTO extracted_files (source_object_id, ts, uid, size, md5, sha1, sha256) "
                "SELECT source_object_id, first_ts, 'x', 1, 'n', 's', 'h' FROM pcap_files RETURNING id"
            )).scalar()  # fmt: skip
        assert new > top
        engine_for(url).dispose()


def test_0014_fills_file_times_on_sqlite_and_makes_them_required(tmp_path):
    url = f"sqlite:///{tmp_path / 'files.db'}"
    upgrade(url)
    (tmp_path / "in").mkdir()
    capture_over(tmp_path / "in" / "s.pcap", datetime(2022, 5, 1, tzinfo=timezone.utc), [2])
    assert load_all(url, tmp_path / "in")[0].status == "loaded"
    command.downgrade(alembic_config(url), "0013")
    with engine_for(url).begin() as conn:
        conn.execute(text("UPDATE extracted_files SET ts = NULL"))
    upgrade(url)
    connection_ts = scalar(url, "SELECT c.ts FROM connections c JOIN extracted_files f USING (uid)")
    assert scalar(url, "SELECT ts FROM extracted_files") == connection_ts
    engine = create_engine(url)
    (column,) = [c for c in inspect(engine).get_columns("extracted_files") if c["name"] == "ts"]
    assert column["nullable"] is False and "http_requests_classified" in inspect(engine).get_view_names()
    engine.dispose()


def test_a_file_whose_request_was_missed_has_its_connections_start(tmp_path):
    """A response with no request before it (the capture began mid-exchange)."""
    path, start = tmp_path / "mid.pcap", datetime(2022, 6, 1, 12, tzinfo=timezone.utc).timestamp()
    response = http_response(b"a body without its request")
    with path.open("wb") as sink:
        w = PcapWriter(sink)
        w.tcp(start, SERVER, CLIENT, 80, 40000, 5000, 1000, 0x18, response)
        w.tcp(start + 1, CLIENT, SERVER, 40000, 80, 1000, 5000 + len(response), 0x10)
    from netsift.capture.dissect import Limits, capture_info, dissect

    rows: dict[str, list] = {}
    for table, row in dissect(path, 1, capture_info(path), Limits.from_settings(Settings(), timeout=60)):
        rows.setdefault(table, []).append(row)
    (file_row,) = rows["extracted_files"]
    assert file_row[1] == datetime.fromtimestamp(start, timezone.utc)


def test_a_capture_naming_more_new_days_than_allowed_fails_with_the_reason(pg, tmp_path):
    capture_over(tmp_path / "long.pcap", datetime(1998, 4, 1, tzinfo=timezone.utc), [24 * d + 1 for d in range(8)])
    engine, settings = engine_for(pg), Settings(database_url=pg, max_new_days_per_object=5)
    (obj,) = list_local(tmp_path, Window.of())
    result = load_capture(engine, obj, settings)
    assert result.status == "failed" and "more than 5 days that have no partition yet" in result.error
    for table in CAPTURE_TABLES:
        assert scalar(pg, f"SELECT count(*) FROM {table}") == 0
        # At most the first packet's day, made before tshark ran.
        assert {d for d in days_of(pg, table) if d.year == 1998} <= {date(1998, 4, 1)}
    assert load_capture(engine, obj, Settings(database_url=pg, max_new_days_per_object=8)).status == "loaded"
    assert scalar(pg, "SELECT count(*) FROM dns_queries WHERE ts < '1999-01-01'") == 8
