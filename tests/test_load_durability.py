"""A load's transaction durability (NETSIFT_LOAD_SYNCHRONOUS_COMMIT) and the
pipelined statements it rides on: exactly-once holds whatever the setting."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, OperationalError

from netsift.cloudfront import load as cloudfront_load
from netsift.db import engine_for
from netsift.ingest.pipeline import pipelined
from netsift.schema import source_objects
from netsift.settings import Settings
from netsift.tasks.retry import is_transient
from tests.cloudfront_lines import line, log_text
from tests.test_load import crash_after, load_all, rows, scalar


@pytest.mark.parametrize("value", ["off", "on"])
def test_only_the_load_transaction_takes_the_setting(pg, tmp_path, monkeypatch, value):
    (tmp_path / "a.log").write_text(log_text(line()))
    seen = []
    copy = cloudfront_load.copy_rows

    def copy_and_look(conn, *args):
        seen.append(conn.exec_driver_sql("SHOW synchronous_commit").scalar())
        return copy(conn, *args)

    monkeypatch.setattr(cloudfront_load, "copy_rows", copy_and_look)
    load_all(pg, tmp_path, Settings(database_url=pg, load_synchronous_commit=value))
    assert seen and set(seen) == {value}  # a new day reads the object twice
    with engine_for(pg).connect() as conn:  # the pool's same connection: SET LOCAL did not outlive the load
        assert conn.exec_driver_sql("SHOW synchronous_commit").scalar() == "on"


@pytest.mark.parametrize("value", ["off", "on"])
def test_exactly_once_holds_without_waiting_for_the_disk(pg, tmp_path, monkeypatch, value):
    """Rows and ledger row commit or vanish together: a crash mid-object
    leaves neither, and reruns load each object once."""
    settings = Settings(database_url=pg, load_synchronous_commit=value)
    (tmp_path / "E1.2024-03-01-00.a").write_text(log_text(*[line(cs_uri_stem="/a")] * 30))
    (tmp_path / "E1.2024-03-01-01.b").write_text(log_text(*[line(cs_uri_stem="/b")] * 40))
    monkeypatch.setattr(cloudfront_load, "text_lines", crash_after(35))
    with pytest.raises(RuntimeError, match="simulated crash"):
        load_all(pg, tmp_path, settings)
    assert rows(pg, "SELECT cs_uri_stem, COUNT(*) FROM cloudfront_requests GROUP BY 1") == [("/a", 30)]
    assert rows(pg, "SELECT status, rows_loaded FROM source_objects") == [("loaded", 30)]
    monkeypatch.undo()
    for _ in range(2):
        load_all(pg, tmp_path, settings)
    assert rows(pg, "SELECT cs_uri_stem, COUNT(*) FROM cloudfront_requests GROUP BY 1 ORDER BY 1") == [
        ("/a", 30), ("/b", 40)
    ]  # fmt: skip
    assert scalar(pg, "SELECT COUNT(*) FROM source_objects WHERE status = 'loaded'") == 2


def test_a_pipelined_statement_fails_with_sqlalchemys_error_and_the_transaction_recovers(pg):
    """The content claim relies on it: a refused update inside a savepoint
    leaves the transaction usable."""
    engine = engine_for(pg)
    insert = text("INSERT INTO source_objects (uri, kind, status, rows_loaded, rows_rejected, parser_version, "
                  "first_seen_at, updated_at) VALUES (:uri, 'cloudfront', 'failed', 0, 0, 'x', now(), now())")
    with engine.begin() as conn:
        pipelined(conn, [(insert, {"uri": "a"})])
        with pytest.raises(IntegrityError):
            pipelined(conn, [(text("SAVEPOINT s"), {}), (insert, {"uri": "a"}), (insert, {"uri": "b"})])
        pipelined(conn, [(text("ROLLBACK TO SAVEPOINT s"), {})])
        assert pipelined(conn, [(select(source_objects.c.uri), {})]) == [[("a",)]]
    assert rows(pg, "SELECT uri FROM source_objects") == [("a",)]


def test_a_connection_lost_in_a_pipeline_is_a_transient_error(pg):
    engine = engine_for(pg)
    with engine.connect() as conn:
        pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with engine.connect() as other:
            other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        with pytest.raises(OperationalError) as lost:
            pipelined(conn, [(text("SELECT 1"), {})])
    assert lost.value.connection_invalidated and is_transient(lost.value)


def test_a_pooled_connection_lost_while_idle_is_replaced_unseen(pg, monkeypatch):
    """Connections idle past PING_AFTER_IDLE_SECONDS are pinged at checkout,
    as pool_pre_ping did; those returned just now are not (a round trip each)."""
    from netsift import db

    engine = engine_for(pg)
    with engine.connect() as conn, engine.connect() as other:
        lost = conn.connection.driver_connection.info.backend_pid  # no query: no transaction to end
        other.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": lost})
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 0.0)
    with engine.connect() as one, engine.connect() as two:  # the pool's both connections
        pids = {c.exec_driver_sql("SELECT pg_backend_pid()").scalar() for c in (one, two)}
    assert lost not in pids and len(pids) == 2
    pings = []
    monkeypatch.setattr(db, "PING_AFTER_IDLE_SECONDS", 60.0)
    monkeypatch.setattr(engine.dialect, "do_ping", pings.append)
    for _ in range(3):
        with engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
    assert pings == []
