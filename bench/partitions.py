"""`python -m bench.partitions`: daily partitions of cloudfront_requests
(migration 0011) and of the capture tables (0014) against plain tables (the
same schema with those two revisions' downgrades run), on PostgreSQL.

Measured in one run, on two databases that differ only in that:
- pruning the oldest day out of `--rows` requests spread over `--days` days
  (generated in SQL with generate_series into the real schema): `prune()`,
  what `netsift prune` runs, drops a partition vs deletes rows in batches;
  then the same for `--capture-rows` connections, DNS queries and HTTP
  requests (and a fifth as many extracted files) over the same days;
- loading generated CloudFront objects in-process (no Prefect): rows/s, with the
  day partitions made during the load (first load) and already there, vs plain;
  and the binary COPY ceiling of the same parsed rows into each table;
- the console's first filtered page: the page query of the headline view
  (cs_uri_stem contains "wp", sc_bytes desc) and of "newest first", run by
  the database alone (cold, then warm median of 5).
Not a test: it asserts nothing and prints numbers.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import datetime, timedelta, timezone

from sqlalchemy import text

from bench.cloudfront import dataset, fresh_database, load_folder, parsed_rows, run_ceiling, truncate
from netsift.db import MIGRATIONS, engine_for
from netsift.partitions import CAPTURE_TABLES, create_days
from netsift.retention import prune

START = datetime(2025, 1, 1, tzinfo=timezone.utc)

FILL = """
INSERT INTO cloudfront_requests (source_object_id, line_number, ts, distribution_id, x_edge_location, sc_bytes,
    c_ip, cs_method, cs_host, cs_uri_stem, sc_status, cs_user_agent, x_edge_request_id, time_taken)
SELECT (g % :days) + 1, g,
       :start + (g % :days) * interval '1 day' + ((g / :days) % 86400) * interval '1 second',
       'E2BENCH', 'FRA56-P1', (g * 7919) % 100000,
       '198.51.' || ((g / 256) % 256) || '.' || (g % 256), 'GET', 'example.com',
       CASE WHEN (g / :days) % 50 = 0 THEN '/wp-login.php' ELSE '/page/' || (g % 5000) END,
       CASE WHEN (g / :days) % 20 = 0 THEN 404 ELSE 200 END, 'Mozilla/5.0 bench', md5(g::text), 0.01
FROM generate_series(1, CAST(:rows AS bigint)) AS g
"""


# Capture rows over the same days; every column a query or index reads is filled.
CAPTURE_FILL = {
    "connections": """
INSERT INTO connections (source_object_id, ts, uid, orig_h, orig_p, resp_h, resp_p, proto, service, duration,
    orig_bytes, resp_bytes, orig_pkts, resp_pkts, conn_state, community_id)
SELECT (g % :days) + 1, :start + (g % :days) * interval '1 day' + ((g / :days) % 86400) * interval '1 second',
       'C' || g, '10.' || ((g / 65536) % 256) || '.' || ((g / 256) % 256) || '.' || (g % 256), 40000 + g % 20000,
       '192.0.2.' || (g % 200), 443, 'tcp', 'ssl', 0.5, 500, 5000, 6, 8, 'SF', '1:' || md5(g::text)
FROM generate_series(1, CAST(:rows AS bigint)) AS g""",
    "dns_queries": """
INSERT INTO dns_queries (source_object_id, ts, uid, orig_h, orig_p, resp_h, resp_p, proto, trans_id, query,
    qtype_name, rcode_name, answers, ttls, community_id)
SELECT (g % :days) + 1, :start + (g % :days) * interval '1 day' + ((g / :days) % 86400) * interval '1 second',
       'D' || g, '10.0.' || ((g / 256) % 256) || '.' || (g % 256), 50000 + g % 10000, '192.0.2.53', 53, 'udp',
       g % 65536, 'host' || (g % 5000) || '.example', 'A', 'NOERROR', ARRAY['192.0.2.1'], ARRAY[300.0],
       '1:' || md5(g::text)
FROM generate_series(1, CAST(:rows AS bigint)) AS g""",
    "http_requests": """
INSERT INTO http_requests (source_object_id, ts, uid, orig_h, orig_p, resp_h, resp_p, method, host, uri,
    user_agent, status_code, request_body_len, response_body_len, community_id)
