"""`make bench-row-costs`: what each per-row cost of `cloudfront_requests`
costs a load, so that each one is kept (or not) by measurement.

The same already-parsed rows are COPY'd (psycopg 3, binary) into the table as
the migrations build it, and into copies of it with one cost taken away: the
foreign key to `source_objects`, each secondary index in turn, every index at
once (the floor), and the `ts` B-tree replaced by a BRIN index. Each variant
has its own fresh database; the variants take turns, `--repeat` rounds, and
each reports its median rows/s and
its cost relative to the full table. Which user query each index serves is in
the README ("What each row costs"). Not a test: it prints numbers.
"""

from __future__ import annotations

import argparse
import statistics

from sqlalchemy import create_engine, text

from bench.cloudfront import ADMIN_URL, dataset, fresh_database, parsed_rows, run_ceiling
from netsift.db import normalized_url

INDEXES = ("ix_cloudfront_requests_ts", "ix_cloudfront_requests_x_edge_request_id",
           "ix_cloudfront_requests_cs_uri_stem", "ix_cloudfront_requests_c_ip",
           "ix_cloudfront_requests_sc_bytes")  # fmt: skip


def _fk_name(conn) -> str:
    return conn.execute(text(
        "SELECT conname FROM pg_constraint WHERE conrelid = 'cloudfront_requests'::regclass AND contype = 'f'"
    )).scalar_one()  # fmt: skip


def variants() -> dict[str, list[str]]:
    """Name -> the DDL that takes one cost away (run on a fresh database)."""
    found = {
        "full table (as migrated)": [],
        "without the foreign key": ["ALTER TABLE cloudfront_requests DROP CONSTRAINT {fk}"],
        "ts as BRIN instead of B-tree": ["DROP INDEX ix_cloudfront_requests_ts",
                                          "CREATE INDEX ix_cloudfront_requests_ts ON cloudfront_requests USING brin (ts)"],
        "without any secondary index (the floor)": [f"DROP INDEX {name}" for name in INDEXES],
    }  # fmt: skip
    for name in INDEXES:
        found[f"without {name}"] = [f"DROP INDEX {name}"]
    return found


def drop_databases(count: int) -> None:
    admin = create_engine(normalized_url(ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        for number in range(count):
            conn.execute(text(f'DROP DATABASE IF EXISTS "netsift_bench_rows_{number}" WITH (FORCE)'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    files = sorted(dataset(1_000_000, 20).glob("*.gz"))
    rows = parsed_rows(files[: max(1, args.requests // 50_000)], 1)
    urls: dict[str, str] = {}
    for number, (label, statements) in enumerate(variants().items()):
        urls[label] = fresh_database(f"netsift_bench_rows_{number}")
        engine = create_engine(normalized_url(urls[label]))
        with engine.begin() as conn:
            fk = _fk_name(conn)
            for statement in statements:
                conn.execute(text(statement.format(fk=fk)))
        engine.dispose()
    rates: dict[str, list[float]] = {label: [] for label in urls}
    for _ in range(args.repeat):  # round-robin, so that a busy spell of the machine hits every variant alike
        for label, url in urls.items():
            engine = create_engine(normalized_url(url))
            with engine.begin() as conn:  # without the foreign key, no cascade empties it
                conn.execute(text("TRUNCATE cloudfront_requests"))
            engine.dispose()
            rates[label].append(len(rows) / run_ceiling(rows, url, "BINARY"))
    drop_databases(len(urls))
    results = {label: statistics.median(values) for label, values in rates.items()}
    for label, rate in results.items():
        print(f"{label:52} {rate:>10,.0f} rows/s", flush=True)
    full = results["full table (as migrated)"]
    print(f"\n{len(rows):,} parsed rows, binary COPY, median of {args.repeat}; cost = share of the full "
          "table's load time that the item accounts for")  # fmt: skip
    for label, rate in results.items():
        if label != "full table (as migrated)":
            print(f"{label:52} {rate / full:5.2f}x the full table's speed, cost {1 - full / rate:6.1%}")


if __name__ == "__main__":
    main()
