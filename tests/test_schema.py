"""The migrations and netsift/schema.py must describe the same tables."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from netsift.db import normalized_url, upgrade
from netsift.partitions import not_a_partition
from netsift.schema import metadata

# Day partitions of cloudfront_requests (PostgreSQL) are made by loads, not migrations.
COMPARE = {"compare_type": True, "include_name": not_a_partition}


def test_migrations_match_the_schema_on_postgresql(pg_url):
    engine = create_engine(normalized_url(pg_url))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts=COMPARE), metadata)
    engine.dispose()
    assert diff == []


def test_migrations_match_the_schema_on_sqlite(tmp_path):
    url = f"sqlite:///{tmp_path / 'schema.db'}"
    upgrade(url)
    engine = create_engine(url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts=COMPARE), metadata)
        names = set(inspect(conn).get_table_names())
    engine.dispose()
    assert diff == []
    assert {"source_objects", "rejected_records", "cloudfront_requests", "alembic_version"} <= names


def test_upgrade_is_idempotent_and_downgrade_removes_the_tables(tmp_path):
    url = f"sqlite:///{tmp_path / 'twice.db'}"
    upgrade(url)
    upgrade(url)
    from alembic import command

    from netsift.db import alembic_config

    command.downgrade(alembic_config(url), "base")
    engine = create_engine(url)
    assert set(inspect(engine).get_table_names()) == {"alembic_version"}
    engine.dispose()


def test_request_id_index_is_not_unique(pg_url):
    engine = create_engine(normalized_url(pg_url))
    indexes = {i["name"]: i for i in inspect(engine).get_indexes("cloudfront_requests")}
    engine.dispose()
    assert indexes["ix_cloudfront_requests_x_edge_request_id"]["unique"] is False
    assert indexes["ix_cloudfront_requests_ts"]["column_names"] == ["ts"]


def test_0010_downgrades_and_upgrades_again(tmp_path):
    from alembic import command

    from netsift.db import alembic_config

    url = f"sqlite:///{tmp_path / 'cf.db'}"
    upgrade(url)
    command.downgrade(alembic_config(url), "0009")
    engine = create_engine(url)
    columns = {c["name"] for c in inspect(engine).get_columns("http_requests")}
    views = set(inspect(engine).get_view_names())
    engine.dispose()
    assert not {"amz_cf_id", "x_forwarded_for"} & columns
    assert "cloudfront_origin_exchanges" not in views and "http_requests_classified" in views
    upgrade(url)
    engine = create_engine(url)
    assert "cloudfront_origin_exchanges" in inspect(engine).get_view_names()
    engine.dispose()


def test_0012_downgrades_and_upgrades_again_on_both_databases(tmp_path, pg_url):
    from alembic import command

    from netsift.db import alembic_config

    v2_columns = {"ts_ms", "c_country", "asn", "cache_behavior_path_pattern", "origin_fbl", "origin_lbl"}
    for url in (f"sqlite:///{tmp_path / 'v2.db'}", pg_url):
        upgrade(url)
        command.downgrade(alembic_config(url), "0011")
        engine = create_engine(normalized_url(url))
        columns = {c["name"] for c in inspect(engine).get_columns("cloudfront_requests")}
        views = set(inspect(engine).get_view_names())
        engine.dispose()
        assert not v2_columns & columns and "cloudfront_requests_classified" in views
        assert "cloudfront_origin_exchanges" in views
        upgrade(url)
        engine = create_engine(normalized_url(url))
        assert v2_columns <= {c["name"] for c in inspect(engine).get_columns("cloudfront_requests_classified")}
        engine.dispose()
