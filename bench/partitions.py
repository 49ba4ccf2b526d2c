"""`python -m bench.partitions`: daily partitions of cloudfront_requests
(migration 0011) against the plain table (the schema at 0010), on PostgreSQL.

Measured in one run, on two databases that differ only in that:
- pruning the oldest day out of `--rows` requests spread over `--days` days
  (generated in SQL with generate_series into the real schema): `prune()`,
  what `netsift prune` runs, drops a partition vs deletes rows in batches;
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

from alembic import command
from sqlalchemy import text

from bench.cloudfront import dataset, fresh_database, load_folder, parsed_rows, run_ceiling, truncate
from netsift.db import alembic_config, engine_for
from netsift.partitions import create_days
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


def databases() -> dict[str, str]:
    urls = {"partitioned": fresh_database("netsift_bench_partitions_day")}
    plain = fresh_database("netsift_bench_partitions_plain")
    command.downgrade(alembic_config(plain), "0010")
    engine_for(plain).dispose()
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
        conn.execute(text(FILL), {"days": days, "rows": rows, "start": START})
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()
    return time.perf_counter() - started


def timed_prune(url: str) -> tuple[float, int]:
    started = time.perf_counter()
    removed = prune(engine_for(url), START + timedelta(days=1))
    return time.perf_counter() - started, removed["cloudfront_requests"]


def page_times(url: str) -> dict[str, tuple[float, float]]:
    import psycopg

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
        with psycopg.connect(url) as conn:
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
        seconds, removed = timed_prune(url)
        print(f"  {kind:12} prune: {removed:,} rows removed in {seconds:.2f} s", flush=True)


if __name__ == "__main__":
    main()
