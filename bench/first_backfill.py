"""`python -m bench.first_backfill`: a new database's first backfill, with the
foreign-key checks planned as netsift plans them, and as PostgreSQL would
plan them by default.

The 2,000 small objects of `make bench-objects` are loaded in-process (no
Prefect, two threads) into an empty ledger, after the ledger was analyzed
with its first 20 objects in it, as autovacuum does in a new database. The
checks of each loaded row against its ledger row are planned once per
connection and day and kept: planned over that small ledger with sequential
scans allowed, they read the whole ledger for every row as it grows. Each
way runs on fresh connections (new plans), alternately, 3 times.
Not a test: it asserts nothing and prints numbers.
"""

from __future__ import annotations

import argparse
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import literal, select, text

from bench.cloudfront import fresh_database, truncate
from bench.objects import dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--objects", type=int, default=2_000)
    parser.add_argument("--analyzed-after", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import netsift.cloudfront.load as load
    import netsift.ingest.ledger as ledger
    from netsift.db import engine_for, upgrade
    from netsift.ingest.sources import Window, list_local
    from netsift.settings import Settings

    url = fresh_database("netsift_bench_first_backfill")
    upgrade(url)
    settings = Settings(database_url=url)
    objects = list(list_local(dataset(args.requests, args.objects), Window.of()))
    first, rest = objects[: args.analyzed_after], objects[args.analyzed_after:]
    ways = {"netsift (no sequential scans)": ledger._INDEX_LOOKUPS,
            "PostgreSQL's default planning": select(literal(1))}  # fmt: skip
    seconds: dict[str, list[float]] = {name: [] for name in ways}
    for _ in range(args.rounds):
        for name, setting in ways.items():
            ledger._INDEX_LOOKUPS = setting
            truncate(url)
            engine = engine_for(url)
            engine.dispose()  # fresh connections: the checks are planned anew
            for obj in first:
                load.load_object(engine, obj, settings)
            with engine.begin() as conn:
                conn.execute(text("ANALYZE source_objects"))
            started = time.perf_counter()
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(lambda obj: load.load_object(engine, obj, settings), rest))
            seconds[name].append(time.perf_counter() - started)
    ledger._INDEX_LOOKUPS = ways["netsift (no sequential scans)"]
    print(f"{len(rest):,} objects of {args.requests // args.objects} requests after ANALYZE of a ledger of "
          f"{len(first)}, 2 threads (median of {args.rounds}; each run)")  # fmt: skip
    for name, runs in seconds.items():
        print(f"  {name:32} {statistics.median(runs):6.2f} s  ({', '.join(f'{s:.2f}' for s in runs)})")
    ours, default = (statistics.median(seconds[name]) for name in ways)
    print(f"  default / netsift {default / ours:20.2f}x")


if __name__ == "__main__":
    main()
