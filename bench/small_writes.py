"""`python -m bench.small_writes`: three ways to write a small object's 50
rows with its ledger claim and final update, in raw psycopg 3, on the real
schema: what netsift does (claim; COPY; update + COMMIT in one pipeline), a
pipelined row-by-row INSERT sent with the update and COMMIT (one round trip
fewer than COPY's two), and one INSERT ... SELECT FROM unnest(arrays) sent
the same way. Per object: wall time and this process's CPU, each way run
three times in turn on a vacuumed table (dead rows would favour the first).
Not a test: it asserts nothing and prints numbers.
"""

from __future__ import annotations

import argparse
import statistics
import time
from datetime import datetime, timedelta, timezone

import psycopg

from bench.cloudfront import fresh_database
from netsift.db import engine_for, upgrade
from netsift.partitions import create_days

COLUMNS = ("source_object_id", "line_number", "ts", "distribution_id", "x_edge_location", "sc_bytes", "c_ip",
           "cs_method", "cs_host", "cs_uri_stem", "sc_status", "cs_user_agent", "x_edge_request_id", "time_taken")  # fmt: skip
TYPES = ("int8", "int8", "timestamptz", "text", "text", "int8", "text", "text", "text", "text", "int4", "text",
         "text", "float8")  # fmt: skip
TS = datetime(2026, 11, 21, 12, tzinfo=timezone.utc)
CLAIM = ("INSERT INTO source_objects (uri, kind, status, rows_loaded, rows_rejected, parser_version, first_seen_at, "
         "updated_at) VALUES (%s, 'cloudfront', 'failed', 0, 0, 'bench', now(), now()) "
         "ON CONFLICT (uri) DO UPDATE SET uri = excluded.uri RETURNING id, xmax = 0")  # fmt: skip
FINISH = "UPDATE source_objects SET status = 'loaded', rows_loaded = %s, updated_at = now() WHERE id = %s"
COPY = f"COPY cloudfront_requests ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"
INSERT = f"INSERT INTO cloudfront_requests ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})"
UNNEST = (f"INSERT INTO cloudfront_requests ({', '.join(COLUMNS)}) SELECT * FROM unnest("
          + ", ".join(f"%b::{t}[]" for t in TYPES) + ")")  # fmt: skip


def rows(object_id: int, k: int, count: int, ts: datetime = TS) -> list[tuple]:
    return [(object_id, i, ts, "E1BENCH", "FRA56-P1", 100 + i, "192.0.2.1", "GET", "example.com", f"/page/{i}", 200,
             "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0", f"req-{k}-{i:04d}-xxxxxxxxxxxxxxxxxxxx", 0.1)
            for i in range(count)]  # fmt: skip


def claim(conn: psycopg.Connection, k: int) -> int:
    with conn.pipeline():
        conn.execute("SELECT set_config('synchronous_commit', 'off', true)")
        conn.execute("SELECT set_config('enable_seqscan', 'off', true)")  # as netsift/ingest/ledger.py
        cursor = conn.execute(CLAIM, (f"bench-small-writes-{k}",))
    return cursor.fetchone()[0]


def by_copy(conn, k: int, count: int, ts: datetime = TS) -> None:
    object_id = claim(conn, k)
    with conn.cursor() as cursor, cursor.copy(COPY) as copy:
        copy.set_types(TYPES)
        for row in rows(object_id, k, count, ts):
            copy.write_row(row)
    with conn.pipeline():
        conn.execute(FINISH, (count, object_id))
        conn.execute("COMMIT")


def by_insert(conn, k: int, count: int) -> None:
    object_id = claim(conn, k)
    with conn.pipeline():
        with conn.cursor() as cursor:
            cursor.executemany(INSERT, rows(object_id, k, count))
        conn.execute(FINISH, (count, object_id))
        conn.execute("COMMIT")


def by_unnest(conn, k: int, count: int) -> None:
    object_id = claim(conn, k)
    with conn.pipeline():
        conn.execute(UNNEST, [list(column) for column in zip(*rows(object_id, k, count))])
        conn.execute(FINISH, (count, object_id))
        conn.execute("COMMIT")


def per_object_transactions(url: str, objects: int, rows_each: int, threads: int = 2) -> float:
    """Seconds for `objects` transactions of `rows_each` rows, written as
    netsift writes an object (claim, COPY, final update and commit) in bare
    psycopg 3 on `threads` connections, with no reading or parsing: the
    floor of any loader that keeps each object its own ledger transaction.
    Object k holds hour k, as in `bench.objects.dataset`."""
    from concurrent.futures import ThreadPoolExecutor

    hours = [TS + timedelta(hours=k) for k in range(objects)]
    create_days(engine_for(url), sorted({hour.date() for hour in hours}))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("TRUNCATE source_objects CASCADE")
        conn.execute("VACUUM cloudfront_requests, source_objects")

    def write_share(first: int) -> None:
        with psycopg.connect(url) as conn:
            for k in range(first, objects, threads):
                by_copy(conn, k, rows_each, hours[k])

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(write_share, range(threads)))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=400)
    parser.add_argument("--rows", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    url = fresh_database("netsift_bench_small_writes")
    upgrade(url)
    ways = {"COPY (netsift)": by_copy, "pipelined INSERT per row": by_insert, "pipelined INSERT unnest": by_unnest}
    seen: dict[str, list[tuple[float, float]]] = {name: [] for name in ways}
    create_days(engine_for(url), [TS.date()])  # TS's day partition, made as netsift makes it
    with psycopg.connect(url) as conn:
        for _ in range(args.rounds):
            for name, write in ways.items():
                conn.execute("TRUNCATE source_objects CASCADE")
                conn.commit()
                conn.autocommit = True
                conn.execute("VACUUM cloudfront_requests, source_objects")
                conn.autocommit = False
                wall, cpu = time.perf_counter(), time.thread_time()
                for k in range(args.objects):
                    write(conn, k, args.rows)
                seen[name].append(((time.perf_counter() - wall) / args.objects,
                                   (time.thread_time() - cpu) / args.objects))  # fmt: skip
    print(f"{args.objects} objects of {args.rows} rows, each way {args.rounds} times in turn (median)")
    for name, runs in seen.items():
        print(f"  {name:26} {statistics.median(w for w, _ in runs) * 1000:6.2f} ms wall, "
              f"{statistics.median(c for _, c in runs) * 1000:5.2f} ms client CPU per object")


if __name__ == "__main__":
    main()