SELECT (g % :days) + 1, :start + (g % :days) * interval '1 day' + ((g / :days) % 86400) * interval '1 second',
       'C' || g, '10.0.' || ((g / 256) % 256) || '.' || (g % 256), 40000 + g % 20000, '192.0.2.80', 80, 'GET',
       'example.com', '/page/' || (g % 5000), 'Mozilla/5.0 bench', 200, 0, 1000 + g % 5000, '1:' || md5(g::text)
FROM generate_series(1, CAST(:rows AS bigint)) AS g""",
    "extracted_files": """
INSERT INTO extracted_files (source_object_id, ts, uid, host, uri, size, mime_type, md5, sha1, sha256, entropy)
SELECT (g % :days) + 1, :start + (g % :days) * interval '1 day' + ((g / :days) % 86400) * interval '1 second',
       'C' || g, 'example.com', '/page/' || (g % 5000), 1000, 'text/html', md5(g::text), md5(g::text),
       md5(g::text) || md5(g::text), 4.5
FROM generate_series(1, CAST(:rows AS bigint) / 5) AS g""",
}


def unpartitioned(url: str) -> None:
    """The head schema with plain tables: 0014's and 0011's own downgrades,
    run alone (a downgrade to 0010 would also drop later revisions' columns,
    which the console's queries read)."""
    import importlib.util

    from alembic.migration import MigrationContext
    from alembic.operations import Operations

    versions = MIGRATIONS / "versions"
    with engine_for(url).begin() as conn, Operations.context(MigrationContext.configure(conn)):
        for name in ("0014_capture_partitions.py", "0011_cloudfront_partitions.py"):
            spec = importlib.util.spec_from_file_location(f"bench_{name[:4]}", versions / name)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            module.downgrade()
    engine_for(url).dispose()


def databases() -> dict[str, str]:
    urls = {"partitioned": fresh_database("netsift_bench_partitions_day")}
    plain = fresh_database("netsift_bench_partitions_plain")
    unpartitioned(plain)
    urls["plain"] = plain
    return urls


def fill(url: str, rows: int, days: int, partitioned: bool) -> float:
    engine = engine_for(url)
    started = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE source_objects CASCADE"))
        conn.execute(text(
            "INSERT INTO source_objects (id, uri, kind, status, rows_loaded, rows_rejected, parser_version, "
            "first_seen_at, loaded_at, updated_at) SELECT d, 'bench-' || d, 'cloudfront', 'loaded', 0, 0, 'bench', "
            "now(), now(), now() FROM generate_series(1, :days) AS d"
        ), {"days": days})  # fmt: skip
    if partitioned:
        create_days(engine, [(START + timedelta(days=d)).date() for d in range(days)])
    with engine.begin() as conn:
        # Secondary indexes are built after the rows, as a restore does, so
        # ten million rows take minutes, not an hour; the key stays.
        indexes = conn.execute(text(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'cloudfront_requests' "
            "AND indexname NOT LIKE 'pk_%'")).all()  # fmt: skip
        for name, _ in indexes:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
        conn.execute(text(FILL), {"days": days, "rows": rows, "start": START})
        for _, definition in indexes:
            conn.exec_driver_sql(definition.replace(" ON ONLY ", " ON "))  # ONLY would skip the partitions
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    return time.perf_counter() - started


def fill_captures(url: str, rows: int, days: int, partitioned: bool) -> float:
    """Capture rows on the days `fill` made; run after a prune of those requests."""
    engine = engine_for(url)
    started = time.perf_counter()
    if partitioned:
        create_days(engine, [(START + timedelta(days=d)).date() for d in range(days)], CAPTURE_TABLES)
    with engine.begin() as conn:
        for statement in CAPTURE_FILL.values():
            conn.execute(text(statement), {"days": days, "rows": rows, "start": START})
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    return time.perf_counter() - started


def timed_prune(url: str, tables: tuple[str, ...]) -> tuple[float, int]:
    """Seconds for `prune()` of the oldest day, and the rows it removed from `tables`."""
    started = time.perf_counter()
    removed = prune(engine_for(url), START + timedelta(days=1))
    return time.perf_counter() - started, sum(removed[t] for t in tables)


def page_times(url: str) -> dict[str, tuple[float, float]]:
    import psycopg

    from netsift.console.app import postgres_options

    from bench.console import TABLE, contains, sort_model
    from netsift.console.grid_query import page_query
    from netsift.console.tables import browsable

    views = {'cs_uri_stem contains "wp", sc_bytes desc': (contains("cs_uri_stem", "wp"), [("sc_bytes", "desc")]),
             "no filter, newest first": ({}, [])}  # fmt: skip
    out = {}
    engine = engine_for(url)
    for name, (filter_model, sort) in views.items():
        compiled = page_query(browsable(TABLE), filter_model, sort_model(sort), 0, 100, "postgresql").compile(engine)
        times = []
        with psycopg.connect(url, options=postgres_options(60)) as conn:
            for _ in range(6):
                started = time.perf_counter()
                conn.execute(str(compiled), compiled.params).fetchall()
                times.append(time.perf_counter() - started)
        out[name] = (times[0], statistics.median(times[1:]))
    return out


def compare_loads(urls: dict[str, str], folder, rows: list, repeat: int) -> None:
    print(f"\nloading {len(rows):,} requests from {folder.name} (in-process, no Prefect); "
          f"best of {repeat}, the two tables in turn (a shared machine)")
    best: dict[tuple[str, str], float] = {}

    def keep(key, rate):
        best[key] = max(best.get(key, 0.0), rate)

    first = True
    for _ in range(repeat):
        for kind, url in urls.items():
            truncate(url)
            started = time.perf_counter()
            count = load_folder(url, folder)
            label = "days made during the load" if kind == "partitioned" and first else "load"
            keep((kind, label), count / (time.perf_counter() - started))
            keep((kind, "binary COPY ceiling"), len(rows) / run_ceiling(rows, url, "binary"))
        first = False
    for (kind, label), rate in best.items():
        print(f"  {kind:12} {label:28} {rate:>9,.0f} rows/s", flush=True)
    print(f"  partitioned load / plain load: {best[('partitioned', 'load')] / best[('plain', 'load')]:.2f}x; "
          f"partitioned load / plain-table COPY ceiling: "
          f"{best[('partitioned', 'load')] / best[('plain', 'binary COPY ceiling')]:.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=2_000_000)
    parser.add_argument("--days", type=int, default=20)
    parser.add_argument("--capture-rows", type=int, default=500_000,
                        help="connections, DNS queries and HTTP requests each (a fifth as many files)")
    parser.add_argument("--load-requests", type=int, default=200_000)
    parser.add_argument("--load-objects", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--skip-prune", action="store_true")
    args = parser.parse_args()
    urls = databases()
    folder = dataset(args.load_requests, args.load_objects)
    files = sorted(folder.glob("*.gz"))
    rows = parsed_rows(files, 1)

    if not args.skip_load:
        compare_loads(urls, folder, rows, args.repeat)

    if args.skip_prune:
        return
    print(f"\n{args.rows:,} requests over {args.days} days; prune the oldest day")
    for kind, url in urls.items():
        seconds = fill(url, args.rows, args.days, kind == "partitioned")
        print(f"  {kind:12} filled in {seconds:.1f} s", flush=True)
        for name, (cold, warm) in page_times(url).items():
            print(f"  {kind:12} first page, {name}: {cold * 1000:.0f} ms cold, {warm * 1000:.1f} ms warm")
        seconds, removed = timed_prune(url, ("cloudfront_requests",))
        print(f"  {kind:12} prune: {removed:,} rows removed in {seconds:.2f} s", flush=True)
    if not args.capture_rows:
        return
    print(f"\n{args.capture_rows:,} connections, DNS queries and HTTP requests each, and "
          f"{args.capture_rows // 5:,} extracted files, over {args.days} days; prune the oldest day")
    for kind, url in urls.items():
        seconds = fill_captures(url, args.capture_rows, args.days, kind == "partitioned")
        print(f"  {kind:12} filled in {seconds:.1f} s", flush=True)
        seconds, removed = timed_prune(url, CAPTURE_TABLES)
        print(f"  {kind:12} prune: {removed:,} capture rows removed in {seconds:.2f} s", flush=True)


if __name__ == "__main__":
    main()
